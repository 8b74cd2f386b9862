package aistats

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
)

// A key resolved per request (a Lambda reads it from Secrets Manager on
// first use) authenticates every call; when it cannot be resolved, the
// call fails with ErrAPIKey before anything is sent, is not retried, and a
// create is definite (not ambiguous: no provider job can exist).
func TestNewWithKeyFunc(t *testing.T) {
	g := newGateway(t, func(w http.ResponseWriter, r *http.Request, n int) {
		w.Header().Set("Content-Type", "application/json")
		if n == 1 {
			// An error envelope echoing the key must not carry it out.
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(`{"error":"upstream_error","message":"bad key ` + testKey + `"}`))
			return
		}
		_, _ = w.Write([]byte(`{"id":"G-1","status":"queued"}`))
	})
	calls := 0
	var fail error
	c := NewWithKeyFunc(g.srv.URL, func(context.Context) (string, error) {
		calls++
		return testKey, fail
	}, WithRetryPolicy(RetryPolicy{MaxRetries: 0}))
	if err := c.Err(); err != nil {
		t.Fatalf("Err: %v; the key is only checked when used", err)
	}
	if _, err := c.Get(t.Context(), "G-1"); err != nil {
		t.Fatalf("Get: %v", err)
	}
	if got := g.requests()[0].Auth; got != "Bearer "+testKey || calls == 0 {
		t.Errorf("Authorization %q after %d key reads, want the resolved key", got, calls)
	}
	_, err := c.Get(t.Context(), "G-1")
	if err == nil || strings.Contains(err.Error(), testKey) {
		t.Errorf("Get = %v; want an error without the key", err)
	}

	fail = errors.New("secrets manager: access denied")
	before := len(g.requests())
	_, err = c.Get(t.Context(), "G-1")
	if !errors.Is(err, ErrAPIKey) || !strings.Contains(err.Error(), "access denied") {
		t.Errorf("Get = %v, want ErrAPIKey with the cause", err)
	}
	_, err = c.Create(t.Context(), CreateRequest{Model: "m", Prompt: "p"})
	if !errors.Is(err, ErrAPIKey) || errors.Is(err, ErrAmbiguousCreate) {
		t.Errorf("Create = %v, want a definite ErrAPIKey (nothing was sent)", err)
	}
	if n := len(g.requests()) - before; n != 0 {
		t.Errorf("%d requests sent without a key", n)
	}
}
