package simulator

import (
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/videojobs/videojobs/internal/webhook"
)

func TestEventID(t *testing.T) {
	tests := []struct{ job, key, want string }{
		{"G-01JZ8Q3V4X5Y6Z7A8B9C0D1E2F", "video.completed", "evt_video_G-01JZ8Q3V4X5Y6Z7A8B9C0D1E2F_video_completed"},
		{"G-01JZ8Q3V4X5Y6Z7A8B9C0D1E2F", "video.progress:50", "evt_video_G-01JZ8Q3V4X5Y6Z7A8B9C0D1E2F_video_progress_50"},
		{"G-x", strings.Repeat("k", 200), ("evt_video_G-x_" + strings.Repeat("k", 200))[:160]},
	}
	for _, tt := range tests {
		if got := EventID(tt.job, tt.key); got != tt.want {
			t.Errorf("EventID(%q, %q) = %q, want %q", tt.job, tt.key, got, tt.want)
		}
	}
}

func TestBucket(t *testing.T) {
	for p, want := range map[int]int{1: 5, 4: 5, 5: 10, 14: 10, 25: 30, 50: 50, 94: 90, 95: 95, 99: 95} {
		if got := bucket(p); got != want {
			t.Errorf("bucket(%d) = %d, want %d", p, got, want)
		}
	}
}

// settle advances the fake clock in steps until no delivery is pending.
func settle(t *testing.T, h *harness, clk *fakeClock, step time.Duration) {
	t.Helper()
	for range 50 {
		waitFor(t, "due deliveries", h.sim.Settled)
		if h.sim.Pending() == 0 {
			return
		}
		clk.Advance(step)
	}
	t.Fatalf("deliveries still pending: %d", h.sim.Pending())
}

func TestWebhookDeliveries(t *testing.T) {
	clk := newClock()
	rc := newReceiver(t, "whsec_test", clk.Now)
	h := start(t, Config{Now: clk.Now, Sweep: -1})
	id := h.create(map[string]any{"model": "openai/sora-2", "prompt": "[sim queue=0s duration=100s]",
		"webhook": map[string]any{"url": rc.url(), "secret": "whsec_test", "events": []any{"created", "progress", "completed", "failed"}}})
	settle(t, h, clk, time.Second)
	for _, step := range []time.Duration{25 * time.Second, 25 * time.Second, 2 * time.Second, time.Minute} {
		clk.Advance(step)
		h.get(id)
		settle(t, h, clk, time.Second)
	}
	got := rc.all()
	var keys []string
	for _, d := range got {
		keys = append(keys, d.p.Delivery.Key)
	}
	if diff := cmp.Diff(keys, []string{"video.created", "video.progress:30", "video.progress:50", "video.completed"}); diff != "" {
		t.Fatalf("delivery keys (-got +want):\n%s", diff)
	}
	for _, d := range got {
		key := d.p.Delivery.Key
		want := map[string]string{
			"X-Ai-Stats-Event-Id": EventID(id, key), "X-Ai-Stats-Event-Type": d.p.Type,
			"X-Ai-Stats-Delivery-Key": key, "X-Ai-Stats-Attempt": "1", "X-Ai-Stats-Max-Attempts": "4",
			"User-Agent": "AI-Stats-Async-Webhook/1.0", "Content-Type": "application/json",
		}
		for k, v := range want {
			if got := d.header.Get(k); got != v {
				t.Errorf("%s: header %s = %q, want %q", key, k, got, v)
			}
		}
		if !d.valid || d.p.ID != EventID(id, key) || d.p.Delivery.Attempt != 1 || d.p.Delivery.MaxAttempts != 4 {
			t.Errorf("%s: valid=%v payload %+v", key, d.valid, d.p)
		}
		if d.p.Data["native_id"] == nil || d.p.Data["native_video_id"] != nil || d.p.Data["outputs"] != nil || d.p.Data["kind"] != "video" {
			t.Errorf("%s: data shape %v", key, d.p.Data)
		}
		if strings.HasPrefix(key, "video.progress:") && fmt.Sprint(d.p.Data["progress"]) != strings.TrimPrefix(key, "video.progress:") {
			t.Errorf("%s: data.progress = %v", key, d.p.Data["progress"])
		}
		if path(d.p.Data, "webhook", "url") != rc.url() {
			t.Errorf("%s: data.webhook.url = %v", key, path(d.p.Data, "webhook", "url"))
		}
	}
	if d := got[3]; d.p.Type != "video.completed" || d.p.Data["status"] != "completed" || d.p.Data["download_url"] == nil || d.p.Data["total_duration_ms"] == nil {
		t.Errorf("completed data: %v", d.p.Data)
	}
	if strings.Contains(string(got[0].body), "whsec_test") {
		t.Error("payload leaks the secret")
	}

	r := h.get(id)
	delivery := path(r.body, "webhook", "delivery").(map[string]any)
	wantDelivery := map[string]any{
		"total_attempts": float64(4), "delivered_events": float64(4), "pending_retries": float64(0),
		"delivered_event_types": []any{"video.created", "video.progress:30", "video.progress:50", "video.completed"},
		"next_retry_at":         nil, "last_attempt_status": "delivered", "last_response_status": float64(200),
		"last_failure_at": nil, "last_error_message": nil,
	}
	for k, want := range wantDelivery {
		if diff := cmp.Diff(delivery[k], want); diff != "" {
			t.Errorf("webhook.delivery.%s (-got +want):\n%s", k, diff)
		}
	}
	atts := path(r.body, "webhook", "attempts").([]any)
	if len(atts) != 4 || !strings.HasPrefix(path(atts[3], "id").(string), "video.completed:1:2026-06-17T") || path(atts[3], "status") != "delivered" {
		t.Errorf("attempts: %v", atts)
	}
	if r.body["last_webhook_progress"] != float64(50) || r.body["last_webhook_dispatched_at"] == nil {
		t.Errorf("job-level webhook fields: %v %v", r.body["last_webhook_progress"], r.body["last_webhook_dispatched_at"])
	}
}

