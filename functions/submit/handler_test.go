package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
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
	"github.com/videojobs/videojobs/internal/webhook"
)

const masterSecret = "mAsTeR-sEcReT-1f2e3d4c5b6a"

// emfSum adds up a metric's values over the EMF lines written so far.
func emfSum(t *testing.T, emf *bytes.Buffer, name string) float64 {
	t.Helper()
	var sum float64
	for _, line := range strings.Split(strings.TrimSpace(emf.String()), "\n") {
		if line == "" {
			continue
		}
		var doc map[string]any
		if err := json.Unmarshal([]byte(line), &doc); err != nil {
			t.Fatalf("EMF line %q: %v", line, err)
		}
		if v, ok := doc[name].(float64); ok {
			sum += v
		}
	}
	return sum
}

type fixture struct {
	h     *handler
	store *intaketest.Store
	prov  *intaketest.Provider
	wf    *intaketest.Workflow
	logs  *bytes.Buffer
	emf   *bytes.Buffer
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{store: intaketest.NewStore(), prov: &intaketest.Provider{}, wf: &intaketest.Workflow{}, logs: &bytes.Buffer{}, emf: &bytes.Buffer{}}
	svc, err := intake.New(intake.Config{
		Store: f.store, Provider: f.prov, Workflow: f.wf,
		MasterSecret:   func(context.Context) ([]byte, error) { return []byte(masterSecret), nil },
		WebhookBaseURL: "https://abc123.execute-api.us-east-1.amazonaws.com",
		DefaultModel:   "google/veo-3.1-lite",
		ReconcileWaits: []time.Duration{},
	})
	if err != nil {
		t.Fatalf("intake.New: %v", err)
	}
	f.h = &handler{svc: svc, log: slog.New(slog.NewJSONHandler(f.logs, nil)), metrics: metrics.New(f.emf, "submit"), now: time.Now}
	return f
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

type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Field   string `json:"field"`
	} `json:"error"`
}

type okBody struct {
	Job intake.View `json:"job"`
}

func (f *fixture) call(t *testing.T, req events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse {
	t.Helper()
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "req-1"})
	resp, err := f.h.handle(ctx, req)
	if err != nil {
		t.Fatalf("handle returned a Go error: %v", err)
	}
	if ct := resp.Headers["Content-Type"]; !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	return resp
}

func decodeBody[T any](t *testing.T, resp events.APIGatewayV2HTTPResponse) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(resp.Body), &v); err != nil {
		t.Fatalf("response body %s: %v", resp.Body, err)
	}
	return v
}

func TestSubmitOK(t *testing.T) {
	f := newFixture(t)
	resp := f.call(t, loadEvent(t, "submit-ok.json"))
	if resp.StatusCode != 202 {
		t.Fatalf("status = %d, body %s; want 202", resp.StatusCode, resp.Body)
	}
	got := decodeBody[okBody](t, resp).Job
	if !intake.ValidJobID(got.ID) || got.State != job.Queued || got.ProviderJobID == "" || got.Links.Self != "/jobs/"+got.ID {
		t.Errorf("job = %+v, want a queued job with a provider id and a self link", got)
	}
	if resp.Headers["Location"] != "/jobs/"+got.ID {
		t.Errorf("Location = %q", resp.Headers["Location"])
	}
	if c := f.prov.Creates(); len(c) != 1 || c[0].Model != "google/veo-3.1-lite" || c[0].Duration != 8 {
		t.Errorf("creates = %+v, want one with the event's fields", c)
	}
	if got := emfSum(t, f.emf, "JobsSubmitted"); got != 1 {
		t.Errorf("JobsSubmitted = %v, want 1", got)
	}
	var line map[string]any
	if err := json.Unmarshal(bytes.TrimSpace(f.logs.Bytes()), &line); err != nil {
		t.Fatalf("want exactly one JSON log line, got %q: %v", f.logs.String(), err)
	}
	for _, k := range []string{"jobId", "state", "status", "durationMs"} {
		if _, ok := line[k]; !ok {
			t.Errorf("log line %v lacks %s", line, k)
		}
	}
}

