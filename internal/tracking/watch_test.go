package tracking_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/videojobs/videojobs/internal/aistats"
	"github.com/videojobs/videojobs/internal/job"
	"github.com/videojobs/videojobs/internal/tracking"
	"github.com/videojobs/videojobs/internal/tracking/trackingtest"
)

type watchRig struct {
	store    *trackingtest.Store
	provider *trackingtest.Provider
	tasks    *trackingtest.Tasks
	metrics  *trackingtest.Recorder
	w        *tracking.Watcher
}

func newWatchRig(j *job.Job, now time.Time, videos ...*aistats.Video) *watchRig {
	rig := &watchRig{store: trackingtest.NewStore(j), provider: &trackingtest.Provider{Videos: videos}, tasks: &trackingtest.Tasks{}, metrics: trackingtest.NewRecorder()}
	rig.w = tracking.NewWatcher(rig.store, rig.provider, rig.tasks, rig.metrics, tracking.WatchConfig{
		PollCap: 300 * time.Second, JobDeadline: time.Hour,
		Now: func() time.Time { return now }, Rand: func() float64 { return 1 },
	})
	return rig
}

// A Watch entry before the next poll is due (the one right after a
// reschedule) only stores the token: no provider read, no completion.
func TestWatchBeforePollDueOnlyArms(t *testing.T) {
	j := openJob(job.Processing)
	j.TaskToken, j.PollCount, j.NextPollAt = "", 2, testNow.Add(140*time.Second)
	rig := newWatchRig(j, testNow)
	res, err := rig.w.Watch(context.Background(), testJobID, "token-2", 140*time.Second)
	if err != nil {
		t.Fatalf("Watch: %v", err)
	}
	if res.State != job.Processing || rig.store.Job(testJobID).TaskToken != "token-2" || len(rig.tasks.Calls) != 0 || rig.provider.Gets != 0 {
		t.Errorf("state %s, token %q, completions %d, provider reads %d; want processing, token-2, 0, 0",
			res.State, rig.store.Job(testJobID).TaskToken, len(rig.tasks.Calls), rig.provider.Gets)
	}
}

func TestWatchOnSettledJobCompletesTokenAtOnce(t *testing.T) {
	for _, st := range []job.State{job.Completed, job.Stored, job.Failed, job.Expired} {
		j := openJob(st)
		j.TaskToken = ""
		rig := newWatchRig(j, testNow)
		if _, err := rig.w.Watch(context.Background(), testJobID, "token-2", 20*time.Second); err != nil {
			t.Fatalf("%s: Watch: %v", st, err)
		}
		want := []trackingtest.TaskCall{{Token: "token-2", Output: `{"state":"` + string(st) + `","waitSeconds":20}`}}
		if diff := cmp.Diff(want, rig.tasks.Calls); diff != "" {
			t.Errorf("%s: completions (-want +got):\n%s", st, diff)
		}
		if tok := rig.store.Job(testJobID).TaskToken; tok != "" {
			t.Errorf("%s: token %q kept on a settled job", st, tok)
		}
		if n := rig.provider.Gets; n != 0 {
			t.Errorf("%s: %d provider reads for a settled job", st, n)
		}
	}
}

