package tracking_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/videojobs/videojobs/internal/aistats"
	"github.com/videojobs/videojobs/internal/copier"
	"github.com/videojobs/videojobs/internal/job"
	"github.com/videojobs/videojobs/internal/jobstore"
	"github.com/videojobs/videojobs/internal/mototest"
	"github.com/videojobs/videojobs/internal/simulator"
	"github.com/videojobs/videojobs/internal/tracking"
	"github.com/videojobs/videojobs/internal/tracking/trackingtest"
	"github.com/videojobs/videojobs/internal/webhook"
)

func TestMain(m *testing.M) { os.Exit(mototest.Run(m)) }

// world is the real adapters (DynamoDB and S3 in moto, the simulator as
// the gateway) around the three services, with the webhook endpoint served
// over HTTP the way the HTTP API would.
type world struct {
	store    *jobstore.Store
	s3       *s3.Client
	bucket   string
	sim      *simulator.Server
	provider *aistats.Client
	tasks    *trackingtest.Tasks
	metrics  *trackingtest.Recorder
	recv     *tracking.Receiver
	watch    *tracking.Watcher
	archive  *tracking.Archiver
	hookURL  string
	// skew moves the watcher's clock forward to the next poll when run's
	// shortened Watch timeout fires, as if the workflow's wait had passed.
	skew atomic.Int64
}

func newWorld(t *testing.T) *world {
	t.Helper()
	moto := mototest.Shared(t)
	ctx := context.Background()
	cfg := moto.Config()
	db := dynamodb.NewFromConfig(cfg)
	table := mototest.Name(t)
	if err := jobstore.CreateTable(ctx, db, table); err != nil {
		t.Fatalf("create table: %v", err)
	}
	w := &world{store: jobstore.New(db, table), s3: s3.NewFromConfig(cfg), bucket: mototest.Name(t),
		tasks: &trackingtest.Tasks{}, metrics: trackingtest.NewRecorder()}
	if _, err := w.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(w.bucket)}); err != nil {
		t.Fatalf("create bucket: %v", err)
	}

	// Simulated minutes pass in real fractions of a second; the gateway's
	// retries (60/300/900 s) become a few seconds.
	w.sim = simulator.New(simulator.Config{TimeScale: 200, Seed: 7, Sweep: -1,
		RetryDelays: []time.Duration{60 * time.Second, 120 * time.Second, 180 * time.Second}})
	simSrv := httptest.NewServer(w.sim)
	t.Cleanup(func() { simSrv.Close(); w.sim.Close() })
	w.provider = aistats.New(simSrv.URL, simulator.DefaultAPIKey)

	secrets := &trackingtest.Secrets{Current: masterCurrent, Previous: masterPrevious}
	w.recv = tracking.NewReceiver(w.store, w.provider, w.tasks, secrets, w.metrics, tracking.ReceiverConfig{MasterSecretARN: "arn:test"})
	w.watch = tracking.NewWatcher(w.store, w.provider, w.tasks, w.metrics, tracking.WatchConfig{
		Now: func() time.Time { return time.Now().Add(time.Duration(w.skew.Load())) }})
	w.archive = tracking.NewArchiver(w.store, w.provider, copier.New(w.s3), w.metrics, w.bucket, nil)

	hooks := httptest.NewServer(http.HandlerFunc(w.serveWebhook))
	t.Cleanup(hooks.Close)
	w.hookURL = hooks.URL + "/webhooks/ai-stats?job=" + testJobID
	return w
}

// serveWebhook maps Receive's outcome to HTTP the way functions/webhook
// does.
func (w *world) serveWebhook(rw http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, webhook.MaxBodyBytes+1))
	_, err := w.recv.Receive(r.Context(), tracking.Delivery{JobID: r.URL.Query().Get("job"), Headers: r.Header, Body: string(body)})
	var rej *tracking.RejectError
	switch {
	case err == nil:
		rw.WriteHeader(http.StatusOK)
	case errors.As(err, &rej):
		rw.WriteHeader(http.StatusUnauthorized)
	case errors.Is(err, tracking.ErrMalformed):
		rw.WriteHeader(http.StatusBadRequest)
	default:
		rw.WriteHeader(http.StatusInternalServerError)
	}
}

// submit creates the job the way the submit λ does: stored first, then
// the provider job with the per-job webhook secret, then the provider id.
func (w *world) submit(t *testing.T, prompt string) string {
	t.Helper()
	ctx := context.Background()
	now := time.Now()
	if err := w.store.CreateJob(ctx, &job.Job{ID: testJobID, State: job.Accepted, Model: "google/veo-3.1-lite",
		CreatedAt: now, UpdatedAt: now, WebhookURL: w.hookURL}); err != nil {
		t.Fatalf("create job: %v", err)
	}
	v, err := w.provider.Create(ctx, aistats.CreateRequest{Model: "google/veo-3.1-lite", Prompt: prompt,
		Webhook: &aistats.WebhookConfig{URL: w.hookURL, Secret: webhook.DeriveSecret([]byte(masterCurrent), testJobID),
			Events: []string{"job.progress", "job.completed", "job.failed", "job.cancelled", "job.expired"}}})
	if err != nil {
		t.Fatalf("provider create: %v", err)
	}
	if _, err := w.store.UpdateJob(ctx, testJobID, func(j *job.Job) error {
		j.ProviderJobID = v.ID
		_, err := j.Transition(job.Queued, job.SourceAPI, time.Now(), "")
		return err
	}); err != nil {
		t.Fatalf("record provider id: %v", err)
	}
	return v.ID
}

