package simulator

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestAuth(t *testing.T) {
	h := start(t, Config{APIKey: "aistats_v1_sk_kid1_s3cret", ExpiredKeys: []string{"aistats_v1_sk_old_s3cret"}})
	tests := []struct {
		name       string
		auth       string
		wantStatus int
		wantReason string
	}{
		{"missing", "", 401, "missing_or_invalid_authorization_header"},
		{"basic scheme", "Basic dXNlcjpwYXNz", 401, "missing_or_invalid_authorization_header"},
		{"bad format", "Bearer sk-openai-style", 401, "invalid_key_format"},
		{"unknown kid", "Bearer aistats_v1_sk_other_s3cret", 401, "key_not_found_or_revoked"},
		{"wrong secret", "Bearer aistats_v1_sk_kid1_nope", 401, "invalid_secret"},
		{"expired", "Bearer aistats_v1_sk_old_s3cret", 401, "key_expired"},
		{"valid", "Bearer aistats_v1_sk_kid1_s3cret", 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.do("GET", "/v1/videos", nil, "Authorization", tt.auth)
			if r.status != tt.wantStatus || r.str("reason") != tt.wantReason {
				t.Fatalf("got %d %q, want %d %q (%s)", r.status, r.str("reason"), tt.wantStatus, tt.wantReason, r.raw)
			}
			if r.status == 401 && r.str("error") != "unauthorised" {
				t.Errorf("error = %q, want unauthorised", r.str("error"))
			}
		})
	}
}

func TestCreateValidation(t *testing.T) {
	h := start(t, Config{})
	base := func(extra string) string {
		return `{"model":"google/veo-3.1-lite","prompt":"a cat"` + extra + `}`
	}
	tests := []struct {
		name       string
		body       string
		wantStatus int
		wantError  string
		wantPath   []any // first details path, when set
	}{
		{"minimal", base(""), 202, "", nil},
		{"all fields", base(`,"duration":8,"resolution":"720p","aspect_ratio":"16:9","seed":7,"sample_count":2,
			"negative_prompt":"x","person_generation":"allow","resize_mode":"pad","generate_audio":true,"enhance_prompt":false,
			"compression_quality":50,"input_references":[{"type":"image_url","role":"first_frame","reference_type":"style","image_url":{"url":"https://e.com/a.png"}}],
			"provider_params":{"k":1},"output":{"access":"bytes"},"provider":{"order":["a"]},"routing":{},"debug":{},"beta":true,"echo_upstream_request":false`), 202, "", nil},
		{"not json", `{"model":`, 400, "invalid_json", nil},
		{"not object", `[1]`, 400, "validation_error", []any{}},
		{"unknown key", base(`,"metadata":{}`), 400, "validation_error", []any{}},
		{"seconds not in this version", base(`,"seconds":"4"`), 400, "validation_error", []any{}},
		{"missing model", `{"prompt":"a"}`, 400, "model_required", nil},
		{"empty model", `{"model":"","prompt":"a"}`, 400, "model_required", nil},
		{"missing prompt", `{"model":"m/x"}`, 400, "validation_error", []any{}},
		{"empty prompt", `{"model":"m/x","prompt":""}`, 400, "validation_error", []any{"prompt"}},
		{"size with resolution", base(`,"size":"1280x720","resolution":"720p"`), 400, "validation_error", []any{"size"}},
		{"size with aspect", base(`,"size":"1280x720","aspect_ratio":"16:9"`), 400, "validation_error", []any{"size"}},
		{"size alone", base(`,"size":"1280x720"`), 202, "", nil},
		{"duration too long", base(`,"duration":121`), 400, "validation_error", []any{"duration"}},
		{"duration fraction", base(`,"duration":1.5`), 400, "validation_error", []any{"duration"}},
		{"bad resolution", base(`,"resolution":"8K"`), 400, "validation_error", []any{"resolution"}},
		{"sample_count zero", base(`,"sample_count":0`), 400, "validation_error", []any{"sample_count"}},
		{"quality 101", base(`,"compression_quality":101`), 400, "validation_error", []any{"compression_quality"}},
		{"audio not bool", base(`,"generate_audio":"yes"`), 400, "validation_error", []any{"generate_audio"}},
		{"bad output access", base(`,"output":{"access":"s3"}`), 400, "validation_error", []any{"output", "access"}},
		{"output extra key", base(`,"output":{"access":"both","x":1}`), 400, "validation_error", []any{"output"}},
		{"reference bad type", base(`,"input_references":[{"type":"video_url","image_url":{"url":"https://e.com"}}]`), 400, "validation_error", []any{"input_references", float64(0), "type"}},
		{"reference bad role", base(`,"input_references":[{"type":"image_url","role":"hero","image_url":{"url":"https://e.com"}}]`), 400, "validation_error", []any{"input_references", float64(0), "role"}},
		{"reference extra key", base(`,"input_references":[{"type":"image_url","image_url":{"url":"https://e.com"},"weight":1}]`), 400, "validation_error", []any{"input_references", float64(0)}},
		{"bad directive", `{"model":"m/x","prompt":"[sim outcome=exploded]"}`, 400, "validation_error", []any{"prompt"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.do("POST", "/v1/videos", tt.body)
			if r.status != tt.wantStatus || r.str("error") != tt.wantError {
				t.Fatalf("got %d %q, want %d %q (%s)", r.status, r.str("error"), tt.wantStatus, tt.wantError, r.raw)
			}
			if tt.wantPath != nil {
				details, _ := r.body["details"].([]any)
				if len(details) == 0 {
					t.Fatalf("no details: %s", r.raw)
				}
				if diff := cmp.Diff(path(details[0], "path"), any(tt.wantPath)); diff != "" {
					t.Errorf("details[0].path (-got +want):\n%s", diff)
				}
			}
			if r.status >= 400 {
				if got := r.body["status_code"]; got != float64(r.status) {
					t.Errorf("status_code = %v, want %d", got, r.status)
				}
				if r.header.Get("Cache-Control") != "no-store" {
					t.Errorf("Cache-Control = %q", r.header.Get("Cache-Control"))
				}
			}
		})
	}
}

