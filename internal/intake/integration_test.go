package intake_test

// Integration tests: the intake service on its real adapters — the
// DynamoDB job store, Step Functions and S3 on a moto server, and the AI
// Stats client against the gateway simulator. They skip only when
// moto_server is not installed.

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/videojobs/videojobs/internal/aistats"
	"github.com/videojobs/videojobs/internal/intake"
	"github.com/videojobs/videojobs/internal/job"
	"github.com/videojobs/videojobs/internal/jobstore"
	"github.com/videojobs/videojobs/internal/mototest"
	"github.com/videojobs/videojobs/internal/simulator"
)

func TestMain(m *testing.M) { os.Exit(mototest.Run(m)) }

type realEnv struct {
	svc    *intake.Service
	store  *jobstore.Store
	sim    *simulator.Server
	sfn    *sfn.Client
	s3     *s3.Client
	smArn  string
	bucket string
}

func newRealEnv(t *testing.T) *realEnv {
	t.Helper()
	srv := mototest.Shared(t)
	cfg := srv.Config()
	ctx := context.Background()
	name := mototest.Name(t)

	db := dynamodb.NewFromConfig(cfg)
	if err := jobstore.CreateTable(ctx, db, name); err != nil {
		t.Fatalf("create table: %v", err)
	}
	sfnc := sfn.NewFromConfig(cfg)
	sm, err := sfnc.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{
		Name:       aws.String(name),
		RoleArn:    aws.String("arn:aws:iam::123456789012:role/videojobs-workflow"),
		Definition: aws.String(`{"StartAt":"Done","States":{"Done":{"Type":"Succeed"}}}`),
	})
	if err != nil {
		t.Fatalf("create state machine: %v", err)
	}
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	bucket := strings.ToLower(strings.ReplaceAll(name, "_", "-"))
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &bucket}); err != nil {
		t.Fatalf("create bucket: %v", err)
	}

	// The simulator delivers webhooks; a receiver on loopback answers them
	// so no delivery leaves the machine.
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	t.Cleanup(receiver.Close)
	sim := simulator.New(simulator.Config{Seed: 1, TimeScale: 1, Sweep: -1})
	gw := httptest.NewServer(sim)
	t.Cleanup(func() { gw.Close(); sim.Close() })

	store := jobstore.New(db, name)
	svc, err := intake.New(intake.Config{
		Store:          store,
		Provider:       aistats.New(gw.URL, simulator.DefaultAPIKey, aistats.WithTimeout(5*time.Second)),
		Workflow:       intake.NewStepFunctions(sfnc, *sm.StateMachineArn),
		Presigner:      intake.NewS3Presigner(s3.NewPresignClient(s3c)),
		MasterSecret:   func(context.Context) ([]byte, error) { return []byte("integration-master-secret"), nil },
		WebhookBaseURL: receiver.URL,
		DefaultModel:   "google/veo-3.1-lite",
		Bucket:         bucket,
		ReconcileWaits: []time.Duration{10 * time.Millisecond, 50 * time.Millisecond},
	})
	if err != nil {
		t.Fatalf("intake.New: %v", err)
	}
	return &realEnv{svc: svc, store: store, sim: sim, sfn: sfnc, s3: s3c, smArn: *sm.StateMachineArn, bucket: bucket}
}

func (e *realEnv) execution(t *testing.T, jobID string) string {
	t.Helper()
	arn := strings.Replace(e.smArn, ":stateMachine:", ":execution:", 1) + ":" + jobID
	out, err := e.sfn.DescribeExecution(context.Background(), &sfn.DescribeExecutionInput{ExecutionArn: &arn})
	if err != nil {
		t.Fatalf("describe execution %s: %v", jobID, err)
	}
	return aws.ToString(out.Input)
}