// TestWebhookRetriesUntilFailedPermanently drives an always-failing endpoint
// through attempts 1..4 at 0/60/300/900 s, then checks the GET state.
func TestWebhookRetriesUntilFailedPermanently(t *testing.T) {
	clk := newClock()
	rc := newReceiver(t, "sec", clk.Now)
	rc.setRespond(func(received) int { return http.StatusInternalServerError })
	h := start(t, Config{Now: clk.Now, Sweep: -1})
	id := h.create(map[string]any{"prompt": "[sim queue=0s duration=1s]", "webhook": map[string]any{"url": rc.url(), "secret": "sec"}})
	clk.Advance(time.Second)
	h.get(id)
	waitFor(t, "attempt 1", func() bool { return rc.count() == 1 })
	waitFor(t, "attempt 1 recorded", h.sim.Settled)

	r := h.get(id)
	if path(r.body, "webhook", "delivery", "last_attempt_status") != "scheduled_retry" ||
		path(r.body, "webhook", "delivery", "pending_retries") != float64(1) ||
		path(r.body, "webhook", "delivery", "next_retry_at") != "2026-06-17T16:01:01.000Z" ||
		path(r.body, "webhook", "delivery", "last_response_status") != float64(500) ||
		r.str("next_webhook_retry_at") != "2026-06-17T16:01:01.000Z" {
		t.Errorf("after attempt 1: %v", path(r.body, "webhook", "delivery"))
	}
	for i, gap := range []time.Duration{60 * time.Second, 300 * time.Second, 900 * time.Second} {
		clk.Advance(gap)
		waitFor(t, fmt.Sprintf("attempt %d", i+2), func() bool { return rc.count() == i+2 })
	}
	waitFor(t, "last attempt recorded", h.sim.Settled)
	got := rc.all()
	var attempts []int
	var created []int64
	for _, d := range got {
		attempts = append(attempts, d.p.Delivery.Attempt)
		created = append(created, d.p.CreatedAt)
		if !d.valid || d.p.ID != got[0].p.ID || d.p.Delivery.Key != "video.completed" {
			t.Errorf("attempt %d: valid=%v id=%s key=%s", d.p.Delivery.Attempt, d.valid, d.p.ID, d.p.Delivery.Key)
		}
	}
	if diff := cmp.Diff(attempts, []int{1, 2, 3, 4}); diff != "" {
		t.Errorf("attempts (-got +want):\n%s", diff)
	}
	start := t0.Unix() + 1
	if diff := cmp.Diff(created, []int64{start, start + 60, start + 360, start + 1260}); diff != "" {
		t.Errorf("created_at per attempt (-got +want):\n%s", diff)
	}
	r = h.get(id)
	if path(r.body, "webhook", "delivery", "last_attempt_status") != "failed_permanently" ||
		path(r.body, "webhook", "delivery", "pending_retries") != float64(0) ||
		path(r.body, "webhook", "delivery", "total_attempts") != float64(4) ||
		path(r.body, "webhook", "delivery", "last_error_message") != "HTTP 500" {
		t.Errorf("final state: %v", path(r.body, "webhook", "delivery"))
	}
	atts := path(r.body, "webhook", "attempts").([]any)
	if path(atts[3], "status") != "failed_permanently" || path(atts[0], "status") != "scheduled_retry" {
		t.Errorf("attempt records: %v", atts)
	}
	var states []string
	for _, d := range h.sim.Deliveries() {
		states = append(states, d.State)
	}
	if diff := cmp.Diff(states, []string{"scheduled_retry", "scheduled_retry", "scheduled_retry", "failed_permanently"}); diff != "" {
		t.Errorf("Deliveries states (-got +want):\n%s", diff)
	}
	clk.Advance(time.Hour)
	waitFor(t, "quiet", h.sim.Settled)
	if rc.count() != 4 {
		t.Errorf("attempt after failed_permanently: %d deliveries", rc.count())
	}
}

