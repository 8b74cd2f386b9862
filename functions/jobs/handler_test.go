package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/videojobs/videojobs/internal/aistats"
	"github.com/videojobs/videojobs/internal/intake"
	"github.com/videojobs/videojobs/internal/intake/intaketest"
	"github.com/videojobs/videojobs/internal/job"
	"github.com/videojobs/videojobs/internal/metrics"
)

// eventJobID is the job the sample events name.
const eventJobID = "vj_01jz8q3v4x5y6z7a8b9c0d1e2f"

type fixture struct {
	h     *handler
	store *intaketest.Store
	prov  *intaketest.Provider
	logs  *bytes.Buffer
	emf   *bytes.Buffer
	now   time.Time
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{store: intaketest.NewStore(), prov: &intaketest.Provider{}, logs: &bytes.Buffer{}, now: time.Date(2026, 6, 17, 16, 0, 0, 0, time.UTC)}
	svc, err := intake.New(intake.Config{
		Store: f.store, Provider: f.prov, Presigner: &intaketest.Presigner{},
		Bucket: "videojobs-videos", DownloadTTL: 5 * time.Minute,
		Now: func() time.Time { return f.now },
	})
	if err != nil {
		t.Fatalf("intake.New: %v", err)
	}
	f.emf = &bytes.Buffer{}
	f.h = &handler{svc: svc, log: slog.New(slog.NewJSONHandler(f.logs, nil)), metrics: metrics.New(f.emf, "jobs"), now: time.Now}
	return f
}

func (f *fixture) put(state job.State, mut func(*job.Job)) *job.Job {
	j := &job.Job{
		ID: eventJobID, State: state, Model: "google/veo-3.1-lite", ProviderJobID: "G-01JZ8Q3V4X5Y6Z7A8B9C0D1E2F",
		CreatedAt: f.now, UpdatedAt: f.now, TaskToken: "AQCEAAAAKgAAAA-task-token-secret",
		History: []job.Change{{From: job.Accepted, To: job.Queued, Source: job.SourceAPI, At: f.now}},
	}
	if mut != nil {
		mut(j)
	}
	f.store.Put(j)
	return j
}

func loadEvent(t *testing.T, name string) events.APIGatewayV2HTTPRequest {
	t.Helper()
	b, err := os.ReadFile("../../events/" + name)
	if err != nil {
		t.Fatalf("read event: %v", err)
	}
	var req events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(b, &req); err != nil {
		t.Fatalf("decode event %s: %v", name, err)
	}
	return req
}

func (f *fixture) call(t *testing.T, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, map[string]any) {
	t.Helper()
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "req-1"})
	resp, err := f.h.handle(ctx, req)
	if err != nil {
		t.Fatalf("handle returned a Go error: %v", err)
	}
	if ct := resp.Headers["Content-Type"]; !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	var body map[string]any
	if err := json.Unmarshal([]byte(resp.Body), &body); err != nil {
		t.Fatalf("body %s: %v", resp.Body, err)
	}
	return resp, body
}

// field walks a decoded JSON body by keys.
func field(body map[string]any, path ...string) any {
	var cur any = body
	for _, p := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[p]
	}
	return cur
}

func TestGetJob(t *testing.T) {
	f := newFixture(t)
	f.put(job.Processing, func(j *job.Job) {
		j.Progress = 40
		j.Deliveries = job.Deliveries{Received: 3, Duplicates: 1, Gateway: job.GatewayDelivery{TotalAttempts: 4, LastResponseStatus: 200}}
	})
	resp, body := f.call(t, loadEvent(t, "jobs-get.json"))
	if resp.StatusCode != 200 {
		t.Fatalf("status = %d %s", resp.StatusCode, resp.Body)
	}
	for _, c := range []struct {
		path []string
		want any
	}{
		{[]string{"job", "id"}, eventJobID},
		{[]string{"job", "state"}, "processing"},
		{[]string{"job", "providerJobId"}, "G-01JZ8Q3V4X5Y6Z7A8B9C0D1E2F"},
		{[]string{"job", "progress"}, 40.0},
		{[]string{"job", "deliveries", "received"}, 3.0},
		{[]string{"job", "deliveries", "gateway", "totalAttempts"}, 4.0},
		{[]string{"job", "links", "self"}, "/jobs/" + eventJobID},
	} {
		if got := field(body, c.path...); got != c.want {
			t.Errorf("%s = %v, want %v", strings.Join(c.path, "."), got, c.want)
		}
	}
	if strings.Contains(resp.Body, "task-token") || strings.Contains(resp.Body, "taskToken") {
		t.Errorf("response leaks the task token: %s", resp.Body)
	}
	if h, ok := field(body, "job", "history").([]any); !ok || len(h) != 1 {
		t.Errorf("history = %v, want one change", field(body, "job", "history"))
	}
}

