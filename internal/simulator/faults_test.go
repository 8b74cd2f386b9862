package simulator

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestPollFaults(t *testing.T) {
	tests := []struct {
		fault      string
		wantStatus int
		check      func(t *testing.T, r reply)
	}{
		{"poll_5xx", 502, func(t *testing.T, r reply) {
			if r.str("error") != "upstream_error" || r.str("reason") != "google_vertex_operation_fetch_failed" || r.body["upstream_status"] != float64(500) || path(r.body, "upstream_error", "code") == nil {
				t.Errorf("body %s", r.raw)
			}
		}},
		{"poll_5xx_html", 503, func(t *testing.T, r reply) {
			if r.body != nil || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") {
				t.Errorf("want a non-JSON body, got %s", r.raw)
			}
		}},
		{"poll_429", 429, func(t *testing.T, r reply) {
			ra := r.header.Get("Retry-After")
			_, dateErr := http.ParseTime(ra)
			if ra != "1" && dateErr != nil {
				t.Errorf("Retry-After %q is neither delta-seconds nor an HTTP-date", ra)
			}
			if path(r.body, "error", "code") != "rate_limit_exceeded" {
				t.Errorf("body %s", r.raw)
			}
		}},
		{"poll.429_no_retry_after", 429, func(t *testing.T, r reply) {
			if r.header.Get("Retry-After") != "" {
				t.Errorf("Retry-After = %q", r.header.Get("Retry-After"))
			}
		}},
		{"key_limit", 429, func(t *testing.T, r reply) {
			reset, err := time.Parse(time.RFC3339, r.str("reset_at"))
			if r.str("error") != "key_limit_exceeded" || err != nil || !reset.After(t0) || r.body["limit_value"] == nil {
				t.Errorf("body %s", r.raw)
			}
		}},
		{"poll_not_ready", 409, func(t *testing.T, r reply) {
			if r.str("error") != "not_ready" || r.str("reason") != "atlas_prediction_id_missing" {
				t.Errorf("body %s", r.raw)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.fault, func(t *testing.T) {
			clk := newClock()
			h := start(t, Config{Now: clk.Now, Sweep: -1})
			id := h.create(map[string]any{"prompt": "[sim queue=0s duration=10s faults=" + tt.fault + "]"})
			clk.Advance(time.Minute)
			r := h.get(id)
			if r.status != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", r.status, tt.wantStatus, r.raw)
			}
			tt.check(t, r)
			// A failed poll changes nothing: the job is still stored queued.
			if snap, _ := h.sim.Job(id); snap.Status != "queued" {
				t.Errorf("faulted poll changed the stored status to %s", snap.Status)
			}
			h.get(id)
			if r := h.get(id); r.status != 200 || r.str("status") != "completed" {
				t.Errorf("poll %d after forced faults: %d %s", forcedCount+1, r.status, r.raw)
			}
		})
	}
}

func TestPollHang(t *testing.T) {
	h := start(t, Config{HangFor: time.Hour})
	id := h.create(map[string]any{"prompt": "[sim faults=poll_hang]"})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", h.srv.URL+"/v1/videos/"+id, nil)
	req.Header.Set("Authorization", "Bearer "+h.key)
	_, err := http.DefaultClient.Do(req)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("hang: got %v, want the client's deadline", err)
	}
	waitFor(t, "hang recorded", func() bool {
		for _, r := range h.sim.Requests() {
			if r.Fault == FaultPollHang {
				return true
			}
		}
		return false
	})

	short := start(t, Config{HangFor: time.Millisecond})
	id = short.create(map[string]any{"prompt": "[sim faults=poll_hang]"})
	if r := short.get(id); r.status != http.StatusGatewayTimeout || r.body != nil {
		t.Errorf("hang then timeout: %d %s", r.status, r.raw)
	}
}