func TestUnsignedWithoutSecret(t *testing.T) {
	clk := newClock()
	rc := newReceiver(t, "", clk.Now)
	h := start(t, Config{Now: clk.Now, Sweep: -1})
	id := h.create(map[string]any{"prompt": "[sim queue=0s duration=1s]", "webhook": map[string]any{"url": rc.url()}})
	clk.Advance(time.Minute)
	h.get(id)
	waitFor(t, "delivery", func() bool { return rc.count() == 1 })
	d := rc.all()[0]
	if d.header.Get("X-Ai-Stats-Timestamp") != "" || d.header.Get("X-Ai-Stats-Signature") != "" || d.header.Get("X-Ai-Stats-Event-Id") == "" {
		t.Errorf("unsigned delivery headers: %v", d.header)
	}
}

func TestPhaseoVariant(t *testing.T) {
	clk := newClock()
	rc := newReceiver(t, "sec", clk.Now)
	rc.prefix = "x-phaseo-"
	h := start(t, Config{Now: clk.Now, Sweep: -1, Variant: VariantPhaseo})
	id := h.create(map[string]any{"prompt": "[sim queue=10s duration=10s]", "webhook": map[string]any{"url": rc.url(), "secret": "sec"}})
	if r := h.get(id); !slices.Contains(path(r.body, "webhook", "events").([]any), any("job.status_changed")) {
		t.Errorf("default events: %v", path(r.body, "webhook", "events"))
	}
	clk.Advance(15 * time.Second)
	h.get(id)
	settle(t, h, clk, time.Second)
	clk.Advance(time.Minute)
	h.get(id)
	settle(t, h, clk, time.Second)

	got := rc.all()
	var summary []string
	for _, d := range got {
		summary = append(summary, d.p.Type+" "+d.p.Delivery.Key+" "+fmt.Sprint(d.p.StatusChange["previous_status"], "->", d.p.StatusChange["status"]))
		if !d.valid || d.header.Get("User-Agent") != "Phaseo-Async-Webhook/1.0" || d.header.Get("X-Ai-Stats-Signature") != "" {
			t.Errorf("%s: valid=%v headers %v", d.p.Delivery.Key, d.valid, d.header)
		}
		v := webhook.NewVerifier(clk.Now)
		if _, err := v.Verify(d.header, d.body, []string{"sec"}); err != nil {
			t.Errorf("%s: webhook.Verifier: %v", d.p.Delivery.Key, err)
		}
	}
	sort.Strings(summary)
	want := []string{
		"job.status_changed job.status_changed:completed processing->completed",
		"job.status_changed job.status_changed:processing queued->processing",
		"video.completed video.completed <nil>-><nil>",
	}
	if diff := cmp.Diff(summary, want); diff != "" {
		t.Errorf("phaseo deliveries (-got +want):\n%s", diff)
	}
	// The phaseo create body accepts seconds as a string.
	if r := h.do("POST", "/v1/videos", `{"model":"m/x","prompt":"p","seconds":"8"}`); r.status != 202 {
		t.Errorf("phaseo seconds: %d %s", r.status, r.raw)
	}
}