// run drives the workflow's loop until the job settles: Watch with a new
// token (it polls when a poll is due, then arms), then a wait for the
// token's completion, shortened to 300 ms; a timeout moves the watcher's
// clock to the next poll and re-enters Watch, a videojobs.Reschedule
// completion re-enters it with the new wait. With sweep set, the wait is up
// to 5 s while the gateway's background reconciliation runs every 100 ms,
// so the terminal webhook, not a poll, may finalise the job and wake the
// workflow. Then it lets the gateway finish its deliveries.
func (w *world) run(t *testing.T, sweep bool) job.State {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(60 * time.Second)
	var state job.State
	segment := tracking.DefaultPollAfter
	for n := 0; ; n++ {
		woken := len(w.tasks.Sent())
		if _, err := w.watch.Watch(ctx, testJobID, fmt.Sprintf("token-%d", n), segment); err != nil {
			t.Fatalf("watch: %v", err)
		}
		watchTimeout := 300 * time.Millisecond
		if sweep {
			watchTimeout = 5 * time.Second
		}
		last := time.Time{}
		if waitUntil(watchTimeout, func() bool {
			if sweep && time.Since(last) > 100*time.Millisecond {
				w.sim.Sweep()
				last = time.Now()
			}
			return len(w.tasks.Sent()) > woken
		}) {
			call := w.tasks.Sent()[woken]
			if call.Error == tracking.RescheduleError {
				secs, err := strconv.Atoi(call.Cause)
				if err != nil || secs < 1 {
					t.Fatalf("reschedule cause %q: want whole seconds", call.Cause)
				}
				segment = time.Duration(secs) * time.Second
				continue
			}
			var out tracking.WatchResult
			if err := json.Unmarshal([]byte(call.Output), &out); err != nil {
				t.Fatalf("wake-up output %q: %v", call.Output, err)
			}
			state = out.State
		} else {
			j, err := w.store.GetJob(ctx, testJobID)
			if err != nil {
				t.Fatalf("get job: %v", err)
			}
			w.skew.Add(int64(max(time.Until(j.NextPollAt)-time.Duration(w.skew.Load()), 0)))
			state = j.State
		}
		if state == job.Completed || state.Terminal() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("job still %s after 60 s", state)
		}
	}
	if !waitUntil(time.Until(deadline), w.sim.Settled) {
		t.Fatalf("gateway deliveries still pending after 60 s")
	}
	return state
}

// waitUntil polls cond every 10 ms for at most d.
func waitUntil(d time.Duration, cond func() bool) bool {
	for end := time.Now().Add(d); ; time.Sleep(10 * time.Millisecond) {
		if cond() {
			return true
		}
		if time.Now().After(end) {
			return false
		}
	}
}

func (w *world) storeAndCheck(t *testing.T, providerID string) {
	t.Helper()
	ctx := context.Background()
	res, err := w.archive.Store(ctx, testJobID)
	if err != nil {
		t.Fatalf("store: %v", err)
	}
	wantSum, err := w.sim.ContentSHA256(providerID)
	if err != nil {
		t.Fatal(err)
	}
	wantSize, _ := w.sim.ContentSize(providerID)
	if res.SHA256 != wantSum || res.Size != wantSize {
		t.Errorf("stored %d bytes sha256 %s; the gateway served %d bytes sha256 %s", res.Size, res.SHA256, wantSize, wantSum)
	}
	head, err := w.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(w.bucket), Key: aws.String(res.Key)})
	if err != nil {
		t.Fatalf("head %s: %v", res.Key, err)
	}
	if head.Metadata["sha256"] != wantSum || head.Metadata["job-id"] != testJobID || head.Metadata["provider-job-id"] != providerID {
		t.Errorf("object metadata = %v", head.Metadata)
	}
	// A retried Store (the workflow retries on a lost reply) returns the
	// same object.
	again, err := w.archive.Store(ctx, testJobID)
	if err != nil || again != res {
		t.Errorf("second store = %+v, %v; want %+v", again, err, res)
	}
	list, err := w.s3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(w.bucket)})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(list.Contents); n != 1 {
		t.Errorf("bucket holds %d objects, want exactly the video", n)
	}
}

