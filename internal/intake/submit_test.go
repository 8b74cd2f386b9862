package intake_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/videojobs/videojobs/internal/aistats"
	"github.com/videojobs/videojobs/internal/httpapi"
	"github.com/videojobs/videojobs/internal/intake"
	"github.com/videojobs/videojobs/internal/intake/intaketest"
	"github.com/videojobs/videojobs/internal/job"
	"github.com/videojobs/videojobs/internal/webhook"
)

var master = []byte("test-master-secret-current")

type env struct {
	store  *intaketest.Store
	prov   *intaketest.Provider
	wf     *intaketest.Workflow
	svc    *intake.Service
	sleeps []time.Duration
	now    time.Time
}

func newEnv(t *testing.T, opts ...func(*intake.Config)) *env {
	t.Helper()
	e := &env{
		store: intaketest.NewStore(),
		prov:  &intaketest.Provider{},
		wf:    &intaketest.Workflow{},
		now:   time.Date(2026, 6, 17, 16, 0, 0, 0, time.UTC),
	}
	cfg := intake.Config{
		Store:          e.store,
		Provider:       e.prov,
		Workflow:       e.wf,
		Presigner:      &intaketest.Presigner{},
		MasterSecret:   func(context.Context) ([]byte, error) { return master, nil },
		WebhookBaseURL: "https://api.example.com/",
		DefaultModel:   "google/veo-3.1-lite",
		Now:            func() time.Time { return e.now },
		Sleep: func(_ context.Context, d time.Duration) error {
			e.sleeps = append(e.sleeps, d)
			return nil
		},
	}
	for _, o := range opts {
		o(&cfg)
	}
	svc, err := intake.New(cfg)
	if err != nil {
		t.Fatalf("intake.New: %v", err)
	}
	e.svc = svc
	return e
}

// decode parses a request body the way the handler does.
func decode(t *testing.T, body string) *intake.SubmitRequest {
	t.Helper()
	var r intake.SubmitRequest
	if err := httpapi.Decode([]byte(body), &r); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	return &r
}

func ambiguous(err error) error {
	return fmt.Errorf("create video: %w: %w", aistats.ErrAmbiguousCreate, err)
}

const okBody = `{"prompt":"a red fox running through snow","duration":8,"resolution":"720p","aspect_ratio":"16:9","generate_audio":true}`

func TestSubmitCreatesOneProviderJob(t *testing.T) {
	e := newEnv(t)
	sub, err := e.svc.Submit(context.Background(), decode(t, okBody), "")
	if err != nil {
		t.Fatalf("Submit: %v", err)
	}
	j := sub.Job
	if j.State != job.Queued || j.ProviderJobID == "" || sub.Replayed || sub.Unconfirmed {
		t.Fatalf("job = state %s provider %q replayed %v unconfirmed %v, want queued with provider id", j.State, j.ProviderJobID, sub.Replayed, sub.Unconfirmed)
	}
	if !intake.ValidJobID(j.ID) {
		t.Errorf("job id %q is not a valid job id", j.ID)
	}
	creates := e.prov.Creates()
	if len(creates) != 1 {
		t.Fatalf("creates = %d, want 1", len(creates))
	}
	c := creates[0]
	wantURL := "https://api.example.com/webhooks/ai-stats?job=" + j.ID
	if c.Webhook == nil || c.Webhook.URL != wantURL {
		t.Fatalf("webhook = %v, want url %s", c.Webhook, wantURL)
	}
	if got, want := c.Webhook.Secret, webhook.DeriveSecret(master, j.ID); got != want {
		t.Errorf("webhook secret is not the per-job derived secret")
	}
	if !strings.Contains(strings.Join(c.Webhook.Events, ","), "job.progress") || !strings.Contains(strings.Join(c.Webhook.Events, ","), "job.completed") {
		t.Errorf("webhook events = %v, want progress and terminal events", c.Webhook.Events)
	}
	if c.Model != "google/veo-3.1-lite" || c.Prompt != "a red fox running through snow" || c.Duration != 8 || c.Resolution != "720p" || c.AspectRatio != "16:9" || c.GenerateAudio == nil || !*c.GenerateAudio {
		t.Errorf("create request = %+v, want the submitted fields with the default model", c)
	}
	stored := e.store.Job(j.ID)
	if stored.SubmittedAt.IsZero() || stored.ProviderJobID != j.ProviderJobID || stored.WebhookURL != wantURL {
		t.Errorf("stored job = submittedAt %v provider %q webhook %q", stored.SubmittedAt, stored.ProviderJobID, stored.WebhookURL)
	}
	if got, want := stored.History, []job.Change{{From: job.Accepted, To: job.Queued, Source: job.SourceAPI, At: e.now, Reason: "created"}}; !cmp.Equal(got, want) {
		t.Errorf("history = %+v, want %+v", got, want)
	}
	// The workflow starts before the create is sent, with the job accepted.
	wantInput := fmt.Sprintf(`{"jobId":%q,"poll":{"state":"accepted","waitSeconds":20}}`, j.ID)
	if diff := cmp.Diff(e.wf.Executions(), map[string]string{j.ID: wantInput}); diff != "" {
		t.Errorf("executions (-got +want):\n%s", diff)
	}
}