func TestCreateFaults(t *testing.T) {
	tests := []struct {
		fault      string
		wantStatus int
		wantError  string
		wantJobs   int
	}{
		{FaultCreate402, 402, "insufficient_funds", 0},
		{FaultCreate503, 503, "reservation_not_held", 0},
		{FaultCreate5xx, 500, "gateway_error", 1},
	}
	for _, tt := range tests {
		t.Run(tt.fault, func(t *testing.T) {
			h := start(t, Config{Settings: Settings{Faults: Faults{tt.fault: 1}}})
			r := h.do("POST", "/v1/videos", map[string]any{"model": "m/x", "prompt": "p",
				"webhook": map[string]any{"url": "https://hooks.example.com/v?intent=abc"}})
			if r.status != tt.wantStatus || r.str("error") != tt.wantError {
				t.Fatalf("got %d %s", r.status, r.raw)
			}
			list := h.do("GET", "/v1/videos?limit=50", nil)
			data := list.body["data"].([]any)
			if len(data) != tt.wantJobs {
				t.Fatalf("list has %d jobs, want %d", len(data), tt.wantJobs)
			}
			if tt.wantJobs == 1 && path(data[0], "webhook", "url") != "https://hooks.example.com/v?intent=abc" {
				t.Errorf("reconciliation key not echoed: %v", path(data[0], "webhook", "url"))
			}
		})
	}
	t.Run(FaultCreateTimeout, func(t *testing.T) {
		h := start(t, Config{HangFor: time.Millisecond})
		req, _ := http.NewRequest("POST", h.srv.URL+"/v1/videos", strings.NewReader(`{"model":"m/x","prompt":"[sim faults=create.timeout]"}`))
		req.Header.Set("Authorization", "Bearer "+h.key)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			t.Fatalf("got a reply %d, want the connection cut", resp.StatusCode)
		}
		if !errors.Is(err, io.EOF) && !strings.Contains(err.Error(), "EOF") {
			t.Logf("cut connection error: %v", err)
		}
		if got := len(h.sim.Jobs()); got != 1 {
			t.Errorf("jobs = %d, want the job created before the cut", got)
		}
	})
}

func TestParseDirective(t *testing.T) {
	d := func(v time.Duration) *Duration { x := Duration(v); return &x }
	tests := []struct {
		prompt  string
		want    Plan
		ok      bool
		wantErr bool
	}{
		{"a cat", Plan{}, false, false},
		{"[sim]", Plan{}, true, false},
		{"a cat [sim outcome=failed duration=180s size=1048576 faults=drop_webhooks] on a mat",
			Plan{Outcome: "failed", Duration: d(180 * time.Second), Size: 1048576, Faults: []string{FaultWebhookDrop}}, true, false},
		{"[sim queue=0 duration=2.5 faults=poll.429,truncate provider=openai cancel=no progress=none content_type=video/webm error=bad_prompt]",
			Plan{Queue: d(0), Duration: d(2500 * time.Millisecond), Faults: []string{FaultPoll429, FaultContentTruncateCut},
				Provider: "openai", Cancel: "no", Progress: "none", ContentType: "video/webm", Error: "bad prompt"}, true, false},
		{"[sim outcome=exploded]", Plan{}, true, true},
		{"[sim faults=nope]", Plan{}, true, true},
		{"[sim size=-1]", Plan{}, true, true},
		{"[sim colour=red]", Plan{}, true, true},
		{"[sim outcome]", Plan{}, true, true},
	}
	for _, tt := range tests {
		got, ok, err := ParseDirective(tt.prompt)
		if ok != tt.ok || (err != nil) != tt.wantErr {
			t.Errorf("ParseDirective(%q): ok=%v err=%v", tt.prompt, ok, err)
			continue
		}
		if diff := cmp.Diff(got, tt.want); err == nil && diff != "" {
			t.Errorf("ParseDirective(%q) (-got +want):\n%s", tt.prompt, diff)
		}
	}
}

func TestParseProfile(t *testing.T) {
	tests := []struct {
		in      string
		want    Settings
		wantErr bool
	}{
		{`{"webhook.drop":0.5,"poll.5xx":0.1}`, Settings{Faults: Faults{FaultWebhookDrop: 0.5, FaultPoll5xx: 0.1}}, false},
		{`{"faults":{"webhook.drop":1},"outcomes":{"failed":1},"create_response":"openai","rules":[{"model":"openai/sora-2","plan":{"outcome":"expired","duration":"30s"}}]}`,
			Settings{Faults: Faults{FaultWebhookDrop: 1}, Outcomes: map[string]float64{"failed": 1}, CreateResponse: "openai",
				Rules: []Rule{{Model: "openai/sora-2", Plan: Plan{Outcome: "expired", Duration: durationOf(30 * time.Second)}}}}, false},
		{`{"webhook.drop":2}`, Settings{}, true},
		{`{"faults":{"webhook.nope":1}}`, Settings{}, true},
		{`{"colour":"red"}`, Settings{}, true},
		{`{"create_response":"xml"}`, Settings{}, true},
		{`[`, Settings{}, true},
	}
	for _, tt := range tests {
		got, err := ParseProfile([]byte(tt.in))
		if (err != nil) != tt.wantErr {
			t.Errorf("ParseProfile(%s): err %v", tt.in, err)
			continue
		}
		if diff := cmp.Diff(got, tt.want); !tt.wantErr && diff != "" {
			t.Errorf("ParseProfile(%s) (-got +want):\n%s", tt.in, diff)
		}
	}
}