func TestSubmitIdempotent(t *testing.T) {
	f := newFixture(t)
	req := loadEvent(t, "submit-idempotent.json")
	first := f.call(t, req)
	again := f.call(t, req)
	if first.StatusCode != 202 || again.StatusCode != 200 {
		t.Fatalf("statuses = %d, %d; want 202 then 200", first.StatusCode, again.StatusCode)
	}
	if a, b := decodeBody[okBody](t, first).Job.ID, decodeBody[okBody](t, again).Job.ID; a != b {
		t.Errorf("job ids = %s, %s; want the same job", a, b)
	}
	other := req
	other.Body = strings.Replace(req.Body, "fox", "wolf", 1)
	resp := f.call(t, other)
	if e := decodeBody[errorBody](t, resp); resp.StatusCode != 409 || e.Error.Code != "idempotency_key_reused" || e.Error.Message == "" {
		t.Errorf("reused key = %d %s, want 409 idempotency_key_reused", resp.StatusCode, resp.Body)
	}
	if n := len(f.prov.Creates()); n != 1 {
		t.Errorf("creates = %d, want 1", n)
	}
	if got := emfSum(t, f.emf, "JobsSubmitted"); got != 1 {
		t.Errorf("JobsSubmitted = %v, want 1 (replays are not submissions)", got)
	}
}

func TestSubmitBadInput(t *testing.T) {
	ok := loadEvent(t, "submit-ok.json")
	with := func(body string) events.APIGatewayV2HTTPRequest { r := ok; r.Body = body; return r }
	tests := []struct {
		name       string
		req        events.APIGatewayV2HTTPRequest
		wantStatus int
		wantCode   string
		wantField  string
	}{
		{name: "bad json event", req: loadEvent(t, "submit-bad-json.json"), wantStatus: 400, wantCode: "invalid_json"},
		{name: "unknown field", req: with(`{"prompt":"p","seconds":"4"}`), wantStatus: 400, wantCode: "unknown_field", wantField: "seconds"},
		{name: "wrong type", req: with(`{"prompt":"p","duration":"eight"}`), wantStatus: 400, wantCode: "invalid_type", wantField: "duration"},
		{name: "duplicate key", req: with(`{"prompt":"p","prompt":"q"}`), wantStatus: 400, wantCode: "duplicate_field", wantField: "prompt"},
		{name: "empty body", req: with(""), wantStatus: 400, wantCode: "body_required"},
		{name: "too large", req: with(`{"prompt":"` + strings.Repeat("p", 70000) + `"}`), wantStatus: 413, wantCode: "body_too_large"},
		{name: "invalid value", req: with(`{"prompt":"p","resolution":"8K"}`), wantStatus: 400, wantCode: "invalid_request", wantField: "resolution"},
		{name: "bad idempotency key", req: func() events.APIGatewayV2HTTPRequest {
			r := loadEvent(t, "submit-idempotent.json")
			r.Headers["idempotency-key"] = "white space"
			return r
		}(), wantStatus: 400, wantCode: "invalid_request", wantField: "Idempotency-Key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			resp := f.call(t, tt.req)
			e := decodeBody[errorBody](t, resp)
			if resp.StatusCode != tt.wantStatus || e.Error.Code != tt.wantCode || e.Error.Field != tt.wantField || e.Error.Message == "" {
				t.Errorf("response = %d %s, want %d %s field %q", resp.StatusCode, resp.Body, tt.wantStatus, tt.wantCode, tt.wantField)
			}
			if items := f.store.Items(); len(items) != 0 {
				t.Errorf("store holds %v, want nothing written", items)
			}
			if len(f.prov.Creates()) != 0 {
				t.Error("a bad request reached the provider")
			}
		})
	}
}

func TestSubmitBase64Body(t *testing.T) {
	f := newFixture(t)
	req := loadEvent(t, "submit-ok.json")
	req.Body, req.IsBase64Encoded = base64.StdEncoding.EncodeToString([]byte(req.Body)), true
	if resp := f.call(t, req); resp.StatusCode != 202 {
		t.Errorf("status = %d %s, want 202", resp.StatusCode, resp.Body)
	}
}