func TestSubmitBadInputWritesNothing(t *testing.T) {
	tests := []struct {
		name, body, key, wantField string
	}{
		{name: "blank prompt", body: `{"prompt":"   "}`, wantField: "prompt"},
		{name: "missing prompt", body: `{"model":"openai/sora-2"}`, wantField: "prompt"},
		{name: "duration too long", body: `{"prompt":"p","duration":121}`, wantField: "duration"},
		{name: "duration zero", body: `{"prompt":"p","duration":0}`, wantField: "duration"},
		{name: "size with resolution", body: `{"prompt":"p","size":"1280x720","resolution":"720p"}`, wantField: "size"},
		{name: "bad size", body: `{"prompt":"p","size":"big"}`, wantField: "size"},
		{name: "bad resolution", body: `{"prompt":"p","resolution":"8K"}`, wantField: "resolution"},
		{name: "bad aspect ratio", body: `{"prompt":"p","aspect_ratio":"wide"}`, wantField: "aspect_ratio"},
		{name: "bad model", body: `{"prompt":"p","model":"no spaces allowed"}`, wantField: "model"},
		{name: "sample count", body: `{"prompt":"p","sample_count":0}`, wantField: "sample_count"},
		{name: "compression quality", body: `{"prompt":"p","compression_quality":101}`, wantField: "compression_quality"},
		{name: "reference type", body: `{"prompt":"p","input_references":[{"type":"video_url","image_url":{"url":"https://x.test/a.png"}}]}`, wantField: "input_references[0].type"},
		{name: "reference role", body: `{"prompt":"p","input_references":[{"image_url":{"url":"https://x.test/a.png"}},{"role":"hero","image_url":{"url":"https://x.test/b.png"}}]}`, wantField: "input_references[1].role"},
		{name: "reference url", body: `{"prompt":"p","input_references":[{"image_url":{"url":"ftp://x"}}]}`, wantField: "input_references[0].image_url.url"},
		{name: "output access", body: `{"prompt":"p","output":{"access":"all"}}`, wantField: "output.access"},
		{name: "prompt too long", body: `{"prompt":"` + strings.Repeat("x", intake.MaxPromptRunes+1) + `"}`, wantField: "prompt"},
		{name: "idempotency key charset", body: okBody, key: "has space", wantField: "Idempotency-Key"},
		{name: "idempotency key length", body: okBody, key: strings.Repeat("k", intake.MaxIdempotencyKeyLength+1), wantField: "Idempotency-Key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			_, err := e.svc.Submit(context.Background(), decode(t, tt.body), tt.key)
			var fe *intake.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("Submit error = %v, want *FieldError", err)
			}
			if fe.Field != tt.wantField || fe.Message == "" {
				t.Errorf("field error = %q %q, want field %q with a message", fe.Field, fe.Message, tt.wantField)
			}
			if items := e.store.Items(); len(items) != 0 || e.store.Writes() != 0 {
				t.Errorf("store items = %v (writes %d), want nothing written", items, e.store.Writes())
			}
			if n := len(e.prov.Creates()); n != 0 {
				t.Errorf("creates = %d, want 0", n)
			}
			if n := len(e.wf.Executions()); n != 0 {
				t.Errorf("executions = %d, want 0", n)
			}
		})
	}
}

func TestSubmitNoModelConfigured(t *testing.T) {
	e := newEnv(t, func(c *intake.Config) { c.DefaultModel = "" })
	_, err := e.svc.Submit(context.Background(), decode(t, `{"prompt":"p"}`), "")
	var fe *intake.FieldError
	if !errors.As(err, &fe) || fe.Field != "model" {
		t.Fatalf("Submit error = %v, want field error on model", err)
	}
	if e.store.Writes() != 0 {
		t.Errorf("writes = %d, want 0", e.store.Writes())
	}
}

