package localapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/videojobs/videojobs/internal/intake"
	"github.com/videojobs/videojobs/internal/job"
)

// api is an in-memory stand-in for the HTTP API's job routes: it answers
// as the submit and jobs functions do (the {"job":{…}} body, the error
// envelope) and moves each job one state further on every read.
type api struct {
	mu    sync.Mutex
	paths map[string][]job.State // job id → the states its reads show
	reads map[string]int
	// failFirst makes the first read of each job answer 503.
	failFirst bool
	// submits records what POST /jobs received.
	submits []submission
}

type submission struct {
	Key, ContentType, Body string
}

func newAPI(t *testing.T, a *api) *Client {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /jobs", a.submit)
	mux.HandleFunc("GET /jobs/{id}", a.job)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return New(srv.URL)
}

func (a *api) submit(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	b, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	a.submits = append(a.submits, submission{r.Header.Get("Idempotency-Key"), r.Header.Get("Content-Type"), string(b)})
	if r.Header.Get("Idempotency-Key") == "used-for-another-body" {
		answer(w, http.StatusConflict, map[string]any{"error": map[string]string{"code": "idempotency_conflict", "message": "Idempotency-Key was used with another body"}})
		return
	}
	answer(w, http.StatusAccepted, map[string]any{"job": intake.ViewOf(&job.Job{ID: "vj_new", State: job.Accepted}, false)})
}

func (a *api) job(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	id := r.PathValue("id")
	path, ok := a.paths[id]
	if !ok {
		answer(w, http.StatusNotFound, map[string]any{"error": map[string]string{"code": "not_found", "message": "no job " + id}})
		return
	}
	n := a.reads[id]
	a.reads[id]++
	if a.failFirst && n == 0 {
		answer(w, http.StatusServiceUnavailable, map[string]any{"message": "Service Unavailable"})
		return
	}
	if a.failFirst {
		n--
	}
	j := &job.Job{ID: id, State: path[min(n, len(path)-1)]}
	answer(w, http.StatusOK, map[string]any{"job": intake.ViewOf(j, true)})
}

func answer(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func TestSubmit(t *testing.T) {
	tests := []struct {
		name       string
		key        string
		wantStatus int
	}{
		{name: "no key", key: "", wantStatus: http.StatusAccepted},
		{name: "key", key: "k-1", wantStatus: http.StatusAccepted},
		{name: "key used for another body", key: "used-for-another-body", wantStatus: http.StatusConflict},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := &api{}
			c := newAPI(t, a)
			body := `{"prompt":"a fox"}`
			r, err := c.Submit(t.Context(), []byte(body), tc.key)
			if err != nil {
				t.Fatal(err)
			}
			if r.Status != tc.wantStatus {
				t.Errorf("status = %d, want %d (%s)", r.Status, tc.wantStatus, r)
			}
			want := []submission{{Key: tc.key, ContentType: "application/json", Body: body}}
			a.mu.Lock()
			defer a.mu.Unlock()
			if d := cmp.Diff(a.submits, want); d != "" {
				t.Errorf("API received (-got +want):\n%s", d)
			}
			v, err := DecodeJob(r)
			if got := err == nil; got != (tc.wantStatus == http.StatusAccepted) {
				t.Errorf("DecodeJob(%s) = %+v, %v", r, v, err)
			}
			if err == nil && (v.ID != "vj_new" || v.State != job.Accepted) {
				t.Errorf("job = %s %s, want vj_new accepted", v.ID, v.State)
			}
			if _, ok := r.Envelope(); ok != (tc.wantStatus == http.StatusConflict) {
				t.Errorf("Envelope ok = %v for %s", ok, r)
			}
		})
	}
}

