package tracking_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/google/go-cmp/cmp"

	"github.com/videojobs/videojobs/internal/aistats"
	"github.com/videojobs/videojobs/internal/job"
	"github.com/videojobs/videojobs/internal/tracking"
	"github.com/videojobs/videojobs/internal/tracking/trackingtest"
	"github.com/videojobs/videojobs/internal/webhook"
)

const (
	testJobID      = "vj_01jz8q3v4x5y6z7a8b9c0d1e2f"
	testProviderID = "G-01JZ8Q3V4X5Y6Z7A8B9C0D1E2F"
	masterCurrent  = "test-master-current"
	masterPrevious = "test-master-previous"
)

var testNow = time.Unix(1781712000, 0).UTC()

func openJob(state job.State) *job.Job {
	return &job.Job{
		ID:            testJobID,
		State:         state,
		ProviderJobID: testProviderID,
		Model:         "google/veo-3.1-lite",
		CreatedAt:     testNow.Add(-2 * time.Minute),
		UpdatedAt:     testNow.Add(-time.Minute),
		TaskToken:     "token-1",
		WaitSeconds:   20,
	}
}

func payload(typ, key string, attempt int, status string, progress int) string {
	p := ""
	if progress > 0 {
		p = `,"progress":` + strconv.Itoa(progress)
	}
	return fmt.Sprintf(`{"id":"evt_video_%s_%s","type":%q,"created_at":%d,"delivery":{"key":%q,"attempt":%d,"max_attempts":4},"data":{"id":%q,"object":"video","status":%q%s}}`,
		testProviderID, strings.NewReplacer(".", "_", ":", "_").Replace(key), typ, testNow.Unix(), key, attempt, testProviderID, status, p)
}

// signedBy returns the delivery as the gateway would send it for testJobID
// when the job's secret derives from master.
func signedBy(master, body string, ts time.Time) tracking.Delivery {
	stamp := strconv.FormatInt(ts.Unix(), 10)
	secret := webhook.DeriveSecret([]byte(master), testJobID)
	return tracking.Delivery{
		JobID: testJobID,
		Headers: webhook.HeaderMap{
			"content-type":          "application/json",
			"x-ai-stats-timestamp":  stamp,
			"x-ai-stats-signature":  webhook.Sign(secret, stamp, []byte(body)),
			"x-ai-stats-event-type": "video.completed",
		},
		Body: body,
	}
}

type receiverRig struct {
	secrets  *trackingtest.Secrets
	store    *trackingtest.Store
	provider *trackingtest.Provider
	tasks    *trackingtest.Tasks
	metrics  *trackingtest.Recorder
	r        *tracking.Receiver
}

func newReceiverRig(j *job.Job, videos ...*aistats.Video) *receiverRig {
	rig := &receiverRig{
		store:    trackingtest.NewStore(j),
		provider: &trackingtest.Provider{Videos: videos},
		tasks:    &trackingtest.Tasks{},
		metrics:  trackingtest.NewRecorder(),
		secrets:  &trackingtest.Secrets{Current: masterCurrent, Previous: masterPrevious},
	}
	rig.r = tracking.NewReceiver(rig.store, rig.provider, rig.tasks, rig.secrets, rig.metrics,
		tracking.ReceiverConfig{MasterSecretARN: "arn:test", Now: func() time.Time { return testNow }})
	return rig
}

func completedVideo() *aistats.Video {
	p := 100
	return &aistats.Video{
		ID: testProviderID, Status: aistats.StatusCompleted, Progress: &p,
		Asset:   &aistats.Asset{MimeType: "video/mp4", Bytes: 1234},
		Webhook: &aistats.WebhookState{Delivery: &aistats.DeliverySummary{TotalAttempts: 1, DeliveredEvents: 0, LastResponseStatus: 500}},
	}
}