func TestWebhookSubscriptionValidation(t *testing.T) {
	h := start(t, Config{})
	tests := []struct {
		hook map[string]any
		ok   bool
	}{
		{map[string]any{"url": "https://hooks.example.com/v?intent=1"}, true},
		{map[string]any{"url": "http://localhost:8080/h"}, true},
		{map[string]any{"url": "http://127.0.0.1:9/h", "secret": "s"}, true},
		{map[string]any{"url": "http://[::1]:9/h"}, true},
		{map[string]any{"url": "http://hooks.example.com/h"}, false},
		{map[string]any{"url": "http://127.0.0.2/h"}, false},
		{map[string]any{"url": "https://localhost/h"}, false},
		{map[string]any{"url": "https://127.0.0.1/h"}, false},
		{map[string]any{"url": "https://10.1.2.3/h"}, false},
		{map[string]any{"url": "https://172.20.0.1/h"}, false},
		{map[string]any{"url": "https://192.168.1.1/h"}, false},
		{map[string]any{"url": "https://169.254.169.254/h"}, false},
		{map[string]any{"url": "https://0.1.2.3/h"}, false},
		{map[string]any{"url": "https://[::1]/h"}, false},
		{map[string]any{"url": "https://[fd00::1]/h"}, false},
		{map[string]any{"url": "https://[fe80::1]/h"}, false},
		{map[string]any{"url": "https://[::ffff:10.0.0.1]/h"}, false},
		{map[string]any{"url": "https://172.32.0.1/h"}, true},
		{map[string]any{"url": "ftp://example.com/h"}, false},
		{map[string]any{"url": ""}, false},
		{map[string]any{"secret": "s"}, false},
		{map[string]any{"url": "https://e.com/h", "secret": ""}, false},
		{map[string]any{"url": "https://e.com/h", "extra": 1}, false},
		{map[string]any{"url": "https://e.com/h", "events": "job.completed"}, false},
		{map[string]any{"url": "https://e.com/h", "events": []any{"batch.completed"}}, false},
		{map[string]any{"url": "https://e.com/h", "events": []any{}}, false},
		{map[string]any{"url": "https://e.com/h", "events": []any{"batch.completed", "completed"}}, true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.hook), func(t *testing.T) {
			r := h.do("POST", "/v1/videos", map[string]any{"model": "m/x", "prompt": "p", "webhook": tt.hook})
			if tt.ok {
				if r.status != 202 {
					t.Fatalf("got %d %s, want 202", r.status, r.raw)
				}
				return
			}
			want := map[string]any{"message": "Invalid video webhook configuration", "path": []any{"webhook"}, "keyword": "custom", "params": map[string]any{}}
			details, _ := r.body["details"].([]any)
			if r.status != 400 || r.str("error") != "validation_error" || len(details) != 1 {
				t.Fatalf("got %d %s, want 400 validation_error with one detail", r.status, r.raw)
			}
			if diff := cmp.Diff(details[0], any(want)); diff != "" {
				t.Errorf("detail (-got +want):\n%s", diff)
			}
		})
	}
}