// A due Watch entry polls, then: a job the poll settles completes the
// token; an open job keeps the workflow's wait when it is close to the
// chosen one (no completion: the timeout re-enters Watch), and otherwise
// fails the token with videojobs.Reschedule and the new wait.
func TestWatchPollsThenKeepsOrReschedules(t *testing.T) {
	tests := []struct {
		name      string
		prev      int
		prevAt    time.Time
		video     *aistats.Video
		segment   time.Duration
		wantState job.State
		wantWait  int
		want      []trackingtest.TaskCall
	}{
		{
			name:  "completed: the token carries the state",
			video: &aistats.Video{Status: aistats.StatusCompleted}, segment: 20 * time.Second,
			wantState: job.Completed,
			want:      []trackingtest.TaskCall{{Token: "token-2", Output: `{"state":"completed","waitSeconds":0}`}},
		},
		{
			name:  "first progress value: keep 20 s, the next poll gives the rate",
			video: &aistats.Video{Status: aistats.StatusProcessing, Progress: intp(6), ProgressSource: "provider"}, segment: 20 * time.Second,
			wantState: job.Processing, wantWait: 20,
		},
		{
			name: "second progress value: reschedule to the extrapolated end",
			prev: 6, prevAt: testNow.Add(-20 * time.Second),
			video: &aistats.Video{Status: aistats.StatusProcessing, Progress: intp(18), ProgressSource: "provider"}, segment: 20 * time.Second,
			// 82% left at 12% per 20 s = 136.7 s, +10% (rand 1) = 151 s.
			wantState: job.Processing, wantWait: 151,
			want: []trackingtest.TaskCall{{Token: "token-2", Error: tracking.RescheduleError, Cause: "151"}},
		},
		{
			name: "estimate close to the current wait: keep it",
			prev: 6, prevAt: testNow.Add(-20 * time.Second),
			video: &aistats.Video{Status: aistats.StatusProcessing, Progress: intp(18), ProgressSource: "provider"}, segment: 145 * time.Second,
			wantState: job.Processing, wantWait: 145,
		},
		{
			name:  "no progress: the wait doubles",
			video: &aistats.Video{Status: aistats.StatusQueued}, segment: 20 * time.Second,
			wantState: job.Queued, wantWait: 40,
			want: []trackingtest.TaskCall{{Token: "token-2", Error: tracking.RescheduleError, Cause: "40"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := openJob(job.Queued)
			j.TaskToken, j.PollCount, j.NextPollAt = "", 1, testNow
			j.Progress, j.ProgressAt = tt.prev, tt.prevAt
			j.PolledProgress, j.PolledProgressAt = tt.prev, tt.prevAt
			if tt.prev > 0 {
				j.State = job.Processing
			}
			rig := newWatchRig(j, testNow, tt.video)
			res, err := rig.w.Watch(context.Background(), testJobID, "token-2", tt.segment)
			if err != nil {
				t.Fatalf("Watch: %v", err)
			}
			got := rig.store.Job(testJobID)
			if res.State != tt.wantState || res.WaitSeconds != tt.wantWait || got.WaitSeconds != tt.wantWait {
				t.Errorf("state %s, wait %d s (stored %d s); want %s, %d s", res.State, res.WaitSeconds, got.WaitSeconds, tt.wantState, tt.wantWait)
			}
			if diff := cmp.Diff(tt.want, rig.tasks.Calls); diff != "" {
				t.Errorf("completions (-want +got):\n%s", diff)
			}
			wantToken := "token-2"
			if settledState(tt.wantState) {
				wantToken = ""
			}
			if got.TaskToken != wantToken {
				t.Errorf("token %q, want %q", got.TaskToken, wantToken)
			}
			if want := testNow.Add(time.Duration(tt.wantWait) * time.Second); tt.wantWait > 0 && !got.NextPollAt.Equal(want) {
				t.Errorf("next poll at %v, want %v", got.NextPollAt, want)
			}
			if rig.provider.Gets != 1 {
				t.Errorf("%d provider reads, want 1", rig.provider.Gets)
			}
		})
	}
}

func settledState(s job.State) bool { return s == job.Completed || s.Terminal() }

func intp(n int) *int { return &n }

func TestPollAppliesProviderStatus(t *testing.T) {
	tests := []struct {
		name      string
		from      job.State
		v         *aistats.Video
		wantState job.State
		wantWait  int
		wantErr   *job.Failure
		metric    string
	}{
		{"queued stays queued; the wait doubles", job.Queued, &aistats.Video{Status: aistats.StatusQueued, PollAfter: 20 * time.Second}, job.Queued, 40, nil, ""},
		{"accepted becomes queued", job.Accepted, &aistats.Video{Status: aistats.StatusQueued}, job.Queued, 40, nil, ""},
		{"processing", job.Queued, &aistats.Video{Status: aistats.StatusProcessing, Progress: intp(40), CancelURL: "https://gw.test/c"}, job.Processing, 40, nil, ""},
		{"longer poll_after honoured", job.Processing, &aistats.Video{Status: aistats.StatusProcessing, PollAfter: 60 * time.Second}, job.Processing, 120, nil, ""},
		{"completed", job.Processing, &aistats.Video{Status: aistats.StatusCompleted, Asset: &aistats.Asset{Bytes: 99}}, job.Completed, 0, nil, "JobsCompleted"},
		{"failed", job.Processing, &aistats.Video{Status: aistats.StatusFailed, Error: &aistats.VideoError{Code: "safety", Message: "blocked by provider"}}, job.Failed, 0,
			&job.Failure{Reason: tracking.ReasonGenerationFailed, Code: "safety", Message: "blocked by provider"}, "JobsFailed{Reason=generation_failed}"},
		{"expired", job.Queued, &aistats.Video{Status: aistats.StatusExpired}, job.Expired, 0, &job.Failure{Reason: tracking.ReasonExpired}, "JobsFailed{Reason=expired}"},
		{"cancelled", job.Processing, &aistats.Video{Status: aistats.StatusCancelled}, job.Cancelled, 0, &job.Failure{Reason: tracking.ReasonCancelled}, "JobsFailed{Reason=cancelled}"},
		{"provider behind local state is not applied", job.Processing, &aistats.Video{Status: aistats.StatusQueued}, job.Processing, 40, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rig := newWatchRig(openJob(tt.from), testNow, tt.v)
			res, err := rig.w.Poll(context.Background(), testJobID)
			if err != nil {
				t.Fatalf("Poll: %v", err)
			}
			if diff := cmp.Diff(tracking.WatchResult{State: tt.wantState, WaitSeconds: tt.wantWait}, res); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
			got := rig.store.Job(testJobID)
			if diff := cmp.Diff(tt.wantErr, got.Error); diff != "" {
				t.Errorf("job error (-want +got):\n%s", diff)
			}
			if got.PollCount != 1 || got.TaskToken != "" || got.ProviderStatus != string(tt.v.Status) {
				t.Errorf("polls %d, token %q, provider status %q", got.PollCount, got.TaskToken, got.ProviderStatus)
			}
			if tt.wantWait > 0 && !got.NextPollAt.Equal(testNow.Add(time.Duration(tt.wantWait)*time.Second)) {
				t.Errorf("next poll at %v, want now+%ds", got.NextPollAt, tt.wantWait)
			}
			if got.CanCancel != (tt.v.CancelURL != "") {
				t.Errorf("canCancel = %v", got.CanCancel)
			}
			if tt.metric != "" && rig.metrics.Get(tt.metric) != 1 {
				t.Errorf("metric %s = %v, want 1 (all: %v)", tt.metric, rig.metrics.Get(tt.metric), rig.metrics.All())
			}
			if rig.metrics.Get("Polls") != 1 {
				t.Errorf("Polls = %v, want 1", rig.metrics.Get("Polls"))
			}
		})
	}
}