func TestSubmitSecretOutageWritesNothing(t *testing.T) {
	e := newEnv(t, func(c *intake.Config) {
		c.MasterSecret = func(context.Context) ([]byte, error) { return nil, errors.New("secrets manager down") }
	})
	if _, err := e.svc.Submit(context.Background(), decode(t, okBody), "key-1"); err == nil {
		t.Fatal("Submit succeeded without a master secret")
	}
	if e.store.Writes() != 0 || len(e.prov.Creates()) != 0 {
		t.Errorf("writes = %d, creates = %d, want 0 and 0", e.store.Writes(), len(e.prov.Creates()))
	}
}

func TestSubmitIdempotencyKey(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	first, err := e.svc.Submit(ctx, decode(t, okBody), "order-42")
	if err != nil {
		t.Fatalf("first Submit: %v", err)
	}
	// The same request with other key order and whitespace is the same
	// request.
	same := `{ "generate_audio": true, "aspect_ratio": "16:9", "resolution": "720p", "duration": 8, "prompt": "a red fox running through snow" }`
	again, err := e.svc.Submit(ctx, decode(t, same), "order-42")
	if err != nil {
		t.Fatalf("repeated Submit: %v", err)
	}
	if again.Job.ID != first.Job.ID || !again.Replayed || first.Replayed {
		t.Errorf("repeat = job %s replayed %v, want job %s replayed", again.Job.ID, again.Replayed, first.Job.ID)
	}
	if again.Job.ProviderJobID != first.Job.ProviderJobID || again.Job.State != job.Queued {
		t.Errorf("repeat job = %s/%s, want the first job's provider id %s, queued", again.Job.ProviderJobID, again.Job.State, first.Job.ProviderJobID)
	}

	_, err = e.svc.Submit(ctx, decode(t, `{"prompt":"a blue fox"}`), "order-42")
	if !errors.Is(err, intake.ErrIdempotencyKeyReused) {
		t.Errorf("other body, same key: error = %v, want ErrIdempotencyKeyReused", err)
	}
	if n := len(e.prov.Creates()); n != 1 {
		t.Errorf("creates = %d, want 1", n)
	}
	if n := len(e.store.Jobs()); n != 1 {
		t.Errorf("jobs = %d, want 1", n)
	}
	if n := len(e.wf.Executions()); n != 1 {
		t.Errorf("executions = %d, want 1", n)
	}

	other, err := e.svc.Submit(ctx, decode(t, okBody), "order-43")
	if err != nil || other.Job.ID == first.Job.ID {
		t.Errorf("another key: job %v err %v, want a new job", other, err)
	}
}

func TestSubmitConcurrentRetriesMakeOneProviderJob(t *testing.T) {
	e := newEnv(t, func(c *intake.Config) { c.ReconcileWaits = []time.Duration{} })
	const n = 8
	ids := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			sub, err := e.svc.Submit(context.Background(), decode(t, okBody), "same-key")
			if err != nil {
				t.Errorf("Submit %d: %v", i, err)
				return
			}
			ids[i] = sub.Job.ID
		})
	}
	wg.Wait()
	for i := 1; i < n; i++ {
		if ids[i] != ids[0] {
			t.Errorf("request %d got job %s, request 0 got %s", i, ids[i], ids[0])
		}
	}
	if got := len(e.prov.Creates()); got != 1 {
		t.Errorf("creates = %d, want 1", got)
	}
}

func TestSubmitAmbiguousCreateReconciled(t *testing.T) {
	e := newEnv(t)
	e.prov.CreateFunc = func(int, aistats.CreateRequest) (bool, error) {
		return true, ambiguous(errors.New("http 502 upstream_error"))
	}
	e.prov.HiddenFinds = 2 // the gateway lists the job on the third look
	sub, err := e.svc.Submit(context.Background(), decode(t, okBody), "k1")
	if err != nil {
		t.Fatalf("Submit: %v", err)
	}
	made := e.prov.Made()
	if len(made) != 1 || len(e.prov.Creates()) != 1 {
		t.Fatalf("made %d jobs from %d creates, want 1 from 1", len(made), len(e.prov.Creates()))
	}
	if !sub.Reconciled || sub.Job.ProviderJobID != made[0].ID || sub.Job.State != job.Queued {
		t.Errorf("submission = reconciled %v provider %q state %s, want reconciled %s queued", sub.Reconciled, sub.Job.ProviderJobID, sub.Job.State, made[0].ID)
	}
	if diff := cmp.Diff(e.sleeps, []time.Duration{time.Second, 2 * time.Second}); diff != "" {
		t.Errorf("waits between checks (-got +want):\n%s", diff)
	}
	if len(e.wf.Executions()) != 1 {
		t.Errorf("executions = %d, want 1", len(e.wf.Executions()))
	}
}