func TestPhaseoEndpointSubscription(t *testing.T) {
	clk := newClock()
	rc := newReceiver(t, "epsec", clk.Now)
	rc.prefix = "x-phaseo-"
	h := start(t, Config{Now: clk.Now, Sweep: -1, Variant: VariantPhaseo,
		Endpoints: map[string]Endpoint{"we_123": {URL: rc.url(), Secret: "epsec"}}})
	if r := h.do("POST", "/v1/videos", map[string]any{"model": "m/x", "prompt": "p", "webhook": map[string]any{"endpoint_id": "we_123", "url": rc.url()}}); r.status != 400 {
		t.Errorf("endpoint_id with inline url: %d", r.status)
	}
	id := h.create(map[string]any{"prompt": "[sim queue=0s duration=1s]", "webhook": map[string]any{"endpoint_id": "we_123", "events": []any{"job.completed"}}})
	clk.Advance(time.Minute)
	h.get(id)
	waitFor(t, "delivery", func() bool { return rc.count() == 1 })
	if d := rc.all()[0]; !d.valid || d.p.Type != "video.completed" {
		t.Errorf("endpoint delivery valid=%v type=%s", d.valid, d.p.Type)
	}
}

func TestWebhookFaults(t *testing.T) {
	tests := []struct {
		fault string
		check func(t *testing.T, got []received, sim *Server)
	}{
		{"drop_webhooks", func(t *testing.T, got []received, sim *Server) {
			if len(got) != 0 {
				t.Errorf("receiver got %d deliveries", len(got))
			}
			if d := sim.Deliveries(); len(d) != 1 || d[0].Outcome != OutcomeDropped || d[0].State != "delivered" {
				t.Errorf("recorded %+v", d)
			}
		}},
		{"duplicate_webhooks", func(t *testing.T, got []received, _ *Server) {
			if len(got) != 2 || got[0].p.ID != got[1].p.ID || !got[1].valid {
				t.Errorf("duplicate: %d deliveries", len(got))
			}
		}},
		{"lost_ack", func(t *testing.T, got []received, sim *Server) {
			var attempts []int
			for _, d := range got {
				attempts = append(attempts, d.p.Delivery.Attempt)
			}
			// Every attempt but the last "loses" its 2xx; duplicates of a
			// lost ack are not sent.
			if diff := cmp.Diff(attempts, []int{1, 2, 3, 4}); diff != "" {
				t.Errorf("attempts (-got +want):\n%s", diff)
			}
			if d := sim.Deliveries(); d[0].Outcome != OutcomeLostAck || d[0].Status != 200 {
				t.Errorf("recorded %+v", d[0])
			}
		}},
		{"reorder", func(t *testing.T, got []received, _ *Server) {
			if len(got) != 2 || got[0].p.Type != "video.completed" || got[1].p.Type != "video.progress" ||
				got[1].p.Data["status"] != "processing" || !got[1].valid {
				t.Errorf("reorder: %+v", got)
			}
		}},
		{"bad_signature", func(t *testing.T, got []received, _ *Server) {
			if len(got) == 0 || !got[0].signed || got[0].valid {
				t.Errorf("bad signature verified or missing")
			}
		}},
		{"stale_timestamp", func(t *testing.T, got []received, _ *Server) {
			if len(got) == 0 || got[0].valid || got[0].header.Get("X-Ai-Stats-Timestamp") == "" {
				t.Errorf("stale timestamp accepted or missing")
			}
		}},
		{"foreign_callbacks", func(t *testing.T, got []received, _ *Server) {
			var foreign, ours int
			for _, d := range got {
				if d.signed {
					ours++
				} else if d.header.Get("X-Ai-Stats-Event-Id") == "" {
					foreign++
				}
			}
			if foreign != 1 || ours != 1 {
				t.Errorf("foreign=%d ours=%d", foreign, ours)
			}
		}},
		{"delay_webhooks", func(t *testing.T, got []received, sim *Server) {
			if len(got) != 1 || sim.Deliveries()[0].Fault != FaultWebhookDelay {
				t.Errorf("delay: %d deliveries, %+v", len(got), sim.Deliveries())
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.fault, func(t *testing.T) {
			rc := newReceiver(t, "sec", time.Now)
			rc.setRespond(func(d received) int {
				if d.signed && !d.valid {
					return http.StatusUnauthorized
				}
				return http.StatusOK
			})
			// Time scale 10^5: retry delays of 60/300/900 s take under 10 ms.
			h := start(t, Config{TimeScale: 1e5, Sweep: -1})
			id := h.create(map[string]any{"prompt": "[sim queue=0s duration=1s faults=" + tt.fault + "]",
				"webhook": map[string]any{"url": rc.url(), "secret": "sec", "events": []any{"completed", "progress"}}})
			time.Sleep(time.Millisecond)
			if r := h.get(id); r.str("status") != "completed" {
				t.Fatalf("job not completed: %s", r.raw)
			}
			waitFor(t, "deliveries to finish", func() bool { return h.sim.Pending() == 0 })
			tt.check(t, rc.all(), h.sim)
		})
	}
}

// deliveryTrace is a run's deliveries reduced to what must reproduce.
func deliveryTrace(ds []Delivery) []string {
	var out []string
	for _, d := range ds {
		out = append(out, fmt.Sprintf("job%d %s a%d fault=%s %s %d %s", d.JobSeq, d.Key, d.Attempt, d.Fault, d.Outcome, d.Status, d.State))
	}
	sort.Strings(out)
	return out
}

func TestDeterminism(t *testing.T) {
	profile := Settings{
		Outcomes: map[string]float64{"completed": 3, "failed": 1},
		Faults: Faults{
			FaultWebhookDrop: 0.1, FaultWebhookDuplicate: 0.2, FaultWebhookLostAck: 0.2, FaultWebhookReorder: 0.3,
			FaultWebhookBadSignature: 0.1, FaultWebhookStaleTimestamp: 0.1, FaultWebhookForeign: 0.2,
			FaultWebhookDelay: 0.2, FaultPoll5xx: 0.2, FaultPoll429: 0.1,
		},
	}
	run := func(seed int64) ([]string, []string) {
		clk := newClock()
		rc := newReceiver(t, "sec", clk.Now)
		rc.setRespond(func(d received) int {
			switch {
			case d.signed && !d.valid, !d.signed:
				return http.StatusUnauthorized
			case strings.HasPrefix(d.p.Delivery.Key, "video.progress") && d.p.Delivery.Attempt == 1:
				return http.StatusServiceUnavailable
			}
			return http.StatusOK
		})
		h := start(t, Config{Now: clk.Now, Seed: seed, Sweep: -1, Settings: profile})
		var ids []string
		for range 12 {
			ids = append(ids, h.create(map[string]any{"prompt": "[sim queue=0s duration=100s]",
				"webhook": map[string]any{"url": rc.url(), "secret": "sec", "events": []any{"created", "progress", "completed", "failed"}}}))
		}
		var polls []string
		for range 6 {
			clk.Advance(30 * time.Second)
			for i, id := range ids {
				polls = append(polls, fmt.Sprintf("job%d %d", i+1, h.get(id).status))
			}
			settle(t, h, clk, time.Minute)
		}
		settle(t, h, clk, 5*time.Minute)
		return deliveryTrace(h.sim.Deliveries()), polls
	}
	d1, p1 := run(7)
	d2, p2 := run(7)
	if diff := cmp.Diff(d1, d2); diff != "" {
		t.Errorf("same seed, different deliveries (-first +second):\n%s", diff)
	}
	if diff := cmp.Diff(p1, p2); diff != "" {
		t.Errorf("same seed, different poll results (-first +second):\n%s", diff)
	}
	faults := map[string]bool{}
	for _, line := range d1 {
		for _, f := range strings.Fields(line) {
			if strings.HasPrefix(f, "fault=webhook.") {
				faults[f] = true
			}
		}
	}
	if len(faults) < 5 {
		t.Errorf("profile exercised only %v", faults)
	}
	d3, _ := run(8)
	if cmp.Equal(d1, d3) {
		t.Error("a different seed gave the same deliveries")
	}
}