func TestReceiveCompletedReconcilesAppliesAndWakes(t *testing.T) {
	rig := newReceiverRig(openJob(job.Processing), completedVideo())
	body := payload("video.completed", "video.completed", 1, "completed", 0)

	rc, err := rig.r.Receive(context.Background(), signedBy(masterCurrent, body, testNow))
	if err != nil {
		t.Fatalf("Receive: %v", err)
	}
	if diff := cmp.Diff(tracking.Receipt{JobID: testJobID, State: job.Completed, Outcome: tracking.OutcomeApplied, EventType: "video.completed", Attempt: 1, Reconciled: true}, rc); diff != "" {
		t.Errorf("receipt (-want +got):\n%s", diff)
	}
	got := rig.store.Job(testJobID)
	if got.State != job.Completed || got.AssetBytes != 1234 || got.Progress != 100 {
		t.Errorf("job state %s, asset bytes %d, progress %d; want completed, 1234, 100", got.State, got.AssetBytes, got.Progress)
	}
	if got.Deliveries.Received != 1 || got.Deliveries.Duplicates != 0 || got.Deliveries.LastReceivedAt != testNow {
		t.Errorf("deliveries = %+v, want 1 received at %v", got.Deliveries, testNow)
	}
	if got.TaskToken != "" {
		t.Errorf("task token %q still stored after the wake", got.TaskToken)
	}
	if diff := cmp.Diff([]trackingtest.TaskCall{{Token: "token-1", Output: `{"state":"completed","waitSeconds":20}`}}, rig.tasks.Calls); diff != "" {
		t.Errorf("SendTaskSuccess calls (-want +got):\n%s", diff)
	}
	for k, want := range map[string]float64{
		"WebhooksReceived":                 1,
		"JobsCompleted":                    1,
		"TimeToTerminal#samples":           1,
		"GatewayDeliveryFailures":          1,
		"GatewayLastResponseStatus#last":   500,
		"WebhookDuplicates":                0,
		"WebhookRejected{Reason=mismatch}": 0,
	} {
		if got := rig.metrics.Get(k); got != want {
			t.Errorf("metric %s = %v, want %v", k, got, want)
		}
	}
}

func TestReceiveDuplicateAppliedOnceAndCounted(t *testing.T) {
	rig := newReceiverRig(openJob(job.Processing), completedVideo())
	body1 := payload("video.completed", "video.completed", 1, "completed", 0)
	// The gateway's retry after a lost ack: same id and key, next attempt,
	// new timestamp and signature.
	body2 := payload("video.completed", "video.completed", 2, "completed", 0)

	if _, err := rig.r.Receive(context.Background(), signedBy(masterCurrent, body1, testNow)); err != nil {
		t.Fatalf("first delivery: %v", err)
	}
	rc, err := rig.r.Receive(context.Background(), signedBy(masterCurrent, body2, testNow.Add(time.Minute)))
	if err != nil {
		t.Fatalf("second delivery: %v", err)
	}
	if rc.Outcome != tracking.OutcomeDuplicate {
		t.Errorf("second outcome = %s, want duplicate", rc.Outcome)
	}
	got := rig.store.Job(testJobID)
	if diff := cmp.Diff(job.Deliveries{Received: 2, Duplicates: 1, Retries: 1, LastReceivedAt: testNow,
		Gateway: job.GatewayDelivery{TotalAttempts: 1, LastResponseStatus: 500}}, got.Deliveries); diff != "" {
		t.Errorf("deliveries (-want +got):\n%s", diff)
	}
	if n := len(got.History); n != 1 {
		t.Errorf("history has %d transitions, want 1: %+v", n, got.History)
	}
	if n := len(rig.tasks.Calls); n != 1 {
		t.Errorf("workflow woken %d times, want 1", n)
	}
	if rig.provider.Gets != 1 {
		t.Errorf("provider GETs = %d, want 1 (the duplicate agrees with local state)", rig.provider.Gets)
	}
	if rig.metrics.Get("WebhookDuplicates") != 1 || rig.metrics.Get("JobsCompleted") != 1 || rig.metrics.Get("WebhookRetries{Attempt=2}") != 1 {
		t.Errorf("metrics = %v", rig.metrics.All())
	}
}

