package aistats

import (
	"context"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

const testKey = "aistats_v1_sk_kid123_verysecretpart"

// seen is one request as the test gateway received it.
type seen struct {
	Method, Path, RawQuery, Auth, ContentType string
	Header                                    http.Header
	Body                                      string
}

// gateway is an httptest server on 127.0.0.1 whose handler is told the
// 0-based number of the request it is answering, and which records every
// request that reached it.
type gateway struct {
	srv  *httptest.Server
	mu   sync.Mutex
	reqs []seen
	// sleeps are the backoff waits the client asked for, in order.
	sleeps []time.Duration
}

func newGateway(t *testing.T, h func(w http.ResponseWriter, r *http.Request, n int)) *gateway {
	t.Helper()
	g := &gateway{}
	g.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		g.mu.Lock()
		n := len(g.reqs)
		g.reqs = append(g.reqs, seen{Method: r.Method, Path: r.URL.EscapedPath(), RawQuery: r.URL.RawQuery,
			Auth: r.Header.Get("Authorization"), ContentType: r.Header.Get("Content-Type"), Header: r.Header.Clone(), Body: string(body)})
		g.mu.Unlock()
		h(w, r, n)
	}))
	t.Cleanup(g.srv.Close)
	return g
}

func (g *gateway) requests() []seen {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]seen(nil), g.reqs...)
}

func (g *gateway) waits() []time.Duration {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]time.Duration(nil), g.sleeps...)
}

// client returns a client for g whose backoff sleeps are recorded instead of
// slept, with a seeded jitter source and a fixed clock at testNow.
func (g *gateway) client(opts ...Option) *Client {
	base := []Option{
		WithSleep(func(ctx context.Context, d time.Duration) error {
			g.mu.Lock()
			g.sleeps = append(g.sleeps, d)
			g.mu.Unlock()
			return ctx.Err()
		}),
		WithRand(rand.New(rand.NewPCG(1, 2))),
		WithClock(func() time.Time { return testNow }),
		WithTimeout(5 * time.Second),
	}
	return New(g.srv.URL, testKey, append(base, opts...)...)
}

func reply(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, body)
}

// resetConnection aborts the TCP connection with an RST, as a crashed
// load balancer would, after the request has been read.
func resetConnection(t *testing.T, w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		t.Errorf("hijack: %v", err)
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	conn.Close()
}

// hang blocks until the client gives up on the request (or the test ends).
func hang(r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-time.After(10 * time.Second):
	}
}

func contextWithCancel(t *testing.T) (context.Context, context.CancelFunc) {
	return context.WithCancel(t.Context())
}