func TestGetJobNotFound(t *testing.T) {
	f := newFixture(t)
	for _, id := range []string{eventJobID, "not-a-job-id"} {
		req := loadEvent(t, "jobs-get.json")
		req.RawPath, req.PathParameters["id"] = "/jobs/"+id, id
		resp, body := f.call(t, req)
		if resp.StatusCode != 404 || field(body, "error", "code") != "not_found" {
			t.Errorf("GET /jobs/%s = %d %s, want 404 not_found", id, resp.StatusCode, resp.Body)
		}
	}
}

func TestListJobs(t *testing.T) {
	f := newFixture(t)
	for i := range 12 {
		f.store.Put(&job.Job{ID: intake.NewJobID(), State: job.Queued, UpdatedAt: f.now.Add(time.Duration(i) * time.Second)})
	}
	req := loadEvent(t, "jobs-list.json")
	resp, body := f.call(t, req)
	jobs, _ := field(body, "jobs").([]any)
	cursor, _ := field(body, "nextCursor").(string)
	if resp.StatusCode != 200 || len(jobs) != 10 || cursor == "" {
		t.Fatalf("page 1 = %d, %d jobs, cursor %q; want 200, 10, a cursor", resp.StatusCode, len(jobs), cursor)
	}
	req.QueryStringParameters["cursor"] = cursor
	_, body = f.call(t, req)
	if jobs, _ := field(body, "jobs").([]any); len(jobs) != 2 || field(body, "nextCursor") != nil {
		t.Errorf("page 2 = %v, want 2 jobs and no cursor", body)
	}

	bad := []struct {
		name, key, value, wantField string
	}{
		{"unknown state", "state", "finished", "state"},
		{"limit too high", "limit", "1000", "limit"},
		{"limit not a number", "limit", "ten", "limit"},
		{"forged cursor", "cursor", "c999", "cursor"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			r := loadEvent(t, "jobs-list.json")
			r.QueryStringParameters[tt.key] = tt.value
			resp, body := f.call(t, r)
			if resp.StatusCode != 400 || field(body, "error", "field") != tt.wantField {
				t.Errorf("response = %d %s, want 400 on %s", resp.StatusCode, resp.Body, tt.wantField)
			}
		})
	}
}

func TestDownloadURL(t *testing.T) {
	f := newFixture(t)
	f.put(job.Stored, func(j *job.Job) {
		j.Output = &job.Output{Bucket: "videojobs-videos", Key: "videos/" + eventJobID + "/0.mp4", Size: 1024, SHA256: "ab"}
	})
	resp, body := f.call(t, loadEvent(t, "jobs-download-url.json"))
	want := fmt.Sprintf("https://videojobs-videos.s3.test/videos/%s/0.mp4?ttl=300", eventJobID)
	if resp.StatusCode != 200 || field(body, "url") != want || field(body, "expiresAt") != "2026-06-17T16:05:00Z" {
		t.Errorf("response = %d %s, want 200 with %s expiring 16:05", resp.StatusCode, resp.Body, want)
	}

	f2 := newFixture(t)
	f2.put(job.Processing, nil)
	resp, body = f2.call(t, loadEvent(t, "jobs-download-url.json"))
	if resp.StatusCode != 409 || field(body, "error", "code") != "not_stored" {
		t.Errorf("not stored = %d %s, want 409 not_stored", resp.StatusCode, resp.Body)
	}
}