func TestInspectionOverHTTP(t *testing.T) {
	clk := newClock()
	rc := newReceiver(t, "sec", clk.Now)
	h := start(t, Config{Now: clk.Now, Sweep: -1})
	id := h.create(map[string]any{"prompt": "[sim queue=0s duration=10s]", "webhook": map[string]any{"url": rc.url(), "secret": "sec"}})

	getJSON := func(p string, v any) {
		t.Helper()
		resp, err := http.Get(h.srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d", p, resp.StatusCode)
		}
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			t.Fatalf("GET %s: %v", p, err)
		}
	}
	post := func(p, body string) int {
		t.Helper()
		resp, err := http.Post(h.srv.URL+p, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}

	var jobs []JobSnapshot
	getJSON("/_sim/jobs", &jobs)
	if len(jobs) != 1 || jobs[0].ID != id || jobs[0].Status != "queued" || !jobs[0].HasSecret || jobs[0].WebhookURL != rc.url() {
		t.Fatalf("/_sim/jobs: %+v", jobs)
	}
	clk.Advance(time.Minute)
	if post("/_sim/sweep", "") != 200 {
		t.Fatal("sweep")
	}
	var snap JobSnapshot
	getJSON("/_sim/jobs/"+id, &snap)
	if snap.Status != "completed" {
		t.Errorf("after /_sim/sweep: %s", snap.Status)
	}
	waitFor(t, "delivery", func() bool { return rc.count() == 1 })
	waitFor(t, "recorded", h.sim.Settled)
	var ds []Delivery
	getJSON("/_sim/deliveries?job="+id, &ds)
	if len(ds) != 1 || ds[0].Outcome != OutcomeDelivered || ds[0].Key != "video.completed" || ds[0].Status != 200 {
		t.Errorf("/_sim/deliveries: %+v", ds)
	}
	var sum map[string]any
	getJSON("/_sim/jobs/"+id+"/sha256", &sum)
	if want, _ := h.sim.ContentSHA256(id); sum["sha256"] != want || sum["bytes"] != float64(len(SampleMP4)) {
		t.Errorf("/_sim/jobs/{id}/sha256: %v", sum)
	}
	var reqs []Request
	getJSON("/_sim/requests", &reqs)
	if len(reqs) != 1 || reqs[0].Method != "POST" || reqs[0].Status != 202 || reqs[0].JobID != id {
		t.Errorf("/_sim/requests: %+v", reqs)
	}

	if post("/_sim/config", `{"faults":{"poll.5xx":1},"disabled":false}`) != 200 {
		t.Fatal("config")
	}
	if r := h.get(id); r.status != 502 {
		t.Errorf("after enabling poll.5xx: %d", r.status)
	}
	if post("/_sim/config", `{"faults":{}}`) != 200 {
		t.Fatal("config clear")
	}
	if r := h.get(id); r.status != 200 {
		t.Errorf("after clearing faults: %d", r.status)
	}
	if post("/_sim/config", `{"disabled":true}`) != 200 {
		t.Fatal("config disable")
	}
	if r := h.get(id); r.status != 501 {
		t.Errorf("after disabling: %d", r.status)
	}
	if post("/_sim/config", `{"faults":{"webhook.nope":1}}`) != 400 {
		t.Error("unknown fault accepted")
	}
	var names []string
	getJSON("/_sim/faults", &names)
	if len(names) != len(knownFaults) {
		t.Errorf("/_sim/faults: %v", names)
	}
}

func TestCloseEndsGoroutines(t *testing.T) {
	rc := newReceiver(t, "sec", time.Now)
	rc.setRespond(func(received) int { return 500 })
	sim := New(Config{TimeScale: 1e4})
	srv := newTestServer(sim)
	defer srv.Close()
	h := &harness{t: t, sim: sim, srv: srv, key: DefaultAPIKey}
	id := h.create(map[string]any{"prompt": "[sim queue=0s duration=1s]", "webhook": map[string]any{"url": rc.url(), "secret": "sec"}})
	time.Sleep(time.Millisecond)
	h.get(id)
	done := make(chan struct{})
	go func() {
		_ = sim.Close()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return")
	}
	_ = sim.Close() // idempotent
}

func TestRecordsAreCapped(t *testing.T) {
	h := start(t, Config{MaxRecords: 10})
	for range 25 {
		h.do("GET", "/v1/videos", nil)
	}
	got := h.sim.Requests()
	if len(got) > 10 || got[len(got)-1].Seq != 25 {
		t.Errorf("kept %d requests, last seq %d", len(got), got[len(got)-1].Seq)
	}
}