func TestIntegrationHostileWebhooks(t *testing.T) {
	w := newWorld(t)
	pid := w.submit(t, "a lighthouse at dusk [sim outcome=completed queue=10s duration=120s size=300000 "+
		"faults=duplicate_webhooks,lost_ack,reorder,foreign_callbacks]")
	if got := w.run(t, true); got != job.Completed {
		t.Fatalf("job ended %s, want completed", got)
	}
	j, err := w.store.GetJob(context.Background(), testJobID)
	if err != nil {
		t.Fatal(err)
	}
	d := j.Deliveries
	if d.Received < 2 || d.Duplicates < 1 || d.Late < 1 {
		t.Errorf("deliveries = %+v; want duplicates and a late (reordered) event counted", d)
	}
	if n := w.metrics.Get("WebhookRejected{Reason=missing_header}"); n < 1 {
		t.Errorf("foreign unsigned callbacks rejected %v times, want ≥ 1", n)
	}
	var toCompleted int
	for _, c := range j.History {
		if c.To == job.Completed {
			toCompleted++
		}
	}
	if toCompleted != 1 {
		t.Errorf("history %+v: %d transitions to completed, want 1", j.History, toCompleted)
	}
	if len(w.tasks.Sent()) == 0 {
		t.Errorf("the terminal webhook never woke the workflow")
	}
	w.storeAndCheck(t, pid)
}

func TestIntegrationEveryWebhookLost(t *testing.T) {
	w := newWorld(t)
	pid := w.submit(t, "a quiet harbour [sim outcome=completed queue=10s duration=60s size=200000 faults=drop_webhooks]")
	if got := w.run(t, false); got != job.Completed {
		t.Fatalf("job ended %s, want completed by polling alone", got)
	}
	if j, _ := w.store.GetJob(context.Background(), testJobID); j.Deliveries.Received != 0 || j.PollCount < 1 {
		t.Errorf("received %d deliveries, %d polls; want 0 and ≥ 1", j.Deliveries.Received, j.PollCount)
	}
	w.storeAndCheck(t, pid)
}

func TestIntegrationGenerationFailure(t *testing.T) {
	w := newWorld(t)
	w.submit(t, "a forbidden scene [sim outcome=failed queue=5s duration=30s error=content_policy_violation]")
	if got := w.run(t, true); got != job.Failed {
		t.Fatalf("job ended %s, want failed", got)
	}
	j, _ := w.store.GetJob(context.Background(), testJobID)
	if j.Error == nil || j.Error.Reason != tracking.ReasonGenerationFailed || j.Error.Message == "" {
		t.Errorf("error = %+v, want generation_failed with the provider's message", j.Error)
	}
	if _, err := w.archive.Store(context.Background(), testJobID); !errors.Is(err, tracking.ErrNotCompleted) {
		t.Errorf("store of a failed job: %v, want ErrNotCompleted", err)
	}
}

// Webhook deliveries and polls racing on one job through DynamoDB's
// conditional writes: every change lands exactly once. Under this much
// contention a writer can exhaust the store's retries; it then fails (5xx,
// failed task) and is retried the way the gateway and the workflow retry,
// and the counts still come out exact.
func TestIntegrationConcurrentWritersLoseNothing(t *testing.T) {
	moto := mototest.Shared(t)
	ctx := context.Background()
	db := dynamodb.NewFromConfig(moto.Config())
	table := mototest.Name(t)
	if err := jobstore.CreateTable(ctx, db, table); err != nil {
		t.Fatal(err)
	}
	store := jobstore.New(db, table)
	j := openJob(job.Processing)
	if err := store.CreateJob(ctx, j); err != nil {
		t.Fatal(err)
	}
	provider := &trackingtest.Provider{Videos: []*aistats.Video{{ID: testProviderID, Status: aistats.StatusProcessing}}}
	now := func() time.Time { return testNow }
	recv := tracking.NewReceiver(store, provider, &trackingtest.Tasks{}, &trackingtest.Secrets{Current: masterCurrent},
		nil, tracking.ReceiverConfig{MasterSecretARN: "arn:test", Now: now})
	watch := tracking.NewWatcher(store, provider, &trackingtest.Tasks{}, nil, tracking.WatchConfig{Now: now})

	const hooks, polls = 6, 6
	var wg sync.WaitGroup
	errs := make(chan error, hooks+polls)
	for i := range hooks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			// A 5xx makes the gateway retry (attempt+1).
			for attempt := 1; attempt <= 4; attempt++ {
				body := payload("video.progress", fmt.Sprintf("video.progress:%d", 10*(i+1)), attempt, "processing", 10*(i+1))
				if _, err = recv.Receive(ctx, signedBy(masterCurrent, body, testNow)); err == nil {
					break
				}
			}
			errs <- err
		}()
	}
	for range polls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			// A failed task is retried by the workflow.
			for range 4 {
				if _, err = watch.Poll(ctx, testJobID); err == nil {
					break
				}
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("writer failed: %v", err)
		}
	}
	got, err := store.GetJob(ctx, testJobID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Deliveries.Received != hooks || got.PollCount != polls || got.Progress != 10*hooks {
		t.Errorf("received %d, polls %d, progress %d; want %d, %d, %d", got.Deliveries.Received, got.PollCount, got.Progress, hooks, polls, 10*hooks)
	}
}