func TestReceiveLateProgressAfterCompletionIsCountedNotApplied(t *testing.T) {
	j := openJob(job.Completed)
	j.Progress = 100
	j.TaskToken = ""
	rig := newReceiverRig(j)
	body := payload("video.progress", "video.progress:50", 2, "processing", 50)

	rc, err := rig.r.Receive(context.Background(), signedBy(masterCurrent, body, testNow))
	if err != nil {
		t.Fatalf("Receive: %v", err)
	}
	if rc.Outcome != tracking.OutcomeLate || rc.State != job.Completed {
		t.Errorf("receipt = %+v, want late, completed", rc)
	}
	got := rig.store.Job(testJobID)
	if got.State != job.Completed || got.Progress != 100 || got.Deliveries.Late != 1 || len(got.History) != 0 {
		t.Errorf("job = state %s progress %d late %d history %v; want completed, 100, 1, none", got.State, got.Progress, got.Deliveries.Late, got.History)
	}
	if rig.provider.Gets != 0 {
		t.Errorf("provider GETs = %d, want 0 for a settled job", rig.provider.Gets)
	}
	if rig.metrics.Get("WebhookLate") != 1 {
		t.Errorf("WebhookLate = %v, want 1", rig.metrics.Get("WebhookLate"))
	}
}

func TestReceiveProgressUpdatesProgressWithoutProviderCall(t *testing.T) {
	rig := newReceiverRig(openJob(job.Processing))
	body := payload("video.progress", "video.progress:50", 1, "processing", 50)
	rc, err := rig.r.Receive(context.Background(), signedBy(masterCurrent, body, testNow))
	if err != nil {
		t.Fatalf("Receive: %v", err)
	}
	if got := rig.store.Job(testJobID); got.Progress != 50 || rc.Outcome != tracking.OutcomeRecorded || rig.provider.Gets != 0 {
		t.Errorf("progress %d outcome %s gets %d; want 50, recorded, 0", got.Progress, rc.Outcome, rig.provider.Gets)
	}
}

func TestReceiveRejectsAndChangesNothing(t *testing.T) {
	body := payload("video.completed", "video.completed", 1, "completed", 0)
	good := signedBy(masterCurrent, body, testNow)
	tests := []struct {
		name   string
		d      func() tracking.Delivery
		reason string
	}{
		{"unsigned", func() tracking.Delivery {
			return tracking.Delivery{JobID: testJobID, Headers: webhook.HeaderMap{"content-type": "application/json"}, Body: body}
		}, "missing_header"},
		{"forged with another secret", func() tracking.Delivery { return signedBy("attacker-guess", body, testNow) }, "mismatch"},
		{"body changed after signing", func() tracking.Delivery {
			d := good
			d.Body = strings.Replace(body, "completed", "cancelled", 1)
			return d
		}, "mismatch"},
		{"stale timestamp", func() tracking.Delivery { return signedBy(masterCurrent, body, testNow.Add(-301*time.Second)) }, "stale"},
		{"future timestamp", func() tracking.Delivery { return signedBy(masterCurrent, body, testNow.Add(301*time.Second)) }, "stale"},
		{"retired master secret", func() tracking.Delivery { return signedBy("test-master-retired", body, testNow) }, "mismatch"},
		{"missing job parameter", func() tracking.Delivery { d := good; d.JobID = ""; return d }, tracking.RejectBadJob},
		{"job parameter not a job id", func() tracking.Delivery { d := good; d.JobID = "../../etc"; return d }, tracking.RejectBadJob},
		{"signed for another job id", func() tracking.Delivery { d := good; d.JobID = "vj_01jz8q3v4x5y6z7a8b9c0d1e2g"; return d }, "mismatch"},
		{"oversize body", func() tracking.Delivery {
			return signedBy(masterCurrent, body+strings.Repeat(" ", webhook.MaxBodyBytes), testNow)
		}, "too_large"},
		{"oversize base64 body", func() tracking.Delivery {
			return tracking.Delivery{JobID: testJobID, Headers: good.Headers, IsBase64: true,
				Body: base64.StdEncoding.EncodeToString(make([]byte, 2*webhook.MaxBodyBytes))}
		}, "too_large"},
		{"payload names another provider job", func() tracking.Delivery {
			return signedBy(masterCurrent, strings.ReplaceAll(body, testProviderID, "G-01JZ8Q3V4X5Y6Z7A8B9C0D1E2X"), testNow)
		}, tracking.RejectJobMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rig := newReceiverRig(openJob(job.Processing), completedVideo())
			before := rig.store.Job(testJobID)
			_, err := rig.r.Receive(context.Background(), tt.d())
			var rej *tracking.RejectError
			if !errors.As(err, &rej) {
				t.Fatalf("Receive error = %v, want *RejectError", err)
			}
			if rej.Reason != tt.reason {
				t.Errorf("reason = %q, want %q", rej.Reason, tt.reason)
			}
			if diff := cmp.Diff(before, rig.store.Job(testJobID)); diff != "" {
				t.Errorf("job changed (-before +after):\n%s", diff)
			}
			if rig.store.Records != 0 || rig.store.Updates != 0 || rig.provider.Gets != 0 || len(rig.tasks.Calls) != 0 {
				t.Errorf("side effects: %d records, %d updates, %d GETs, %d wakes; want none",
					rig.store.Records, rig.store.Updates, rig.provider.Gets, len(rig.tasks.Calls))
			}
			if got := rig.metrics.Get("WebhookRejected{Reason=" + tt.reason + "}"); got != 1 {
				t.Errorf("WebhookRejected{%s} = %v, want 1", tt.reason, got)
			}
		})
	}
}