func TestWebhookEventsNormalised(t *testing.T) {
	h := start(t, Config{})
	tests := []struct {
		events []any
		want   []any
	}{
		{nil, []any{"job.completed", "job.failed", "job.cancelled", "job.expired"}},
		{[]any{"Completed", "canceled", "job.completed", "video.progress", "batch.done", 7}, []any{"job.completed", "job.cancelled", "video.progress"}},
	}
	for _, tt := range tests {
		hook := map[string]any{"url": "https://hooks.example.com/x"}
		if tt.events != nil {
			hook["events"] = tt.events
		}
		id := h.create(map[string]any{"prompt": "p", "webhook": hook})
		r := h.get(id)
		if diff := cmp.Diff(path(r.body, "webhook", "events"), any(tt.want)); diff != "" {
			t.Errorf("events %v (-got +want):\n%s", tt.events, diff)
		}
		if path(r.body, "webhook", "has_secret") != false || strings.Contains(string(r.raw), `"secret"`) {
			t.Errorf("webhook object leaks or misreports the secret: %s", r.raw)
		}
	}
}

func TestCreateResponseShapes(t *testing.T) {
	tests := []struct {
		shape    string
		wantKeys []string
	}{
		{"", []string{"id", "polling_url", "status"}},
		{CreateVideoID, []string{"polling_url", "status", "video_id"}},
		{CreateOpenAI, []string{"completed_at", "created_at", "error", "expires_at", "id", "model", "object", "progress", "prompt", "remixed_from_video_id", "seconds", "size", "status"}},
	}
	for _, tt := range tests {
		t.Run(tt.shape, func(t *testing.T) {
			h := start(t, Config{Settings: Settings{CreateResponse: tt.shape}})
			r := h.do("POST", "/v1/videos", map[string]any{"model": "openai/sora-2", "prompt": "p", "duration": 8})
			var keys []string
			for k := range r.body {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			if r.status != 202 {
				t.Fatalf("status %d", r.status)
			}
			if diff := cmp.Diff(keys, tt.wantKeys); diff != "" {
				t.Errorf("keys (-got +want):\n%s", diff)
			}
			id := r.str("id") + r.str("video_id")
			if !strings.HasPrefix(id, "G-") || len(id) != 28 {
				t.Errorf("id %q is not G-<26-char ULID>", id)
			}
			if tt.shape == "" && (r.str("status") != "pending" || r.str("polling_url") != "/v1/videos/"+id) {
				t.Errorf("slim body = %s", r.raw)
			}
			if tt.shape == CreateOpenAI && (r.str("status") != "queued" || r.body["seconds"] != "8") {
				t.Errorf("openai body = %s", r.raw)
			}
		})
	}
	t.Run(CreateFull, func(t *testing.T) {
		h := start(t, Config{Settings: Settings{CreateResponse: CreateFull}})
		r := h.do("POST", "/v1/videos", map[string]any{"model": "openai/sora-2", "prompt": "p"})
		if r.str("object") != "video" || r.str("provider") != "openai" || r.body["poll_after_seconds"] != float64(20) || r.body["billing"] == nil {
			t.Errorf("full body = %s", r.raw)
		}
	})
}

func TestDuplicateCreateMakesSecondJob(t *testing.T) {
	h := start(t, Config{})
	body := `{"model":"m/x","prompt":"same"}`
	a := h.do("POST", "/v1/videos", body, "Idempotency-Key", "k1")
	b := h.do("POST", "/v1/videos", body, "Idempotency-Key", "k1")
	if a.status != 202 || b.status != 202 || a.str("id") == b.str("id") {
		t.Fatalf("got %d %s and %d %s, want two distinct jobs", a.status, a.str("id"), b.status, b.str("id"))
	}
	if got := len(h.sim.Jobs()); got != 2 {
		t.Errorf("jobs = %d, want 2", got)
	}
	if got := h.sim.Requests()[0].IdempotencyKey; got != "k1" {
		t.Errorf("recorded Idempotency-Key = %q", got)
	}
}

func TestLifecycle(t *testing.T) {
	clk := newClock()
	h := start(t, Config{Now: clk.Now, Sweep: -1})
	id := h.create(map[string]any{"prompt": "[sim queue=10s duration=100s] a cat", "duration": 8, "resolution": "720p"})

	r := h.get(id)
	if r.str("status") != "queued" || r.str("lifecycle_status") != "pending" || r.body["progress"] != float64(0) {
		t.Fatalf("at t0: %s", r.raw)
	}
	if r.body["created_at"] != float64(t0.Unix()) || r.body["completed_at"] != nil || r.body["asset"] != nil {
		t.Errorf("at t0: %s", r.raw)
	}
	if r.body["size"] != "1280x720" || r.body["seconds"] != float64(8) {
		t.Errorf("size/seconds = %v/%v", r.body["size"], r.body["seconds"])
	}
	clk.Advance(60 * time.Second) // 50 s into a 100 s generation
	r = h.get(id)
	if r.str("status") != "processing" || r.str("lifecycle_status") != "running" || r.body["progress"] != float64(50) || r.str("progress_source") != "provider" {
		t.Fatalf("at +60s: %s", r.raw)
	}
	if r.body["started_at"] == nil {
		t.Errorf("started_at unset while processing")
	}
	clk.Advance(60 * time.Second)
	// The alias prefix serves the same job.
	r = h.do("GET", "/v1/video/generations/"+id, nil)
	if r.str("status") != "completed" || r.body["progress"] != float64(100) {
		t.Fatalf("at +120s: %s", r.raw)
	}
	wantAsset := map[string]any{"id": "ast_" + strings.TrimPrefix(id, "G-"), "mime_type": "video/mp4",
		"bytes": float64(len(SampleMP4)), "sha256": nil, "width": nil, "height": nil, "duration_seconds": float64(8)}
	if diff := cmp.Diff(r.body["asset"], any(wantAsset)); diff != "" {
		t.Errorf("asset (-got +want):\n%s", diff)
	}
	if r.str("completed_at") != "2026-06-17T16:02:00.000Z" || r.str("content_url") != h.srv.URL+"/v1/videos/"+id+"/content" {
		t.Errorf("completed_at/content_url: %s", r.raw)
	}
	if r.str("download_url") == "" || r.body["expires_at"] != float64(t0.Unix()+120+900) {
		t.Errorf("download_url/expires_at: %v %v", r.body["download_url"], r.body["expires_at"])
	}
	if path(r.body, "billing", "state") != "settled" || r.body["cancel_url"] != nil {
		t.Errorf("billing/cancel_url: %s", r.raw)
	}
	clk.Advance(time.Hour)
	if r = h.get(id); r.str("status") != "completed" || r.str("completed_at") != "2026-06-17T16:02:00.000Z" {
		t.Errorf("terminal state changed: %s", r.raw)
	}
}

func TestOutcomes(t *testing.T) {
	tests := []struct {
		directive  string
		wantStatus string
		billing    string
	}{
		{"[sim outcome=failed error=content_policy]", "failed", "void"},
		{"[sim outcome=cancelled]", "cancelled", "void"},
		{"[sim outcome=expired]", "expired", "void"},
	}
	for _, tt := range tests {
		t.Run(tt.wantStatus, func(t *testing.T) {
			clk := newClock()
			h := start(t, Config{Now: clk.Now, Sweep: -1})
			id := h.create(map[string]any{"prompt": tt.directive})
			clk.Advance(10 * time.Minute)
			r := h.get(id)
			if r.str("status") != tt.wantStatus || path(r.body, "billing", "state") != tt.billing || r.body["completed_at"] == nil {
				t.Fatalf("got %s", r.raw)
			}
			if tt.wantStatus == "failed" && path(r.body, "error", "message") != "content policy" {
				t.Errorf("error = %v", r.body["error"])
			}
		})
	}
}

func TestSeededOutcomes(t *testing.T) {
	run := func() []string {
		clk := newClock()
		h := start(t, Config{Now: clk.Now, Seed: 42, Sweep: -1, Settings: Settings{Outcomes: map[string]float64{"completed": 1, "failed": 1}}})
		var ids []string
		for range 20 {
			ids = append(ids, h.create(map[string]any{"prompt": "p"}))
		}
		clk.Advance(time.Hour)
		var got []string
		for _, id := range ids {
			got = append(got, h.get(id).str("status"))
		}
		return got
	}
	a, b := run(), run()
	if diff := cmp.Diff(a, b); diff != "" {
		t.Fatalf("same seed, different outcomes (-first +second):\n%s", diff)
	}
	if !slices.Contains(a, "completed") || !slices.Contains(a, "failed") {
		t.Errorf("50/50 weights over 20 jobs gave %v", a)
	}
}

func TestRulesScriptJobs(t *testing.T) {
	clk := newClock()
	h := start(t, Config{Now: clk.Now, Sweep: -1, Settings: Settings{Rules: []Rule{
		{Model: "openai/sora-2", Plan: Plan{Outcome: "failed"}},
		{PromptContains: "slow", Plan: Plan{Duration: durationOf(time.Hour)}},
	}}})
	failed := h.create(map[string]any{"model": "openai/sora-2", "prompt": "p"})
	slow := h.create(map[string]any{"prompt": "slow one"})
	overridden := h.create(map[string]any{"model": "openai/sora-2", "prompt": "[sim outcome=completed]"})
	clk.Advance(10 * time.Minute)
	for id, want := range map[string]string{failed: "failed", slow: "processing", overridden: "completed"} {
		if got := h.get(id).str("status"); got != want {
			t.Errorf("%s: status %s, want %s", id, got, want)
		}
	}
}

func TestSweepFinalisesWithoutPolling(t *testing.T) {
	rc := newReceiver(t, "sec", time.Now)
	h := start(t, Config{TimeScale: 1000, Sweep: 5 * time.Minute})
	id := h.create(map[string]any{"prompt": "[sim queue=1s duration=10s]", "webhook": map[string]any{"url": rc.url(), "secret": "sec"}})
	// 11 s simulated = 11 ms; the sweep (300 ms real) finalises it.
	waitFor(t, "sweep to finalise the job", func() bool {
		snap, _ := h.sim.Job(id)
		return snap.Status == "completed"
	})
	waitFor(t, "terminal webhook", func() bool { return rc.count() == 1 })
	if d := rc.all()[0]; d.p.Type != "video.completed" || !d.valid {
		t.Errorf("delivery %s valid=%v", d.p.Type, d.valid)
	}
	for _, r := range h.sim.Requests() {
		if r.Method == "GET" {
			t.Errorf("unexpected poll %s", r.Path)
		}
	}
}

func TestList(t *testing.T) {
	clk := newClock()
	h := start(t, Config{Now: clk.Now, Sweep: -1})
	a := h.create(map[string]any{"prompt": "[sim duration=10s queue=0s]"})
	b := h.create(map[string]any{"prompt": "[sim duration=1h]"})
	c := h.create(map[string]any{"prompt": "[sim duration=10s queue=0s]"})
	clk.Advance(time.Minute)

	ids := func(r reply) []string {
		var out []string
		for _, d := range r.body["data"].([]any) {
			out = append(out, d.(map[string]any)["id"].(string))
		}
		return out
	}
	r := h.do("GET", "/v1/videos", nil)
	if diff := cmp.Diff(ids(r), []string{c, b, a}); diff != "" {
		t.Errorf("newest first (-got +want):\n%s", diff)
	}
	if r.body["has_more"] != false || r.str("object") != "list" || r.str("first_id") != c || r.str("last_id") != a {
		t.Errorf("list envelope: %s", r.raw)
	}
	// The list is stored state: nothing polled a yet, so it is still queued.
	if got := h.do("GET", "/v1/videos?status=completed", nil); len(ids(got)) != 0 {
		t.Errorf("list live-polled: %v", ids(got))
	}
	h.get(a)
	if got := ids(h.do("GET", "/v1/videos?status=complete,success&status=pending", nil)); !cmp.Equal(got, []string{c, b, a}) {
		t.Errorf("status aliases: %v", got)
	}
	if got := ids(h.do("GET", "/v1/videos?limit=1", nil)); !cmp.Equal(got, []string{c}) {
		t.Errorf("limit=1: %v", got)
	}
	if got := h.do("GET", "/v1/videos?status=bogus", nil); got.status != 400 {
		t.Errorf("bad status filter: %d", got.status)
	}
	if r := h.do("DELETE", "/v1/videos/"+a, nil); r.status != 200 {
		t.Fatalf("delete: %d %s", r.status, r.raw)
	}
	if got := ids(h.do("GET", "/v1/videos", nil)); !cmp.Equal(got, []string{c, b}) {
		t.Errorf("deleted job listed without the tombstone fault: %v", got)
	}
	if err := h.sim.Configure(Settings{Faults: Faults{FaultListTombstones: 1}}); err != nil {
		t.Fatal(err)
	}
	r = h.do("GET", "/v1/videos", nil)
	if got := ids(r); !cmp.Equal(got, []string{c, b, a}) || r.body["has_more"] != false {
		t.Errorf("tombstone fault: %v", got)
	}
	if last := r.body["data"].([]any)[2].(map[string]any); last["deleted"] != true {
		t.Errorf("tombstone not marked: %v", last)
	}
}

func TestDelete(t *testing.T) {
	clk := newClock()
	h := start(t, Config{Now: clk.Now, Sweep: -1})
	id := h.create(map[string]any{"prompt": "[sim duration=10s]"})
	r := h.do("DELETE", "/v1/videos/"+id, nil)
	if r.status != 400 || r.str("reason") != "video_delete_requires_terminal_status" {
		t.Fatalf("delete while queued: %d %s", r.status, r.raw)
	}
	clk.Advance(time.Minute)
	r = h.do("DELETE", "/v1/videos/"+id, nil)
	if diff := cmp.Diff(r.body, map[string]any{"id": id, "object": "video", "deleted": true}); r.status != 200 || diff != "" {
		t.Fatalf("delete: %d (-got +want):\n%s", r.status, diff)
	}
	for _, c := range []struct{ method, path string }{
		{"GET", "/v1/videos/" + id}, {"DELETE", "/v1/videos/" + id}, {"GET", "/v1/videos/" + id + "/content"},
		{"POST", "/v1/videos/" + id + "/download_url"},
	} {
		if r := h.do(c.method, c.path, nil); r.status != 404 || r.str("error") != "not_found" || r.str("reason") != "video_deleted" {
			t.Errorf("%s %s after delete: %d %s", c.method, c.path, r.status, r.raw)
		}
	}
	if r := h.get("G-01JZ8Q3V4X5Y6Z7A8B9C0D1E2F"); r.status != 404 || r.str("reason") != "video_not_found_or_not_owned" {
		t.Errorf("unknown id: %d %s", r.status, r.raw)
	}
}

func TestCancel(t *testing.T) {
	clk := newClock()
	rc := newReceiver(t, "s", clk.Now)
	h := start(t, Config{Now: clk.Now, Sweep: -1})
	hook := map[string]any{"url": rc.url(), "secret": "s"}
	openai := h.create(map[string]any{"model": "openai/sora-2", "prompt": "p", "webhook": hook})
	google := h.create(map[string]any{"model": "google/veo-3.1", "prompt": "p"})
	done := h.create(map[string]any{"model": "runway/gen-4-turbo", "prompt": "[sim duration=1s queue=0s]"})

	if r := h.get(openai); r.str("cancel_url") != h.srv.URL+"/v1/videos/"+openai+"/cancel" {
		t.Errorf("openai cancel_url = %v", r.body["cancel_url"])
	}
	if r := h.get(google); r.body["cancel_url"] != nil {
		t.Errorf("google cancel_url = %v", r.body["cancel_url"])
	}
	r := h.do("POST", "/v1/videos/"+openai+"/cancel", nil)
	if r.status != 200 || r.str("status") != "cancelled" || r.body["cancel_url"] != nil {
		t.Fatalf("cancel: %d %s", r.status, r.raw)
	}
	if r := h.do("POST", "/v1/videos/"+openai+"/cancel", nil); r.status != 200 || r.str("status") != "cancelled" {
		t.Errorf("repeat cancel: %d %s", r.status, r.raw)
	}
	waitFor(t, "cancelled webhook", func() bool { return rc.count() == 1 })
	if got := rc.all()[0].p.Type; got != "video.cancelled" {
		t.Errorf("webhook type %s", got)
	}
	if r := h.do("POST", "/v1/videos/"+google+"/cancel", nil); r.status != 501 || r.str("error") != "not_implemented_yet" || r.str("reason") != "video_cancel_provider_not_supported" {
		t.Errorf("unsupported provider: %d %s", r.status, r.raw)
	}
	clk.Advance(time.Minute)
	if r := h.do("POST", "/v1/videos/"+done+"/cancel", nil); r.status != 400 || r.str("reason") != "video_cancel_requires_non_terminal_status" {
		t.Errorf("cancel completed: %d %s", r.status, r.raw)
	}
	if r := h.do("GET", "/v1/videos/"+openai+"/content", nil); r.status != 409 || r.str("reason") != "video_cancelled" {
		t.Errorf("content of cancelled: %d %s", r.status, r.raw)
	}
}

func TestFeatureOff(t *testing.T) {
	h := start(t, Config{Settings: Settings{Disabled: true}})
	for _, c := range []struct{ method, path string }{
		{"POST", "/v1/videos"}, {"GET", "/v1/videos"}, {"GET", "/v1/videos/models"}, {"GET", "/v1/videos/G-x"},
		{"DELETE", "/v1/videos/G-x"}, {"GET", "/v1/videos/G-x/content"}, {"POST", "/v1/videos/G-x/download_url"},
		{"POST", "/v1/videos/G-x/cancel"}, {"GET", "/v1/video/generations"},
	} {
		r := h.do(c.method, c.path, `{}`)
		if r.status != 501 || r.str("error") != "not_implemented_yet" || r.str("reason") != "video_api_temporarily_disabled" {
			t.Errorf("%s %s: %d %s", c.method, c.path, r.status, r.raw)
		}
	}
	h.sim.SetDisabled(false)
	if r := h.do("GET", "/v1/videos", nil); r.status != 200 {
		t.Errorf("after switching back on: %d", r.status)
	}
}

func TestVocabularySwitches(t *testing.T) {
	tests := []struct {
		name       string
		settings   Settings
		wantStatus string
		wantCreate any
		wantProg   any
	}{
		{"canonical", Settings{}, "processing", float64(t0.Unix()), float64(50)},
		{"legacy", Settings{StatusWords: "legacy"}, "in_progress", float64(t0.Unix()), float64(50)},
		{"iso created_at", Settings{CreatedAt: "iso"}, "processing", "2026-06-17T16:00:00.000Z", float64(50)},
		{"db created_at", Settings{CreatedAt: "db"}, "processing", "2026-06-17 16:00:00.000000+00", float64(50)},
		{"null progress", Settings{NullProgress: true}, "processing", float64(t0.Unix()), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock()
			h := start(t, Config{Now: clk.Now, Sweep: -1, Settings: tt.settings})
			id := h.create(map[string]any{"prompt": "[sim queue=0s duration=100s]"})
			clk.Advance(50 * time.Second)
			r := h.get(id)
			if r.str("status") != tt.wantStatus || r.str("lifecycle_status") != "running" {
				t.Errorf("status %q lifecycle %q", r.str("status"), r.str("lifecycle_status"))
			}
			if diff := cmp.Diff(r.body["created_at"], tt.wantCreate); diff != "" {
				t.Errorf("created_at (-got +want):\n%s", diff)
			}
			if diff := cmp.Diff(r.body["progress"], tt.wantProg); diff != "" {
				t.Errorf("progress (-got +want):\n%s", diff)
			}
		})
	}
}