func TestSubmitAmbiguousCreateUnmatchedIsNeverResent(t *testing.T) {
	e := newEnv(t)
	e.prov.CreateFunc = func(int, aistats.CreateRequest) (bool, error) {
		return false, ambiguous(context.DeadlineExceeded)
	}
	ctx := context.Background()
	sub, err := e.svc.Submit(ctx, decode(t, okBody), "k1")
	if err != nil {
		t.Fatalf("Submit: %v", err)
	}
	if !sub.Unconfirmed || sub.Job.State != job.Accepted || sub.Job.ProviderJobID != "" {
		t.Fatalf("submission = unconfirmed %v state %s provider %q, want unconfirmed accepted", sub.Unconfirmed, sub.Job.State, sub.Job.ProviderJobID)
	}
	if got, want := e.prov.Finds(), 4; got != want {
		t.Errorf("checks = %d, want %d (one immediate, three after waits)", got, want)
	}
	wantInput := fmt.Sprintf(`{"jobId":%q,"poll":{"state":"accepted","waitSeconds":20}}`, sub.Job.ID)
	if got := e.wf.Executions()[sub.Job.ID]; got != wantInput {
		t.Errorf("execution input = %s, want %s", got, wantInput)
	}

	// The client retries: reconciliation again, never a second create.
	again, err := e.svc.Submit(ctx, decode(t, okBody), "k1")
	if err != nil {
		t.Fatalf("retried Submit: %v", err)
	}
	if again.Job.ID != sub.Job.ID || !again.Unconfirmed {
		t.Errorf("retry = job %s unconfirmed %v, want %s unconfirmed", again.Job.ID, again.Unconfirmed, sub.Job.ID)
	}
	if n := len(e.prov.Creates()); n != 1 {
		t.Errorf("creates = %d, want 1", n)
	}
}

func TestSubmitCrashAfterCreateRetryAdoptsTheJob(t *testing.T) {
	e := newEnv(t)
	crashed := false
	e.store.BeforeWrite = func(j *job.Job) error {
		if j.ProviderJobID != "" && !crashed {
			crashed = true
			return intaketest.ErrCrash // the Lambda dies before persisting the provider id
		}
		return nil
	}
	ctx := context.Background()
	if _, err := e.svc.Submit(ctx, decode(t, okBody), "k1"); !errors.Is(err, intaketest.ErrCrash) {
		t.Fatalf("first Submit error = %v, want the injected crash", err)
	}
	jobs := e.store.Jobs()
	if len(jobs) != 1 || jobs[0].State != job.Accepted || jobs[0].SubmittedAt.IsZero() || jobs[0].ProviderJobID != "" {
		t.Fatalf("after crash: %d jobs, want one accepted, submitted, without provider id", len(jobs))
	}
	sub, err := e.svc.Submit(ctx, decode(t, okBody), "k1")
	if err != nil {
		t.Fatalf("retried Submit: %v", err)
	}
	made := e.prov.Made()
	if len(e.prov.Creates()) != 1 || len(made) != 1 {
		t.Fatalf("creates = %d, made = %d, want 1 and 1", len(e.prov.Creates()), len(made))
	}
	if sub.Job.ID != jobs[0].ID || sub.Job.ProviderJobID != made[0].ID || sub.Job.State != job.Queued || !sub.Reconciled || !sub.Replayed {
		t.Errorf("retry = %s provider %q state %s reconciled %v, want %s adopting %s", sub.Job.ID, sub.Job.ProviderJobID, sub.Job.State, sub.Reconciled, jobs[0].ID, made[0].ID)
	}
	if len(e.wf.Executions()) != 1 {
		t.Errorf("executions = %d, want 1", len(e.wf.Executions()))
	}
}