func TestReceiveUnknownJobIsRejected(t *testing.T) {
	rig := newReceiverRig(openJob(job.Processing))
	rig.store.Delete(testJobID)
	_, err := rig.r.Receive(context.Background(), signedBy(masterCurrent, payload("video.completed", "video.completed", 1, "completed", 0), testNow))
	var rej *tracking.RejectError
	if !errors.As(err, &rej) || rej.Reason != tracking.RejectUnknownJob {
		t.Fatalf("Receive error = %v, want reject %s", err, tracking.RejectUnknownJob)
	}
	if rig.store.Records != 0 {
		t.Errorf("%d deliveries recorded, want 0", rig.store.Records)
	}
}

func TestReceiveAcceptsRotationFamiliesAndBase64(t *testing.T) {
	body := payload("video.completed", "video.completed", 1, "completed", 0)
	tests := []struct {
		name string
		d    func() tracking.Delivery
	}{
		{"current master secret", func() tracking.Delivery { return signedBy(masterCurrent, body, testNow) }},
		{"previous master secret (rotation)", func() tracking.Delivery { return signedBy(masterPrevious, body, testNow) }},
		{"x-phaseo header family", func() tracking.Delivery {
			d := signedBy(masterCurrent, body, testNow)
			h := d.Headers.(webhook.HeaderMap)
			d.Headers = webhook.HeaderMap{"x-phaseo-timestamp": h["x-ai-stats-timestamp"], "x-phaseo-signature": h["x-ai-stats-signature"]}
			return d
		}},
		{"base64-encoded body", func() tracking.Delivery {
			d := signedBy(masterCurrent, body, testNow)
			d.Body, d.IsBase64 = base64.StdEncoding.EncodeToString([]byte(body)), true
			return d
		}},
		{"edge of freshness window", func() tracking.Delivery { return signedBy(masterCurrent, body, testNow.Add(-300*time.Second)) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rig := newReceiverRig(openJob(job.Processing), completedVideo())
			rc, err := rig.r.Receive(context.Background(), tt.d())
			if err != nil {
				t.Fatalf("Receive: %v", err)
			}
			if rc.State != job.Completed {
				t.Errorf("state = %s, want completed", rc.State)
			}
		})
	}
}

func TestReceiveMalformedSignedBodyIs400AndRecordsNothing(t *testing.T) {
	for _, body := range []string{
		`{"id":"evt_1","type":"video.completed"`,
		`[1,2,3]`,
		`{"type":"video.completed","data":{"id":"` + testProviderID + `"}}`,
		`{"id":"evt_1","type":"video.completed","data":{}}`,
	} {
		rig := newReceiverRig(openJob(job.Processing), completedVideo())
		_, err := rig.r.Receive(context.Background(), signedBy(masterCurrent, body, testNow))
		if !errors.Is(err, tracking.ErrMalformed) {
			t.Errorf("body %s: error = %v, want ErrMalformed", body, err)
		}
		if rig.store.Records != 0 || rig.store.Updates != 0 {
			t.Errorf("body %s: %d records, %d updates; want none", body, rig.store.Records, rig.store.Updates)
		}
	}
}