func TestPollFailuresBackOffWithoutChangingState(t *testing.T) {
	reset := testNow.Add(10 * time.Minute)
	tests := []struct {
		name     string
		err      error
		prevWait int
		wantWait int
		status   string
	}{
		{"5xx doubles the previous wait (rand=1)", &aistats.APIError{HTTPStatus: 502, Code: "upstream_error"}, 20, 40, "502"},
		{"consecutive failures keep growing", &aistats.APIError{HTTPStatus: 500}, 80, 160, "500"},
		{"capped", &aistats.APIError{HTTPStatus: 503}, 250, 300, "503"},
		{"Retry-After", &aistats.APIError{HTTPStatus: 429, RetryAfter: 120 * time.Second}, 20, 120, "429"},
		{"key_limit_exceeded waits until reset_at", &aistats.APIError{HTTPStatus: 429, Code: "key_limit_exceeded", ResetAt: reset}, 20, 600, "429"},
		{"not ready", &aistats.APIError{HTTPStatus: 409, Code: "not_ready"}, 20, 40, "409"},
		{"transport failure", errors.New("dial tcp: connection refused"), 20, 40, "network"},
		{"unauthorised is waited out until the deadline", &aistats.APIError{HTTPStatus: 401, Code: "unauthorised"}, 20, 40, "401"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := openJob(job.Processing)
			j.WaitSeconds = tt.prevWait
			rig := newWatchRig(j, testNow)
			rig.provider.Errs = []error{tt.err}
			res, err := rig.w.Poll(context.Background(), testJobID)
			if err != nil {
				t.Fatalf("Poll: %v", err)
			}
			if diff := cmp.Diff(tracking.WatchResult{State: job.Processing, WaitSeconds: tt.wantWait}, res); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
			got := rig.store.Job(testJobID)
			if got.State != job.Processing || len(got.History) != 0 || got.Error != nil {
				t.Errorf("a failed poll changed state: %s %v %v", got.State, got.History, got.Error)
			}
			if got.PollCount != 1 || got.WaitSeconds != tt.wantWait {
				t.Errorf("polls %d wait %d, want 1, %d", got.PollCount, got.WaitSeconds, tt.wantWait)
			}
			if m := "ProviderErrors{Status=" + tt.status + "}"; rig.metrics.Get(m) != 1 {
				t.Errorf("%s = %v, want 1", m, rig.metrics.Get(m))
			}
		})
	}
}