func TestSubmitCrashBetweenClaimAndJob(t *testing.T) {
	e := newEnv(t)
	crashed := false
	e.store.BeforeWrite = func(*job.Job) error {
		if !crashed {
			crashed = true
			return intaketest.ErrCrash
		}
		return nil
	}
	ctx := context.Background()
	if _, err := e.svc.Submit(ctx, decode(t, okBody), "k1"); !errors.Is(err, intaketest.ErrCrash) {
		t.Fatalf("first Submit error = %v, want the injected crash", err)
	}
	if len(e.store.Jobs()) != 0 || len(e.prov.Creates()) != 0 {
		t.Fatalf("after crash: jobs %d creates %d, want 0 and 0", len(e.store.Jobs()), len(e.prov.Creates()))
	}
	sub, err := e.svc.Submit(ctx, decode(t, okBody), "k1")
	if err != nil {
		t.Fatalf("retried Submit: %v", err)
	}
	if sub.Job.State != job.Queued || len(e.prov.Creates()) != 1 || len(e.store.Jobs()) != 1 {
		t.Errorf("retry = state %s, creates %d, jobs %d, want queued, 1, 1", sub.Job.State, len(e.prov.Creates()), len(e.store.Jobs()))
	}
}

func TestSubmitCrashBeforeWorkflowStart(t *testing.T) {
	e := newEnv(t)
	e.wf.Err = errors.New("states throttled")
	ctx := context.Background()
	first, err := e.svc.Submit(ctx, decode(t, okBody), "k1")
	if err == nil {
		t.Fatal("Submit succeeded though the workflow did not start")
	}
	e.wf.Err = nil
	again, err := e.svc.Submit(ctx, decode(t, okBody), "k1")
	if err != nil {
		t.Fatalf("retried Submit: %v", err)
	}
	if again.Job.ID != first.Job.ID || len(e.prov.Creates()) != 1 {
		t.Errorf("retry = job %s, creates %d, want %s and 1", again.Job.ID, len(e.prov.Creates()), first.Job.ID)
	}
	if _, ok := e.wf.Executions()[first.Job.ID]; !ok {
		t.Error("the retry did not start the workflow")
	}
}

func TestSubmitDefiniteRejection(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		wantStatus int
		wantCode   string
		wantField  string
	}{
		{name: "validation", err: &aistats.APIError{HTTPStatus: 400, Code: "validation_error", Message: "bad", Details: []aistats.ValidationDetail{{Message: "duration not supported by model", Path: []string{"duration"}}}},
			wantStatus: 400, wantCode: "validation_error", wantField: "duration"},
		{name: "funds", err: &aistats.APIError{HTTPStatus: 402, Code: "insufficient_funds", Message: "wallet"}, wantStatus: 402, wantCode: "insufficient_funds"},
		{name: "guardrail", err: &aistats.APIError{HTTPStatus: 403, Code: "guardrail_blocked"}, wantStatus: 403, wantCode: "guardrail_blocked"},
		{name: "feature off", err: &aistats.APIError{HTTPStatus: 501, Code: "not_implemented_yet", Reason: "video_api_temporarily_disabled"}, wantStatus: 501, wantCode: "not_implemented_yet"},
		{name: "client-side validation", err: &aistats.ValidationError{Field: "webhook.url", Problem: "must be https"}, wantCode: "validation_error", wantField: "webhook.url"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.prov.CreateFunc = func(int, aistats.CreateRequest) (bool, error) { return false, fmt.Errorf("create video: %w", tt.err) }
			_, err := e.svc.Submit(context.Background(), decode(t, okBody), "k1")
			var rej *intake.RejectedError
			if !errors.As(err, &rej) {
				t.Fatalf("Submit error = %v, want *RejectedError", err)
			}
			if rej.HTTPStatus != tt.wantStatus || rej.Code != tt.wantCode || rej.Field != tt.wantField {
				t.Errorf("rejection = %d %s %q, want %d %s %q", rej.HTTPStatus, rej.Code, rej.Field, tt.wantStatus, tt.wantCode, tt.wantField)
			}
			stored := e.store.Job(rej.Job.ID)
			if stored.State != job.Rejected || stored.Error == nil || stored.Error.Code != tt.wantCode || stored.Error.Reason != "provider_rejected" {
				t.Errorf("stored job = %s %+v, want rejected with code %s", stored.State, stored.Error, tt.wantCode)
			}
			// The execution started before the send sees the rejected job
			// on its first step and publishes the failure.
			if len(e.wf.Executions()) != 1 || e.prov.Finds() != 0 {
				t.Errorf("executions %d, finds %d: want the one execution and no reconciliation", len(e.wf.Executions()), e.prov.Finds())
			}
			// A retry with the same key answers the same rejected job.
			again, err := e.svc.Submit(context.Background(), decode(t, okBody), "k1")
			if err != nil || again.Job.State != job.Rejected || len(e.prov.Creates()) != 1 {
				t.Errorf("retry = %v, %v, creates %d; want the rejected job, no new create", again, err, len(e.prov.Creates()))
			}
		})
	}
}

