package simulator

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/videojobs/videojobs/internal/webhook"
)

// t0 is the contract's test-vector time, 2026-06-17T16:00:00Z.
var t0 = time.Unix(1781712000, 0)

// fakeClock is an injectable clock the tests move by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: t0} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// harness is a simulator on a real 127.0.0.1 listener.
type harness struct {
	t   *testing.T
	sim *Server
	srv *httptest.Server
	key string
}

func start(t *testing.T, cfg Config) *harness {
	t.Helper()
	sim := New(cfg)
	srv := httptest.NewServer(sim)
	t.Cleanup(func() {
		_ = sim.Close()
		srv.CloseClientConnections()
		srv.Close()
	})
	key := cfg.APIKey
	if key == "" {
		key = DefaultAPIKey
	}
	return &harness{t: t, sim: sim, srv: srv, key: key}
}

type reply struct {
	status int
	header http.Header
	raw    []byte
	body   map[string]any
}

func (r reply) str(key string) string {
	s, _ := r.body[key].(string)
	return s
}

func (h *harness) do(method, path string, body any, hdr ...string) reply {
	h.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			h.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	u := path
	if !strings.HasPrefix(path, "http") {
		u = h.srv.URL + path
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+h.key)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i+1] == "" {
			req.Header.Del(hdr[i])
		} else {
			req.Header.Set(hdr[i], hdr[i+1])
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	r := reply{status: resp.StatusCode, header: resp.Header, raw: raw}
	_ = json.Unmarshal(raw, &r.body)
	return r
}

// create posts a job and returns its id, failing the test unless 202.
func (h *harness) create(body map[string]any) string {
	h.t.Helper()
	if body["model"] == nil {
		body["model"] = "google/veo-3.1-lite"
	}
	r := h.do("POST", "/v1/videos", body)
	if r.status != http.StatusAccepted {
		h.t.Fatalf("create: status %d body %s", r.status, r.raw)
	}
	id := r.str("id")
	if id == "" {
		id = r.str("video_id")
	}
	return id
}

func (h *harness) get(id string) reply {
	h.t.Helper()
	return h.do("GET", "/v1/videos/"+id, nil)
}

// waitFor polls cond until it holds, failing after 10 s of real time. It
// waits for background work; it asserts nothing about speed.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// received is one delivery as the receiver saw it.
type received struct {
	header http.Header
	body   []byte
	p      struct {
		ID        string `json:"id"`
		Type      string `json:"type"`
		CreatedAt int64  `json:"created_at"`
		Delivery  struct {
			Key         string `json:"key"`
			Attempt     int    `json:"attempt"`
			MaxAttempts int    `json:"max_attempts"`
		} `json:"delivery"`
		StatusChange map[string]any `json:"status_change"`
		Data         map[string]any `json:"data"`
	}
	signed bool // carried a timestamp and signature header
	valid  bool // signature verified and fresh
}

// receiver is a webhook endpoint that verifies every delivery with
// webhook.Sign and hmac.Equal, independently of the simulator.
type receiver struct {
	t       *testing.T
	secret  string
	prefix  string
	now     func() time.Time
	respond func(received) int
	srv     *httptest.Server

	mu  sync.Mutex
	got []received
}

func newReceiver(t *testing.T, secret string, now func() time.Time) *receiver {
	rc := &receiver{t: t, secret: secret, prefix: "x-ai-stats-", now: now,
		respond: func(received) int { return http.StatusOK }}
	rc.srv = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) url() string { return rc.srv.URL + "/webhooks/ai-stats?job=vj_test" }

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	d := received{header: r.Header.Clone(), body: body}
	_ = json.Unmarshal(body, &d.p)
	ts, sig := r.Header.Get(rc.prefix+"timestamp"), r.Header.Get(rc.prefix+"signature")
	d.signed = ts != "" && sig != ""
	if d.signed && rc.secret != "" {
		want, _ := hex.DecodeString(webhook.Sign(rc.secret, ts, body))
		got, err := hex.DecodeString(strings.TrimSpace(sig))
		n, perr := strconv.ParseInt(ts, 10, 64)
		fresh := perr == nil && rc.now().Unix()-n <= 300 && n-rc.now().Unix() <= 300
		d.valid = err == nil && hmac.Equal(got, want) && fresh
	}
	rc.mu.Lock()
	rc.got = append(rc.got, d)
	respond := rc.respond
	rc.mu.Unlock()
	w.WriteHeader(respond(d))
}

func (rc *receiver) all() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

func (rc *receiver) count() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.got)
}

func (rc *receiver) setRespond(f func(received) int) {
	rc.mu.Lock()
	rc.respond = f
	rc.mu.Unlock()
}

// path digs a value out of decoded JSON: path("webhook","delivery","x").
func path(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func newTestServer(h http.Handler) *httptest.Server { return httptest.NewServer(h) }

func sha256Hex(r io.Reader) string {
	h := sha256.New()
	_, _ = io.Copy(h, r)
	return hex.EncodeToString(h.Sum(nil))
}