func TestReceiveTransientFailures(t *testing.T) {
	body := payload("video.completed", "video.completed", 1, "completed", 0)
	retry := payload("video.completed", "video.completed", 2, "completed", 0)
	tests := []struct {
		name   string
		inject func(*receiverRig)
		// recorded: whether the failed attempt left a delivery record.
		recorded bool
	}{
		{"record delivery fails", func(r *receiverRig) { r.store.RecordErrs = []error{errors.New("throttled")} }, false},
		{"job read fails", func(r *receiverRig) { r.store.GetErrs = []error{errors.New("throttled")} }, false},
		{"master secret unavailable", func(r *receiverRig) {
			r.secrets.FailNext = 1
		}, false},
		// The window the dedupe claim opens: recorded, then the job write
		// fails. The retry is a duplicate and must still apply the update.
		{"job write fails after the record", func(r *receiverRig) { r.store.UpdateErrs = []error{errors.New("throttled")} }, true},
		{"wake fails", func(r *receiverRig) { r.tasks.Errs = []error{errors.New("sfn unavailable")} }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rig := newReceiverRig(openJob(job.Processing), completedVideo())
			tt.inject(rig)
			_, err := rig.r.Receive(context.Background(), signedBy(masterCurrent, body, testNow))
			var rej *tracking.RejectError
			if err == nil || errors.As(err, &rej) || errors.Is(err, tracking.ErrMalformed) {
				t.Fatalf("Receive error = %v, want a transient error (500)", err)
			}
			if got := rig.store.Records != 0; got != tt.recorded {
				t.Errorf("delivery recorded = %v, want %v", got, tt.recorded)
			}
			// The gateway retries.
			if _, err := rig.r.Receive(context.Background(), signedBy(masterCurrent, retry, testNow.Add(time.Minute))); err != nil {
				t.Fatalf("retried delivery: %v", err)
			}
			got := rig.store.Job(testJobID)
			if got.State != job.Completed || got.TaskToken != "" {
				t.Errorf("after retry: state %s, token %q; want completed, woken", got.State, got.TaskToken)
			}
			if n := len(rig.tasks.Calls); n == 0 {
				t.Errorf("workflow never woken")
			}
			if rig.metrics.Get("JobsCompleted") != 1 {
				t.Errorf("JobsCompleted = %v, want 1", rig.metrics.Get("JobsCompleted"))
			}
		})
	}
}

func TestReceiveStaleTaskTokenIsNotAnError(t *testing.T) {
	for _, stale := range []error{&types.TaskTimedOut{}, &types.InvalidToken{}, &types.TaskDoesNotExist{}} {
		rig := newReceiverRig(openJob(job.Processing), completedVideo())
		rig.tasks.Errs = []error{fmt.Errorf("operation error SFN: SendTaskSuccess: %w", stale)}
		if _, err := rig.r.Receive(context.Background(), signedBy(masterCurrent, payload("video.completed", "video.completed", 1, "completed", 0), testNow)); err != nil {
			t.Errorf("%T: Receive error %v, want nil", stale, err)
		}
	}
}

func TestReceiveUnknownEventTypeReconciles(t *testing.T) {
	processing := &aistats.Video{ID: testProviderID, Status: aistats.StatusProcessing, CancelURL: "https://gw.test/cancel"}
	rig := newReceiverRig(openJob(job.Queued), processing)
	body := `{"id":"evt_video_` + testProviderID + `_job_status_changed_1","type":"job.status_changed","delivery":{"key":"job.status_changed:processing","attempt":1},` +
		`"data":{"id":"` + testProviderID + `","status":"processing"},"status_change":{"previous_status":"queued","status":"processing"}}`
	rc, err := rig.r.Receive(context.Background(), signedBy(masterCurrent, body, testNow))
	if err != nil {
		t.Fatalf("Receive: %v", err)
	}
	got := rig.store.Job(testJobID)
	if !rc.Reconciled || got.State != job.Processing || !got.CanCancel || rig.provider.Gets != 1 {
		t.Errorf("reconciled %v, state %s, canCancel %v, gets %d; want true, processing, true, 1", rc.Reconciled, got.State, got.CanCancel, rig.provider.Gets)
	}
	if len(rig.tasks.Calls) != 0 {
		t.Errorf("woke the workflow for a non-terminal job")
	}
}