func TestSubmitNothingSentReleasesTheSend(t *testing.T) {
	e := newEnv(t)
	e.prov.CreateFunc = func(n int, _ aistats.CreateRequest) (bool, error) {
		if n == 1 {
			return false, errors.New("dial tcp: connection refused")
		}
		return true, nil
	}
	ctx := context.Background()
	_, err := e.svc.Submit(ctx, decode(t, okBody), "k1")
	if !errors.Is(err, intake.ErrProviderUnavailable) {
		t.Fatalf("Submit error = %v, want ErrProviderUnavailable", err)
	}
	if j := e.store.Jobs()[0]; j.State != job.Accepted || !j.SubmittedAt.IsZero() {
		t.Fatalf("job after refused dial = %s submittedAt %v, want accepted and not submitted", j.State, j.SubmittedAt)
	}
	sub, err := e.svc.Submit(ctx, decode(t, okBody), "k1")
	if err != nil || sub.Job.State != job.Queued {
		t.Fatalf("retry = %v, %v; want queued", sub, err)
	}
	if made := e.prov.Made(); len(made) != 1 {
		t.Errorf("provider jobs = %d, want 1", len(made))
	}
}

func TestSubmitSeveralMatchesEscalates(t *testing.T) {
	e := newEnv(t)
	e.prov.CreateFunc = func(int, aistats.CreateRequest) (bool, error) { return true, ambiguous(errors.New("reset")) }
	e.store.BeforeWrite = func(j *job.Job) error {
		if !j.SubmittedAt.IsZero() && len(e.prov.Made()) == 0 {
			e.prov.Add(aistats.Video{ID: "G-stray", Webhook: &aistats.WebhookState{URL: j.WebhookURL}})
		}
		return nil
	}
	_, err := e.svc.Submit(context.Background(), decode(t, okBody), "")
	if !errors.Is(err, intake.ErrReconcileConflict) {
		t.Fatalf("Submit error = %v, want ErrReconcileConflict", err)
	}
	if j := e.store.Jobs()[0]; j.ProviderJobID != "" || j.State != job.Accepted {
		t.Errorf("job = %s %q, want accepted without a provider id", j.State, j.ProviderJobID)
	}
}

func TestSubmitAdoptsProviderState(t *testing.T) {
	e := newEnv(t)
	e.prov.Cancellable = true
	sub, err := e.svc.Submit(context.Background(), decode(t, okBody), "")
	if err != nil {
		t.Fatalf("Submit: %v", err)
	}
	if !sub.Job.CanCancel {
		t.Error("CanCancel = false, want true when the gateway gave a cancel_url")
	}
	var in struct {
		Poll struct{ WaitSeconds int } `json:"poll"`
	}
	if err := json.Unmarshal([]byte(e.wf.Executions()[sub.Job.ID]), &in); err != nil || in.Poll.WaitSeconds != 20 {
		t.Errorf("waitSeconds = %d (%v), want 20", in.Poll.WaitSeconds, err)
	}
}

func TestSubmitReconcileBudgetEndsTheSearch(t *testing.T) {
	e := newEnv(t, func(c *intake.Config) {
		c.ReconcileWaits = []time.Duration{time.Hour, time.Hour}
		c.ReconcileBudget = time.Millisecond
		// A sleep that only the budget can end.
		c.Sleep = func(ctx context.Context, _ time.Duration) error { <-ctx.Done(); return ctx.Err() }
	})
	e.prov.CreateFunc = func(int, aistats.CreateRequest) (bool, error) { return false, ambiguous(errors.New("timeout")) }
	sub, err := e.svc.Submit(context.Background(), decode(t, okBody), "k1")
	if err != nil {
		t.Fatalf("Submit: %v", err)
	}
	if !sub.Unconfirmed || e.prov.Finds() != 1 || len(e.wf.Executions()) != 1 {
		t.Errorf("unconfirmed %v, finds %d, executions %d; want unconfirmed after one check, workflow started", sub.Unconfirmed, e.prov.Finds(), len(e.wf.Executions()))
	}
}