func TestIntegrationSubmit(t *testing.T) {
	e := newRealEnv(t)
	ctx := context.Background()
	sub, err := e.svc.Submit(ctx, decode(t, `{"prompt":"a lighthouse in a storm","duration":4}`), "integ-key-1")
	if err != nil {
		t.Fatalf("Submit: %v", err)
	}
	stored, err := e.store.GetJob(ctx, sub.Job.ID)
	if err != nil {
		t.Fatalf("GetJob: %v", err)
	}
	if stored.State != job.Queued || !strings.HasPrefix(stored.ProviderJobID, "G-") || stored.SubmittedAt.IsZero() {
		t.Errorf("stored job = %s %q submitted %v, want queued with a G- id", stored.State, stored.ProviderJobID, stored.SubmittedAt)
	}
	jobs := e.sim.Jobs()
	if len(jobs) != 1 || jobs[0].ID != stored.ProviderJobID || jobs[0].WebhookURL != stored.WebhookURL || !jobs[0].HasSecret {
		t.Fatalf("gateway jobs = %+v, want one carrying the job's webhook URL and a secret", jobs)
	}
	if !strings.Contains(jobs[0].WebhookURL, "/webhooks/ai-stats?job="+sub.Job.ID) {
		t.Errorf("webhook url = %s", jobs[0].WebhookURL)
	}
	if in := e.execution(t, sub.Job.ID); !strings.Contains(in, `"jobId":"`+sub.Job.ID+`"`) || !strings.Contains(in, `"state":"accepted"`) {
		t.Errorf("execution input = %s", in)
	}

	// Same key, same body: the same job, nothing new at the gateway, and
	// the workflow start is idempotent.
	again, err := e.svc.Submit(ctx, decode(t, `{"duration":4,"prompt":"a lighthouse in a storm"}`), "integ-key-1")
	if err != nil || again.Job.ID != sub.Job.ID || !again.Replayed {
		t.Fatalf("repeat = %+v, %v; want the first job replayed", again, err)
	}
	if _, err := e.svc.Submit(ctx, decode(t, `{"prompt":"another"}`), "integ-key-1"); !errors.Is(err, intake.ErrIdempotencyKeyReused) {
		t.Errorf("other body, same key: %v, want ErrIdempotencyKeyReused", err)
	}
	if n := len(e.sim.Jobs()); n != 1 {
		t.Errorf("gateway jobs = %d, want 1", n)
	}
}

func TestIntegrationAmbiguousCreateReconciled(t *testing.T) {
	e := newRealEnv(t)
	ctx := context.Background()
	// The simulator makes the job, then answers 5xx.
	sub, err := e.svc.Submit(ctx, decode(t, `{"prompt":"a lighthouse [sim faults=create.5xx]"}`), "integ-key-2")
	if err != nil {
		t.Fatalf("Submit: %v", err)
	}
	jobs := e.sim.Jobs()
	if len(jobs) != 1 {
		t.Fatalf("gateway jobs = %d, want exactly 1", len(jobs))
	}
	if !sub.Reconciled || sub.Job.ProviderJobID != jobs[0].ID || sub.Job.State != job.Queued {
		t.Errorf("submission = reconciled %v, provider %q, state %s; want reconciled with %s", sub.Reconciled, sub.Job.ProviderJobID, sub.Job.State, jobs[0].ID)
	}
	var creates int
	for _, r := range e.sim.Requests() {
		if r.Method == http.MethodPost && r.Path == "/v1/videos" {
			creates++
		}
	}
	if creates != 1 {
		t.Errorf("create requests = %d, want 1", creates)
	}
}

func TestIntegrationRejected(t *testing.T) {
	e := newRealEnv(t)
	_, err := e.svc.Submit(context.Background(), decode(t, `{"prompt":"no money [sim faults=create.402]"}`), "")
	var rej *intake.RejectedError
	if !errors.As(err, &rej) || rej.HTTPStatus != 402 || rej.Code != "insufficient_funds" {
		t.Fatalf("Submit error = %v, want a 402 insufficient_funds rejection", err)
	}
	stored, err := e.store.GetJob(context.Background(), rej.Job.ID)
	if err != nil || stored.State != job.Rejected {
		t.Errorf("stored = %v, %v; want rejected", stored, err)
	}
}