func TestReceiveTerminalEventTrustsProviderNotPayload(t *testing.T) {
	// The payload claims completion; the provider (source of truth) says
	// the job failed. The job follows the provider.
	failed := &aistats.Video{ID: testProviderID, Status: aistats.StatusFailed, Error: &aistats.VideoError{Code: "content_policy", Message: "refused"}}
	rig := newReceiverRig(openJob(job.Processing), failed)
	if _, err := rig.r.Receive(context.Background(), signedBy(masterCurrent, payload("video.completed", "video.completed", 1, "completed", 0), testNow)); err != nil {
		t.Fatalf("Receive: %v", err)
	}
	got := rig.store.Job(testJobID)
	if diff := cmp.Diff(&job.Failure{Reason: tracking.ReasonGenerationFailed, Message: "refused", Code: "content_policy"}, got.Error); diff != "" || got.State != job.Failed {
		t.Errorf("state %s, error (-want +got):\n%s", got.State, diff)
	}
	if rig.metrics.Get("JobsFailed{Reason=generation_failed}") != 1 {
		t.Errorf("metrics = %v", rig.metrics.All())
	}
}

// A signed created event can outrun the create's reply. The delivery is
// signed with the job's own derived secret, so the provider job it names is
// bound to the job at once; before any create was sent, the gateway is
// asked to retry.
func TestReceiveBindsProviderJobBeforeTheCreateReply(t *testing.T) {
	body := payload("video.created", "video.created", 1, "queued", 0)

	j := openJob(job.Accepted)
	j.ProviderJobID, j.SubmittedAt = "", testNow.Add(-time.Second)
	rig := newReceiverRig(j, &aistats.Video{ID: testProviderID, Status: aistats.StatusQueued})
	if _, err := rig.r.Receive(context.Background(), signedBy(masterCurrent, body, testNow)); err != nil {
		t.Fatalf("Receive: %v", err)
	}
	got := rig.store.Job(testJobID)
	if got.ProviderJobID != testProviderID || got.State != job.Queued || got.Deliveries.Received != 1 {
		t.Errorf("provider %q, state %s, received %d; want bound, queued, 1", got.ProviderJobID, got.State, got.Deliveries.Received)
	}

	j = openJob(job.Accepted)
	j.ProviderJobID = ""
	rig = newReceiverRig(j)
	if _, err := rig.r.Receive(context.Background(), signedBy(masterCurrent, body, testNow)); !errors.Is(err, tracking.ErrJobNotReady) {
		t.Fatalf("error = %v, want ErrJobNotReady", err)
	}
	if rig.store.Records != 0 {
		t.Errorf("recorded a delivery for a job that sent no create")
	}
}

// A webhook and a poll racing on one job both land: the store's version
// check makes the loser re-run its change on the winner's write.
func TestConcurrentWebhookAndPollLoseNoUpdate(t *testing.T) {
	for _, webhookFirst := range []bool{true, false} {
		t.Run(fmt.Sprintf("webhook wins=%v", webhookFirst), func(t *testing.T) {
			rig := newReceiverRig(openJob(job.Processing), completedVideo())
			w := tracking.NewWatcher(rig.store, rig.provider, rig.tasks, rig.metrics, tracking.WatchConfig{Now: func() time.Time { return testNow }, Rand: func() float64 { return 0 }})

			// Hold the first writer between its read and its write until
			// the second writer has committed, so the first loses the race.
			var once sync.Once
			release := make(chan struct{})
			committed := make(chan struct{})
			rig.store.BeforeWrite = func(string) {
				first := false
				once.Do(func() { first = true })
				if first {
					close(release)
					<-committed
				}
			}
			var wg sync.WaitGroup
			var recvErr, pollErr error
			runWebhook := func() {
				defer wg.Done()
				_, recvErr = rig.r.Receive(context.Background(), signedBy(masterCurrent, payload("video.progress", "video.progress:50", 1, "processing", 50), testNow))
			}
			runPoll := func() {
				defer wg.Done()
				_, pollErr = w.Poll(context.Background(), testJobID)
			}
			first, second := runWebhook, runPoll
			if !webhookFirst {
				first, second = runPoll, runWebhook
			}
			wg.Add(2)
			go first()
			<-release
			go func() {
				second()
				close(committed)
			}()
			wg.Wait()
			if recvErr != nil || pollErr != nil {
				t.Fatalf("webhook: %v, poll: %v", recvErr, pollErr)
			}
			got := rig.store.Job(testJobID)
			if got.State != job.Completed || got.PollCount != 1 || got.Deliveries.Received != 1 || got.Progress != 100 {
				t.Errorf("state %s, polls %d, received %d, progress %d; want completed, 1, 1, 100",
					got.State, got.PollCount, got.Deliveries.Received, got.Progress)
			}
			if rig.metrics.Get("JobsCompleted") != 1 {
				t.Errorf("JobsCompleted = %v, want 1", rig.metrics.Get("JobsCompleted"))
			}
		})
	}
}