func TestPollEndsJobsThatCannotFinish(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		reason string
	}{
		{"feature off (501)", &aistats.APIError{HTTPStatus: 501, Code: "not_implemented_yet", Reason: "video_api_temporarily_disabled"}, tracking.ReasonFeatureOff},
		{"video deleted", &aistats.APIError{HTTPStatus: 404, Code: "not_found", Reason: "video_deleted"}, tracking.ReasonVideoDeleted},
		{"not found", &aistats.APIError{HTTPStatus: 404, Code: "not_found", Reason: "video_not_found_or_not_owned"}, tracking.ReasonNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rig := newWatchRig(openJob(job.Processing), testNow)
			rig.provider.Errs = []error{tt.err}
			res, err := rig.w.Poll(context.Background(), testJobID)
			if err != nil {
				t.Fatalf("Poll: %v", err)
			}
			got := rig.store.Job(testJobID)
			if res.State != job.Failed || got.Error == nil || got.Error.Reason != tt.reason {
				t.Errorf("state %s, error %+v; want failed with %s", res.State, got.Error, tt.reason)
			}
			if rig.metrics.Get("JobsFailed{Reason="+tt.reason+"}") != 1 {
				t.Errorf("metrics = %v", rig.metrics.All())
			}
		})
	}
}

func TestPollDeadline(t *testing.T) {
	past := testNow.Add(time.Hour + time.Second) // the job was created at testNow-2m
	tests := []struct {
		name   string
		now    time.Time
		v      *aistats.Video
		err    error
		want   tracking.WatchResult
		reason string
	}{
		{"open past the deadline fails", past, &aistats.Video{Status: aistats.StatusProcessing}, nil, tracking.WatchResult{State: job.Failed}, tracking.ReasonDeadline},
		{"failing polls past the deadline fail", past, nil, &aistats.APIError{HTTPStatus: 503}, tracking.WatchResult{State: job.Failed}, tracking.ReasonDeadline},
		{"completed at the last poll still completes", past, &aistats.Video{Status: aistats.StatusCompleted}, nil, tracking.WatchResult{State: job.Completed}, ""},
		{"wait is cut to the deadline", testNow.Add(58*time.Minute - 5*time.Second), &aistats.Video{Status: aistats.StatusProcessing}, nil,
			tracking.WatchResult{State: job.Processing, WaitSeconds: 5}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var videos []*aistats.Video
			if tt.v != nil {
				videos = append(videos, tt.v)
			}
			rig := newWatchRig(openJob(job.Processing), tt.now, videos...)
			if tt.err != nil {
				rig.provider.Errs = []error{tt.err}
			}
			res, err := rig.w.Poll(context.Background(), testJobID)
			if err != nil {
				t.Fatalf("Poll: %v", err)
			}
			if diff := cmp.Diff(tt.want, res); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
			got := rig.store.Job(testJobID)
			if tt.reason != "" && (got.Error == nil || got.Error.Reason != tt.reason) {
				t.Errorf("error = %+v, want reason %s", got.Error, tt.reason)
			}
			if want := openJob(job.Processing).CreatedAt.Add(time.Hour); !got.Deadline.Equal(want) {
				t.Errorf("deadline = %v, want %v", got.Deadline, want)
			}
		})
	}
}

func TestPollSettledJobSkipsProvider(t *testing.T) {
	rig := newWatchRig(openJob(job.Completed), testNow)
	res, err := rig.w.Poll(context.Background(), testJobID)
	if err != nil {
		t.Fatalf("Poll: %v", err)
	}
	if res.State != job.Completed || rig.provider.Gets != 0 {
		t.Errorf("state %s, gets %d; want completed, 0", res.State, rig.provider.Gets)
	}
}