func TestModels(t *testing.T) {
	h := start(t, Config{})
	r := h.do("GET", "/v1/videos/models", nil)
	data, _ := r.body["data"].([]any)
	if r.status != 200 || r.str("object") != "list" || len(data) == 0 {
		t.Fatalf("models: %d %s", r.status, r.raw)
	}
	for _, k := range []string{"model", "name", "status", "input_types", "output_types", "supported_params", "supported_parameters", "providers", "pricing"} {
		if _, ok := data[0].(map[string]any)[k]; !ok {
			t.Errorf("model entry lacks %s", k)
		}
	}
	filtered := h.do("GET", "/v1/videos/models?params=size", nil)
	if got := len(filtered.body["data"].([]any)); got == 0 || got >= len(data) {
		t.Errorf("params filter kept %d of %d", got, len(data))
	}
}

func TestWebSocketRoute(t *testing.T) {
	h := start(t, Config{})
	id := h.create(map[string]any{"prompt": "p"})
	r := h.do("GET", "/v1/async/video/"+id+"/ws", nil)
	if r.status != http.StatusUpgradeRequired || path(r.body, "error", "code") != "websocket_upgrade_required" || r.header.Get("Upgrade") != "websocket" {
		t.Errorf("ws without upgrade: %d %s", r.status, r.raw)
	}
	if r := h.do("GET", "/v1/async/video/G-nope/ws", nil); r.status != 404 || r.str("reason") != "async_job_not_found_or_not_owned" {
		t.Errorf("ws unknown job: %d %s", r.status, r.raw)
	}
}

func durationOf(d time.Duration) *Duration {
	v := Duration(d)
	return &v
}
