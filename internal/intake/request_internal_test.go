package intake

import (
	"regexp"
	"strings"
	"testing"
)

// validModel is the loop form of the model pattern; it must accept exactly
// what the regexp does.
func TestValidModelMatchesPattern(t *testing.T) {
	re := regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$`)
	cases := []string{"", "a", "google/veo-3.1-lite", "openai/sora-2:pro", "-x", ".x", "a b", "a\\x00", "é", "a_b", "A9._:/-",
		strings.Repeat("a", 128), strings.Repeat("a", 129), "a/" + strings.Repeat("b", 127)}
	for c := 0; c < 256; c++ {
		cases = append(cases, string(rune(c)), "a"+string(rune(c)), string([]byte{'a', byte(c)}))
	}
	for _, s := range cases {
		if got, want := validModel(s), re.MatchString(s); got != want {
			t.Errorf("validModel(%q) = %v, regexp says %v", s, got, want)
		}
	}
}