// A job whose provider job is not known (an ambiguous create, or submit
// stopped before recording the id) is reconciled by the poll: found by its
// webhook URL and adopted, or failed once the grace has passed. The create
// is never resent.
func TestPollReconcilesUnconfirmedCreate(t *testing.T) {
	found := &aistats.Video{ID: testProviderID, Status: aistats.StatusProcessing}
	tests := []struct {
		name       string
		submitted  time.Duration // before now; 0: never sent
		created    time.Duration // before now
		found      *aistats.Video
		findErr    error
		wantState  job.State
		wantReason string
		wantFinds  int
		wantGets   int
	}{
		{"not listed yet: keep looking", 30 * time.Second, 31 * time.Second, nil, nil, job.Accepted, "", 1, 0},
		{"listed: adopted and polled", 30 * time.Second, 31 * time.Second, found, nil, job.Processing, "", 1, 1},
		{"list fails: keep looking", 30 * time.Second, 31 * time.Second, nil, errors.New("502"), job.Accepted, "", 1, 0},
		{"not listed after the grace: failed", 3 * time.Minute, 3 * time.Minute, nil, nil, job.Failed, tracking.ReasonCreateUnconfirmed, 1, 0},
		{"several listed: failed at once", 30 * time.Second, 31 * time.Second, nil, aistats.ErrMultipleMatches, job.Failed, tracking.ReasonCreateAmbiguous, 1, 0},
		{"never sent, young: wait for submit", 0, 30 * time.Second, nil, nil, job.Accepted, "", 0, 0},
		{"never sent after the grace: failed", 0, 3 * time.Minute, nil, nil, job.Failed, tracking.ReasonCreateNotSent, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := openJob(job.Accepted)
			j.ProviderJobID = ""
			j.WebhookURL = "https://hooks.test/webhooks/ai-stats?job=" + testJobID
			j.CreatedAt = testNow.Add(-tt.created)
			if tt.submitted > 0 {
				j.SubmittedAt = testNow.Add(-tt.submitted)
			}
			rig := newWatchRig(j, testNow, found)
			rig.provider.Found, rig.provider.FindErr = tt.found, tt.findErr
			res, err := rig.w.Poll(context.Background(), testJobID)
			if err != nil {
				t.Fatalf("Poll: %v", err)
			}
			got := rig.store.Job(testJobID)
			if res.State != tt.wantState || got.State != tt.wantState {
				t.Errorf("state %s (stored %s), want %s", res.State, got.State, tt.wantState)
			}
			if tt.wantReason != "" && (got.Error == nil || got.Error.Reason != tt.wantReason) {
				t.Errorf("error %+v, want reason %s", got.Error, tt.wantReason)
			}
			if rig.provider.Finds != tt.wantFinds || rig.provider.Gets != tt.wantGets {
				t.Errorf("finds %d gets %d, want %d %d", rig.provider.Finds, rig.provider.Gets, tt.wantFinds, tt.wantGets)
			}
			if tt.found != nil && got.ProviderJobID != testProviderID {
				t.Errorf("provider id %q not adopted", got.ProviderJobID)
			}
		})
	}
}

// The provider's progress, observed twice, times the next poll for the
// extrapolated end of the generation; a first observation or a gateway
// estimate does not.
func TestPollTimesNextPollFromProgress(t *testing.T) {
	tests := []struct {
		name     string
		prev     int
		prevAt   time.Time
		source   string
		wantWait int
	}{
		{"10% → 30% in 40 s: 140 s left, +10% (rand 1)", 10, testNow.Add(-40 * time.Second), "provider", 154},
		{"first observation: doubling", 0, time.Time{}, "provider", 40},
		{"estimated progress: doubling", 10, testNow.Add(-40 * time.Second), "estimated", 40},
		{"no progress since: doubling", 30, testNow.Add(-40 * time.Second), "provider", 40},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := openJob(job.Processing)
			j.Progress, j.ProgressAt = tt.prev, tt.prevAt
			j.PolledProgress, j.PolledProgressAt = tt.prev, tt.prevAt
			v := &aistats.Video{Status: aistats.StatusProcessing, Progress: intp(30), ProgressSource: tt.source}
			rig := newWatchRig(j, testNow, v)
			res, err := rig.w.Poll(context.Background(), testJobID)
			if err != nil {
				t.Fatalf("Poll: %v", err)
			}
			if res.WaitSeconds != tt.wantWait {
				t.Errorf("wait %ds, want %ds", res.WaitSeconds, tt.wantWait)
			}
			if got := rig.store.Job(testJobID); tt.prev < 30 && (got.Progress != 30 || !got.ProgressAt.Equal(testNow)) {
				t.Errorf("progress %d at %v, want 30 at now", got.Progress, got.ProgressAt)
			}
		})
	}
}