func TestSubmitProviderOutcomes(t *testing.T) {
	tests := []struct {
		name       string
		createErr  error
		wantStatus int
		wantCode   string
		wantField  string
		wantState  job.State
	}{
		{name: "validation", createErr: &aistats.APIError{HTTPStatus: 400, Code: "validation_error", Details: []aistats.ValidationDetail{{Message: "unsupported duration", Path: []string{"duration"}}}},
			wantStatus: 422, wantCode: "provider_validation_error", wantField: "duration", wantState: job.Rejected},
		{name: "funds", createErr: &aistats.APIError{HTTPStatus: 402, Code: "insufficient_funds"}, wantStatus: 402, wantCode: "insufficient_funds", wantState: job.Rejected},
		{name: "guardrail", createErr: &aistats.APIError{HTTPStatus: 403, Code: "guardrail_blocked"}, wantStatus: 403, wantCode: "provider_refused", wantState: job.Rejected},
		{name: "our key revoked", createErr: &aistats.APIError{HTTPStatus: 401, Code: "unauthorised", Reason: "key_not_found_or_revoked"}, wantStatus: 502, wantCode: "provider_unavailable", wantState: job.Rejected},
		{name: "feature off", createErr: &aistats.APIError{HTTPStatus: 501, Code: "not_implemented_yet"}, wantStatus: 502, wantCode: "provider_unavailable", wantState: job.Rejected},
		{name: "nothing sent", createErr: errors.New("dial tcp 10.0.0.1:443: connect: connection refused"), wantStatus: 502, wantCode: "provider_unavailable", wantState: job.Accepted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.prov.CreateFunc = func(int, aistats.CreateRequest) (bool, error) {
				return false, fmt.Errorf("create video: %w", tt.createErr)
			}
			resp := f.call(t, loadEvent(t, "submit-idempotent.json"))
			e := decodeBody[errorBody](t, resp)
			if resp.StatusCode != tt.wantStatus || e.Error.Code != tt.wantCode || e.Error.Field != tt.wantField {
				t.Errorf("response = %d %s, want %d %s field %q", resp.StatusCode, resp.Body, tt.wantStatus, tt.wantCode, tt.wantField)
			}
			if resp.StatusCode >= 500 && (strings.Contains(resp.Body, "dial") || strings.Contains(resp.Body, "unauthorised") || strings.Contains(resp.Body, "revoked")) {
				t.Errorf("5xx body leaks internal detail: %s", resp.Body)
			}
			if jobs := f.store.Jobs(); len(jobs) != 1 || jobs[0].State != tt.wantState {
				t.Errorf("stored jobs = %d, want one in %s", len(jobs), tt.wantState)
			}
		})
	}
}

func TestSubmitInternalErrorSaysNothing(t *testing.T) {
	f := newFixture(t)
	f.store.ClaimErr = errors.New("dynamodb: ProvisionedThroughputExceededException table videojobs-prod")
	resp := f.call(t, loadEvent(t, "submit-idempotent.json"))
	if resp.StatusCode != 500 || strings.Contains(resp.Body, "dynamodb") || strings.Contains(resp.Body, "videojobs-prod") {
		t.Errorf("response = %d %s, want a bare 500", resp.StatusCode, resp.Body)
	}
	if !strings.Contains(f.logs.String(), "ProvisionedThroughputExceededException") {
		t.Error("the cause is not in the log line")
	}
}

// TestSecretsNeverLogged runs every outcome and checks that neither the
// master secret, the derived per-job secret nor the caller's request
// signature appears in any log line.
func TestSecretsNeverLogged(t *testing.T) {
	f := newFixture(t)
	var secretsSeen []string
	f.prov.CreateFunc = func(n int, r aistats.CreateRequest) (bool, error) {
		secretsSeen = append(secretsSeen, r.Webhook.Secret)
		switch n {
		case 1:
			return true, nil
		case 2:
			return false, &aistats.APIError{HTTPStatus: 400, Code: "validation_error", Message: "bad webhook " + r.Webhook.String()}
		default:
			return true, fmt.Errorf("create video: %w", aistats.ErrAmbiguousCreate)
		}
	}
	req := loadEvent(t, "submit-ok.json")
	for range 3 {
		f.call(t, req)
	}
	f.call(t, loadEvent(t, "submit-bad-json.json"))
	if len(secretsSeen) != 3 {
		t.Fatalf("creates = %d, want 3", len(secretsSeen))
	}
	logs := f.logs.String() + f.emf.String()
	if strings.Count(logs, "\n") < 4 {
		t.Fatalf("want a log line per invocation, got %q", logs)
	}
	forbidden := append([]string{masterSecret, req.Headers["authorization"], "Signature="}, secretsSeen...)
	for _, j := range f.store.Jobs() {
		forbidden = append(forbidden, webhook.DeriveSecret([]byte(masterSecret), j.ID))
	}
	for _, s := range forbidden {
		if s != "" && strings.Contains(logs, s) {
			t.Errorf("logs contain a secret (%.12s…)", s)
		}
	}
}
