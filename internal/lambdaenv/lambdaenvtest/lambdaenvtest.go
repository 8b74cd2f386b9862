// Package lambdaenvtest runs the table tests every function writes for its
// loadConfig: an environment in, a config or the problems it names out.
package lambdaenvtest

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Case is one loadConfig test. With WantErr empty, loading Env must succeed
// and yield Want; otherwise it must fail with an error containing every
// WantErr text.
type Case[C any] struct {
	Name    string
	Env     map[string]string
	Want    C
	WantErr []string
}

// Run runs each case as a subtest of t. C is the function's config struct,
// compared field by field, unexported fields included.
func Run[C any](t *testing.T, load func(getenv func(string) string) (C, error), cases []Case[C]) {
	t.Helper()
	var zero C
	for _, tt := range cases {
		t.Run(tt.Name, func(t *testing.T) {
			got, err := load(func(k string) string { return tt.Env[k] })
			if len(tt.WantErr) == 0 {
				if err != nil {
					t.Fatalf("loadConfig: %v", err)
				}
				if diff := cmp.Diff(got, tt.Want, cmp.AllowUnexported(zero)); diff != "" {
					t.Errorf("config (-got +want):\n%s", diff)
				}
				return
			}
			if err == nil {
				t.Fatalf("loadConfig = %+v, want an error", got)
			}
			for _, w := range tt.WantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

// With returns a copy of env with the name/value pairs kv set on top.
func With(env map[string]string, kv ...string) map[string]string {
	m := make(map[string]string, len(env)+len(kv)/2)
	for k, v := range env {
		m[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}
