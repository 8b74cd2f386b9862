package lambdaenvtest_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/videojobs/videojobs/internal/lambdaenv/lambdaenvtest"
)

func TestWith(t *testing.T) {
	base := map[string]string{"A": "1", "B": "2"}
	got := lambdaenvtest.With(base, "B", "3", "C", "4")
	if diff := cmp.Diff(got, map[string]string{"A": "1", "B": "3", "C": "4"}); diff != "" {
		t.Errorf("With (-got +want):\n%s", diff)
	}
	if base["B"] != "2" || len(base) != 2 {
		t.Errorf("With changed its input: %v", base)
	}
}