func TestIntegrationBadInputWritesNothing(t *testing.T) {
	e := newRealEnv(t)
	var fe *intake.FieldError
	if _, err := e.svc.Submit(context.Background(), decode(t, `{"prompt":"p","duration":500}`), "integ-key-3"); !errors.As(err, &fe) {
		t.Fatalf("Submit error = %v, want a field error", err)
	}
	items, err := e.store.ScanAll(context.Background())
	if err != nil {
		t.Fatalf("ScanAll: %v", err)
	}
	if len(items) != 0 || len(e.sim.Jobs()) != 0 {
		t.Errorf("items = %v, gateway jobs = %d; want nothing anywhere", items, len(e.sim.Jobs()))
	}
}

func TestIntegrationCancel(t *testing.T) {
	e := newRealEnv(t)
	ctx := context.Background()
	// The full create reply carries cancel_url (the slim one leaves it to
	// the first poll).
	if err := e.sim.Configure(simulator.Settings{CreateResponse: simulator.CreateFull}); err != nil {
		t.Fatalf("configure simulator: %v", err)
	}
	yes, err := e.svc.Submit(ctx, decode(t, `{"prompt":"cancel me [sim cancel=yes queue=600s]"}`), "")
	if err != nil {
		t.Fatalf("Submit: %v", err)
	}
	if !yes.Job.CanCancel {
		t.Fatalf("CanCancel = false for a provider that supports cancel")
	}
	got, err := e.svc.Cancel(ctx, yes.Job.ID)
	if err != nil || got.State != job.Cancelled {
		t.Fatalf("Cancel = %v, %v; want cancelled", got, err)
	}
	if snap, _ := e.sim.Job(yes.Job.ProviderJobID); snap.Status != "cancelled" {
		t.Errorf("gateway status = %s, want cancelled", snap.Status)
	}

	no, err := e.svc.Submit(ctx, decode(t, `{"prompt":"cannot cancel [sim cancel=no queue=600s]"}`), "")
	if err != nil {
		t.Fatalf("Submit: %v", err)
	}
	if _, err := e.svc.Cancel(ctx, no.Job.ID); !errors.Is(err, intake.ErrCancelNotSupported) {
		t.Errorf("Cancel error = %v, want ErrCancelNotSupported", err)
	}
}

func TestIntegrationDownloadURL(t *testing.T) {
	e := newRealEnv(t)
	ctx := context.Background()
	id := intake.NewJobID()
	key := "videos/" + id + "/0.mp4"
	content := "not really an mp4, but bytes all the same"
	if _, err := e.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: &e.bucket, Key: &key, Body: strings.NewReader(content)}); err != nil {
		t.Fatalf("put object: %v", err)
	}
	if err := e.store.CreateJob(ctx, &job.Job{ID: id, State: job.Stored, Output: &job.Output{Bucket: e.bucket, Key: key, Size: int64(len(content))}}); err != nil {
		t.Fatalf("CreateJob: %v", err)
	}
	d, err := e.svc.DownloadURL(ctx, id)
	if err != nil {
		t.Fatalf("DownloadURL: %v", err)
	}
	if !strings.Contains(d.URL, "X-Amz-Expires=300") {
		t.Errorf("url %s does not expire in 300 s", d.URL)
	}
	resp, err := http.Get(d.URL)
	if err != nil {
		t.Fatalf("GET presigned url: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(body) != content {
		t.Errorf("presigned GET = %d %q, want 200 with the object", resp.StatusCode, body)
	}
}

func TestIntegrationStepFunctionsStartIsIdempotent(t *testing.T) {
	e := newRealEnv(t)
	ctx := context.Background()
	wf := intake.NewStepFunctions(e.sfn, e.smArn)
	id := intake.NewJobID()
	for _, in := range []string{`{"jobId":"` + id + `","poll":{"state":"queued","waitSeconds":20}}`, `{"jobId":"` + id + `","poll":{"state":"queued","waitSeconds":30}}`} {
		if err := wf.Start(ctx, id, []byte(in)); err != nil {
			t.Fatalf("Start(%s): %v", in, err)
		}
	}
	if in := e.execution(t, id); !strings.Contains(in, `"waitSeconds":20`) {
		t.Errorf("execution input = %s, want the first start's", in)
	}
	missing := intake.NewStepFunctions(e.sfn, e.smArn+"-missing")
	if err := missing.Start(ctx, id, []byte(`{}`)); err == nil {
		t.Error("Start on a missing state machine succeeded")
	}
}