// A progress webhook carries the gateway's rounded bucket (17% arrives as
// 20%): it shows on the job but does not enter the rate, or the poll after
// it would see no progress since the bucket and fall back to doubling.
func TestPollRateIgnoresWebhookBuckets(t *testing.T) {
	j := openJob(job.Processing)
	j.PolledProgress, j.PolledProgressAt = 6, testNow.Add(-20*time.Second)
	j.Progress, j.ProgressAt = 20, testNow.Add(-19*time.Second) // the bucket of 17%
	rig := newWatchRig(j, testNow, &aistats.Video{Status: aistats.StatusProcessing, Progress: intp(18), ProgressSource: "provider"})
	res, err := rig.w.Poll(context.Background(), testJobID)
	if err != nil {
		t.Fatalf("Poll: %v", err)
	}
	// 82% left at 12% per 20 s = 136.7 s, +10% (rand 1) = 151 s.
	if res.WaitSeconds != 151 {
		t.Errorf("wait %ds, want 151 s from the polled rate", res.WaitSeconds)
	}
	if got := rig.store.Job(testJobID); got.PolledProgress != 18 || !got.PolledProgressAt.Equal(testNow) || got.Progress != 20 {
		t.Errorf("polled %d at %v, shown %d; want 18 at now, 20", got.PolledProgress, got.PolledProgressAt, got.Progress)
	}
}

// Webhooks arriving do not stretch the wait: the gateway finalises a job
// only when something GETs it, so the poll schedule stays the same.
func TestPollWaitIgnoresWebhookArrivals(t *testing.T) {
	j := openJob(job.Queued)
	j.Deliveries.Received = 3
	rig := newWatchRig(j, testNow, &aistats.Video{Status: aistats.StatusProcessing})
	res, err := rig.w.Poll(context.Background(), testJobID)
	if err != nil {
		t.Fatalf("Poll: %v", err)
	}
	if res.WaitSeconds != 40 {
		t.Errorf("wait %ds, want the doubled 40 s", res.WaitSeconds)
	}
}

func TestPollStoreFailureIsAnError(t *testing.T) {
	rig := newWatchRig(openJob(job.Processing), testNow, &aistats.Video{Status: aistats.StatusCompleted})
	rig.store.UpdateErrs = []error{errors.New("throttled")}
	if _, err := rig.w.Poll(context.Background(), testJobID); err == nil {
		t.Fatal("Poll succeeded although the job write failed")
	}
	if got := rig.store.Job(testJobID); got.State != job.Processing {
		t.Errorf("state = %s, want processing", got.State)
	}
}

func TestFail(t *testing.T) {
	lambdaCause := `{"Error":"States.TaskFailed","Cause":"{\"errorMessage\":\"store job vj_x: copy: video size mismatch\",\"errorType\":\"wrapError\"}"}`
	tests := []struct {
		name  string
		from  job.State
		cause string
		want  job.State
		err   *job.Failure
	}{
		{"copy failure after completion", job.Completed, lambdaCause, job.Failed,
			&job.Failure{Reason: tracking.ReasonCopyFailed, Code: "States.TaskFailed", Message: "store job vj_x: copy: video size mismatch"}},
		{"workflow error on an open job", job.Processing, `{"Error":"States.Runtime","Cause":"boom"}`, job.Failed,
			&job.Failure{Reason: tracking.ReasonWorkflowError, Code: "States.Runtime", Message: "boom"}},
		{"plain string cause", job.Queued, `"copy_failed"`, job.Failed, &job.Failure{Reason: tracking.ReasonWorkflowError, Message: "copy_failed"}},
		{"already terminal stays", job.Expired, lambdaCause, job.Expired, nil},
		{"stored stays", job.Stored, lambdaCause, job.Stored, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rig := newWatchRig(openJob(tt.from), testNow)
			res, err := rig.w.Fail(context.Background(), testJobID, json.RawMessage(tt.cause))
			if err != nil {
				t.Fatalf("Fail: %v", err)
			}
			if res.State != tt.want {
				t.Errorf("state = %s, want %s", res.State, tt.want)
			}
			if diff := cmp.Diff(tt.err, rig.store.Job(testJobID).Error); diff != "" {
				t.Errorf("job error (-want +got):\n%s", diff)
			}
		})
	}
}