// A delivery that claims an outcome is acted on only after the provider
// confirms it. When the provider does not answer within the webhook's
// budget, the delivery is recorded, nothing is applied, and the waiting
// workflow is rescheduled to re-read the job in its next Watch step at
// once (its next poll time is now); with no task
// waiting, the gateway is asked to retry (503).
func TestReceiveOutcomeUnconfirmedInTime(t *testing.T) {
	body := payload("video.completed", "video.completed", 1, "completed", 0)
	slow := &aistats.APIError{HTTPStatus: 502, Code: "upstream_error"}

	rig := newReceiverRig(openJob(job.Processing))
	rig.provider.Errs = []error{slow}
	rc, err := rig.r.Receive(context.Background(), signedBy(masterCurrent, body, testNow))
	if err != nil {
		t.Fatalf("Receive: %v", err)
	}
	got := rig.store.Job(testJobID)
	if !rc.Recheck || got.State != job.Processing || len(got.History) != 0 || rig.store.Records != 1 {
		t.Errorf("recheck %v, state %s, history %v, records %d; want a recorded delivery, nothing applied", rc.Recheck, got.State, got.History, rig.store.Records)
	}
	if rig.metrics.Get("ProviderErrors{Status=502}") != 1 {
		t.Errorf("ProviderErrors{Status=502} = %v, want 1 (all: %v)", rig.metrics.Get("ProviderErrors{Status=502}"), rig.metrics.All())
	}
	if !got.NextPollAt.Equal(testNow) {
		t.Errorf("next poll at %v, want now (%v): the next Watch entry must poll", got.NextPollAt, testNow)
	}
	want := []trackingtest.TaskCall{{Token: "token-1", Error: tracking.RescheduleError, Cause: "20"}}
	if diff := cmp.Diff(want, rig.tasks.Calls); diff != "" {
		t.Errorf("wakes (-want +got):\n%s", diff)
	}
	if got.TaskToken != "" {
		t.Errorf("token %q kept after the wake", got.TaskToken)
	}

	// Nothing waits: the gateway must retry.
	j := openJob(job.Processing)
	j.TaskToken = ""
	rig = newReceiverRig(j)
	rig.provider.Errs = []error{slow}
	if _, err := rig.r.Receive(context.Background(), signedBy(masterCurrent, body, testNow)); !errors.Is(err, tracking.ErrJobNotReady) {
		t.Fatalf("Receive error = %v, want ErrJobNotReady (503)", err)
	}
	if got := rig.store.Job(testJobID); got.State != job.Processing {
		t.Errorf("state %s, want processing", got.State)
	}

	// A non-outcome event that disagrees with local state still needs the
	// provider: a failed GET is a transient error.
	rig = newReceiverRig(openJob(job.Queued))
	rig.provider.Errs = []error{slow}
	progress := payload("video.progress", "video.progress:50", 1, "processing", 50)
	if _, err := rig.r.Receive(context.Background(), signedBy(masterCurrent, progress, testNow)); err == nil || errors.Is(err, tracking.ErrJobNotReady) {
		t.Fatalf("Receive error = %v, want a transient error (500)", err)
	}
	if rig.store.Records != 0 {
		t.Errorf("records %d, want none before the provider answered", rig.store.Records)
	}
}