func TestDoHeaderReplacesDefaults(t *testing.T) {
	var got http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Clone()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	c := New(srv.URL)

	h := http.Header{"content-type": {"text/plain"}, "X-Ai-Stats-Signature": {"a", "b"}}
	r, err := c.Do(t.Context(), http.MethodPost, "/webhooks/ai-stats", []byte("x"), h)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != http.StatusNoContent {
		t.Errorf("status = %d, want 204", r.Status)
	}
	if d := cmp.Diff(got.Values("Content-Type"), []string{"text/plain"}); d != "" {
		t.Errorf("Content-Type (-got +want):\n%s", d)
	}
	if d := cmp.Diff(got.Values("X-Ai-Stats-Signature"), []string{"a", "b"}); d != "" {
		t.Errorf("repeated header (-got +want):\n%s", d)
	}

	if _, err := c.Do(t.Context(), http.MethodGet, "/jobs", nil, nil); err != nil {
		t.Fatal(err)
	}
	if ct := got.Get("Content-Type"); ct != "" {
		t.Errorf("GET without a body sent Content-Type %q", ct)
	}
}

func TestJob(t *testing.T) {
	c := newAPI(t, &api{paths: map[string][]job.State{"vj_1": {job.Processing}}, reads: map[string]int{}})

	v, err := c.Job(t.Context(), "vj_1")
	if err != nil {
		t.Fatal(err)
	}
	if v.ID != "vj_1" || v.State != job.Processing || v.Links.Self != "/jobs/vj_1" {
		t.Errorf("Job = %+v, want vj_1 processing", v)
	}

	_, err = c.Job(t.Context(), "vj_missing")
	if err == nil || !strings.Contains(err.Error(), "GET /jobs/vj_missing: 404") {
		t.Errorf("Job of an unknown id: err = %v, want the 404 in it", err)
	}
}

func TestEnvelope(t *testing.T) {
	tests := []struct {
		name   string
		body   string
		want   APIError
		wantOK bool
	}{
		{name: "code and message", body: `{"error":{"code":"invalid_request","message":"bad"}}`, want: APIError{Code: "invalid_request", Message: "bad"}, wantOK: true},
		{name: "with field", body: `{"error":{"code":"invalid_type","message":"bad","field":"prompt"}}`, want: APIError{Code: "invalid_type", Message: "bad", Field: "prompt"}, wantOK: true},
		{name: "no message", body: `{"error":{"code":"invalid_request"}}`},
		{name: "no code", body: `{"error":{"message":"bad"}}`},
		{name: "key beside error", body: `{"error":{"code":"c","message":"m"},"job":{}}`},
		{name: "unknown key inside error", body: `{"error":{"code":"c","message":"m","detail":"x"}}`},
		{name: "API Gateway's own answer", body: `{"message":"Not Found"}`},
		{name: "not JSON", body: `Bad Gateway`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := Response{Status: 400, Body: []byte(tc.body)}.Envelope()
			if ok != tc.wantOK || got != tc.want {
				t.Errorf("Envelope() = %+v, %v, want %+v, %v", got, ok, tc.want, tc.wantOK)
			}
		})
	}
}

func TestWaitTerminal(t *testing.T) {
	path := []job.State{job.Accepted, job.Queued, job.Processing, job.Completed, job.Stored}
	tests := []struct {
		name      string
		failFirst bool
	}{
		{name: "every read answers"},
		{name: "a failed read is retried", failFirst: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newAPI(t, &api{paths: map[string][]job.State{"vj_1": path}, reads: map[string]int{}, failFirst: tc.failFirst})
			var seen []job.State
			v, err := c.WaitTerminal(t.Context(), "vj_1", time.Millisecond, func(v intake.View) { seen = append(seen, v.State) })
			if err != nil {
				t.Fatal(err)
			}
			if v.State != job.Stored {
				t.Errorf("state = %s, want stored", v.State)
			}
			if d := cmp.Diff(seen, path); d != "" {
				t.Errorf("reads seen (-got +want):\n%s", d)
			}
		})
	}
}

func TestWaitTerminalStopsAtDeadline(t *testing.T) {
	c := newAPI(t, &api{paths: map[string][]job.State{"vj_1": {job.Processing}}, reads: map[string]int{}})
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()

	v, err := c.WaitTerminal(ctx, "vj_1", 5*time.Millisecond, nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the deadline", err)
	}
	if v.State != job.Processing || !strings.Contains(err.Error(), `last state "processing"`) {
		t.Errorf("got %s, %v; want the last read (processing) in both", v.State, err)
	}
}