func TestCancel(t *testing.T) {
	tests := []struct {
		name       string
		canCancel  bool
		cancelErr  error
		body       string
		wantStatus int
		wantCode   string
		wantState  job.State
	}{
		{name: "cancelled", canCancel: true, wantStatus: 200, wantState: job.Cancelled},
		{name: "empty object body", canCancel: true, body: `{}`, wantStatus: 200, wantState: job.Cancelled},
		{name: "no cancel_url", wantStatus: 409, wantCode: "cancel_not_supported", wantState: job.Queued},
		{name: "provider 501", canCancel: true, cancelErr: &aistats.APIError{HTTPStatus: 501, Code: "not_implemented_yet"}, wantStatus: 409, wantCode: "cancel_not_supported", wantState: job.Queued},
		{name: "provider down", canCancel: true, cancelErr: &aistats.APIError{HTTPStatus: 503, Code: "gateway_error"}, wantStatus: 502, wantCode: "provider_unavailable", wantState: job.Queued},
		{name: "unexpected body", canCancel: true, body: `{"reason":"x"}`, wantStatus: 400, wantCode: "unknown_field", wantState: job.Queued},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			j := f.put(job.Queued, func(j *job.Job) { j.CanCancel = tt.canCancel })
			f.prov.Add(aistats.Video{ID: j.ProviderJobID, Status: aistats.StatusQueued, CancelURL: map[bool]string{true: "https://gw.test/cancel"}[tt.canCancel]})
			f.prov.CancelErr = tt.cancelErr
			req := loadEvent(t, "jobs-cancel.json")
			req.Body = tt.body
			resp, body := f.call(t, req)
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("status = %d %s, want %d", resp.StatusCode, resp.Body, tt.wantStatus)
			}
			if tt.wantCode != "" && field(body, "error", "code") != tt.wantCode {
				t.Errorf("code = %v, want %s", field(body, "error", "code"), tt.wantCode)
			}
			if got := f.store.Job(eventJobID).State; got != tt.wantState {
				t.Errorf("stored state = %s, want %s", got, tt.wantState)
			}
			if cancelled := strings.Contains(f.emf.String(), `"JobsFailed":1`); cancelled != (tt.wantState == job.Cancelled) {
				t.Errorf("JobsFailed recorded = %v, want %v; EMF %s", cancelled, tt.wantState == job.Cancelled, f.emf.String())
			}
			if resp.StatusCode >= 500 && strings.Contains(resp.Body, "gateway_error") {
				t.Errorf("5xx body leaks detail: %s", resp.Body)
			}
		})
	}
}

func TestRouting(t *testing.T) {
	f := newFixture(t)
	f.put(job.Queued, nil)
	tests := []struct {
		name, method, path, stage string
		wantStatus                int
	}{
		{"wrong method", "DELETE", "/jobs/" + eventJobID, "", 405},
		{"cancel via get", "GET", "/jobs/" + eventJobID + "/cancel", "", 405},
		{"unknown route", "GET", "/jobs/" + eventJobID + "/frames", "", 404},
		{"other root", "GET", "/users", "", 404},
		{"named stage", "GET", "/prod/jobs/" + eventJobID, "prod", 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := loadEvent(t, "jobs-get.json")
			req.RawPath, req.RequestContext.HTTP.Method, req.RequestContext.Stage = tt.path, tt.method, tt.stage
			resp, _ := f.call(t, req)
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("status = %d %s, want %d", resp.StatusCode, resp.Body, tt.wantStatus)
			}
		})
	}
}

func TestOneLogLinePerInvocation(t *testing.T) {
	f := newFixture(t)
	f.put(job.Queued, nil)
	f.call(t, loadEvent(t, "jobs-get.json"))
	lines := strings.Split(strings.TrimSpace(f.logs.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("log lines = %d, want 1: %q", len(lines), f.logs.String())
	}
	var line map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &line); err != nil {
		t.Fatalf("log line is not JSON: %v", err)
	}
	if line["jobId"] != eventJobID || line["status"] != 200.0 || line["state"] != "queued" || line["durationMs"] == nil {
		t.Errorf("log line = %v, want jobId, state, status and durationMs", line)
	}
	if strings.Contains(f.logs.String(), "task-token") {
		t.Error("the task token reached the log")
	}
}
