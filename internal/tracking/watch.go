package tracking

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/videojobs/videojobs/internal/aistats"
	"github.com/videojobs/videojobs/internal/job"
	"github.com/videojobs/videojobs/internal/metrics"
)

// Defaults for WatchConfig (docs/internals.md "Function configuration").
const (
	DefaultPollCap     = 300 * time.Second
	DefaultJobDeadline = time.Hour
)

// WatchResult is the watch λ's answer: the job state the workflow's Route
// choice branches on (the output a settled job completes the Watch task
// with) and the wait before the next poll.
type WatchResult struct {
	State       job.State `json:"state"`
	WaitSeconds int       `json:"waitSeconds"`
}

// WatchConfig tunes the Watcher; zero fields take the defaults.
type WatchConfig struct {
	PollCap     time.Duration // POLL_INTERVAL_CAP_SECONDS
	JobDeadline time.Duration // JOB_DEADLINE_SECONDS after creation
	// UnconfirmedGrace bounds the search for the provider job of an
	// ambiguous create; DefaultUnconfirmedGrace when 0.
	UnconfirmedGrace time.Duration
	Now              func() time.Time
	Rand             func() float64 // uniform in [0, 1)
}

// Watcher serves the workflow's Watch (arm), Poll and MarkFailed (fail)
// steps.
type Watcher struct {
	store    Store
	provider Poller
	tasks    TaskNotifier
	metrics  Recorder
	cfg      WatchConfig
}

// NewWatcher returns a Watcher. A nil metrics discards metrics.
func NewWatcher(store Store, provider Poller, tasks TaskNotifier, metrics Recorder, cfg WatchConfig) *Watcher {
	if cfg.PollCap <= 0 {
		cfg.PollCap = DefaultPollCap
	}
	if cfg.JobDeadline <= 0 {
		cfg.JobDeadline = DefaultJobDeadline
	}
	if cfg.UnconfirmedGrace <= 0 {
		cfg.UnconfirmedGrace = DefaultUnconfirmedGrace
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Float64
	}
	if metrics == nil {
		metrics = Discard
	}
	return &Watcher{store: store, provider: provider, tasks: tasks, metrics: metrics, cfg: cfg}
}

// RescheduleError is the error name the Watch task is failed with when the
// next poll is due at another time than the current wait: the workflow's
// Catch assigns the cause (whole seconds) to $wait and re-enters Watch,
// one state transition (workflow/job.asl.json).
const RescheduleError = "videojobs.Reschedule"

// pollSlack is how early a Watch entry may come and still poll: Step
// Functions timeouts fire on whole seconds after the task started, which
// is a little after the wait was chosen.
const pollSlack = 2 * time.Second

// Watch serves the workflow's Watch step, entered once per poll with a new
// task token and the wait the workflow is running with (segment, $wait).
// When a poll is due it reads the provider and applies its status; then:
//   - a settled job completes the token with its state (Route goes on);
//   - an open job stores the token, so a webhook that settles the job can
//     wake the workflow early, and keeps the current wait when it is close
//     enough to the one NextWait chose (the timeout re-enters Watch: one
//     transition per poll);
//   - otherwise it fails the token with RescheduleError and the new wait,
//     which the workflow assigns to $wait before re-entering Watch.
//
// An entry that comes before the next poll is due (the one right after a
// reschedule) only stores the token. A completion that races a webhook's
// fails harmlessly as a stale token.
func (w *Watcher) Watch(ctx context.Context, jobID, token string, segment time.Duration) (WatchResult, error) {
	if token == "" {
		return WatchResult{}, fmt.Errorf("watch job %s: empty task token", jobID)
	}
	now := w.cfg.Now()
	cur, err := w.store.GetJob(ctx, jobID)
	if err != nil {
		return WatchResult{}, fmt.Errorf("watch job %s: %w", jobID, err)
	}
	var res WatchResult
	var reschedule bool
	if !settled(cur.State) && pollDue(cur, now) {
		res, reschedule, err = w.poll(ctx, cur, now, token, segment)
	} else {
		res, err = w.arm(ctx, jobID, token)
	}
	if err != nil {
		return res, fmt.Errorf("watch job %s: %w", jobID, err)
	}
	switch {
	case settled(res.State):
		err = wake(ctx, w.tasks, token, res)
	case reschedule:
		err = rescheduleTask(ctx, w.tasks, token, res.WaitSeconds)
	}
	if err != nil {
		return res, fmt.Errorf("watch job %s: %w", jobID, err)
	}
	return res, nil
}

// pollDue reports whether a Watch entry should read the provider: the job
// was never polled, its next poll time has come, or a webhook asked for a
// re-read (it sets NextPollAt to now).
func pollDue(j *job.Job, now time.Time) bool {
	return j.PollCount == 0 || j.NextPollAt.IsZero() || !now.Before(j.NextPollAt.Add(-pollSlack))
}

// arm stores the task token on an open job; a settled job keeps none, as
// nobody else would wake it (Watch completes it at once).
func (w *Watcher) arm(ctx context.Context, jobID, token string) (WatchResult, error) {
	j, err := w.store.UpdateJob(ctx, jobID, func(j *job.Job) error {
		if settled(j.State) {
			j.TaskToken = ""
			return nil
		}
		j.TaskToken = token
		return nil
	})
	if err != nil {
		return WatchResult{}, fmt.Errorf("arm: %w", err)
	}
	return WatchResult{State: j.State, WaitSeconds: j.WaitSeconds}, nil
}

// Poll reads the job from the provider, applies its status (monotonically),
// records the poll and returns the next wait; it stores no task token. It
// serves workflows that poll from a plain Task (the fixed-loop baseline of
// bench/ and workflow/testdata, and operators' manual runs).
func (w *Watcher) Poll(ctx context.Context, jobID string) (WatchResult, error) {
	now := w.cfg.Now()
	cur, err := w.store.GetJob(ctx, jobID)
	if err != nil {
		return WatchResult{}, fmt.Errorf("poll job %s: %w", jobID, err)
	}
	if settled(cur.State) {
		return WatchResult{State: cur.State}, nil
	}
	res, _, err := w.poll(ctx, cur, now, "", 0)
	if err != nil {
		return res, fmt.Errorf("poll job %s: %w", jobID, err)
	}
	return res, nil
}

// poll reads the provider for cur, applies its status and chooses the next
// wait. A failed poll never changes the job's state, it only backs off; a
// job still open at its deadline ends failed with reason "deadline"; a
// feature-off (501) or a job the provider no longer knows (404) ends failed
// at once, as no later poll can succeed. With a token, the same write arms
// the open job with it, and reschedule tells whether the workflow's
// current wait (segment) must change to the chosen one.
func (w *Watcher) poll(ctx context.Context, cur *job.Job, now time.Time, token string, segment time.Duration) (res WatchResult, reschedule bool, err error) {
	jobID := cur.ID
	var v, adopted *aistats.Video
	var getErr, findErr error
	providerID := cur.ProviderJobID
	if providerID == "" && !cur.SubmittedAt.IsZero() {
		// The create's outcome was ambiguous, or submit stopped before
		// recording it: look for the provider job by the webhook URL that
		// carries this job's id (provider-contract.md §3.3). Never resend.
		adopted, findErr = w.provider.FindByWebhookURL(ctx, cur.WebhookURL)
		if findErr == nil {
			providerID = adopted.ID
		}
	}
	if providerID == "" {
		getErr = errNoProviderJob
	} else {
		v, getErr = w.provider.Get(ctx, providerID)
	}
	w.metrics.Add(metrics.Polls, 1)
	if getErr != nil && !errors.Is(getErr, errNoProviderJob) {
		w.metrics.Add(metrics.ProviderErrors, 1, metrics.Status(errorStatus(getErr)))
	}
	rnd := w.cfg.Rand()

	var e effect
	var wait time.Duration
	j, err := w.store.UpdateJob(ctx, jobID, func(j *job.Job) error {
		e, wait, reschedule = effect{}, 0, false
		j.PollCount++
		// A token stored earlier is spent: it timed out into this poll.
		j.TaskToken = ""
		if j.Deadline.IsZero() {
			j.Deadline = j.CreatedAt.Add(w.cfg.JobDeadline)
		}
		if settled(j.State) {
			return nil
		}
		in := WaitInput{Now: now, Deadline: j.Deadline, Prev: time.Duration(j.WaitSeconds) * time.Second, Cap: w.cfg.PollCap, Rand: rnd}
		if adopted != nil && j.ProviderJobID == "" {
			j.ProviderJobID = adopted.ID
		}
		firstSample := false
		switch {
		case getErr == nil:
			prev, prevAt := j.PolledProgress, j.PolledProgressAt
			if err := observe(j, v, job.SourcePoll, now, &e); err != nil {
				return err
			}
			in.PollAfter = v.PollAfter
			in.Remaining = remaining(prev, prevAt, v, now)
			firstSample = prevAt.IsZero() && !j.PolledProgressAt.IsZero()
		case errors.Is(getErr, errNoProviderJob):
			if f := w.unconfirmed(j, findErr, now); f != nil {
				if err := transition(j, job.Failed, job.SourcePoll, now, f, &e); err != nil {
					return err
				}
			}
		default:
			if f := finalPollFailure(getErr); f != nil {
				if err := transition(j, job.Failed, job.SourcePoll, now, f, &e); err != nil {
					return err
				}
			}
			in.RetryAfter, _ = aistats.RetryAfter(getErr, now)
		}
		if !settled(j.State) && !now.Before(j.Deadline) {
			f := &job.Failure{Reason: ReasonDeadline, Message: "not finished within " + w.cfg.JobDeadline.String() + " of submission"}
			if err := transition(j, job.Failed, job.SourcePoll, now, f, &e); err != nil {
				return err
			}
		}
		if settled(j.State) {
			j.WaitSeconds, j.NextPollAt = 0, time.Time{}
			return nil
		}
		wait = NextWait(in)
		if token != "" {
			j.TaskToken = token
			if KeepWait(segment, wait, in, firstSample) {
				wait = segment
			} else {
				reschedule = true
			}
		}
		j.WaitSeconds = int(wait / time.Second)
		j.NextPollAt = now.Add(wait)
		return nil
	})
	if err != nil {
		return WatchResult{}, false, err
	}
	emit(w.metrics, j, e, now)
	return WatchResult{State: j.State, WaitSeconds: int(wait / time.Second)}, reschedule, nil
}

var errNoProviderJob = errors.New("no provider job id yet")

// remaining extrapolates the provider's own progress to the end of the
// generation from two observations: the job's last polled progress (prev
// at prevAt) and v's. Only a value the provider reported (not the
// gateway's estimate) on a processing job that moved forward counts;
// otherwise 0. The gateway's started_at is not used: it is set when the
// gateway first observes processing, which may be this very poll.
func remaining(prev int, prevAt time.Time, v *aistats.Video, now time.Time) time.Duration {
	if v.Status != aistats.StatusProcessing || v.Progress == nil || v.ProgressSource != "provider" || prevAt.IsZero() {
		return 0
	}
	p, dt := *v.Progress, now.Sub(prevAt)
	if p <= prev || p >= 100 || dt <= 0 {
		return 0
	}
	return dt * time.Duration(100-p) / time.Duration(p-prev)
}

// DefaultUnconfirmedGrace is how long a job may wait for its provider job
// to show up in the gateway's list after an ambiguous create (the contract
// suggests about a minute of re-checks).
const DefaultUnconfirmedGrace = 2 * time.Minute

// unconfirmed decides the fate of a job whose provider job is not known:
// nil to keep looking, or the failure that ends it. The create is never
// resent from here: a list that lags or filters could make a resend a
// second billed job, and the client can resubmit deliberately.
func (w *Watcher) unconfirmed(j *job.Job, findErr error, now time.Time) *job.Failure {
	if errors.Is(findErr, aistats.ErrMultipleMatches) {
		return &job.Failure{Reason: ReasonCreateAmbiguous, Message: "several gateway jobs carry this job's webhook URL"}
	}
	since := j.SubmittedAt
	if since.IsZero() {
		since = j.CreatedAt
	}
	if now.Sub(since) < w.cfg.UnconfirmedGrace {
		return nil
	}
	if j.SubmittedAt.IsZero() {
		return &job.Failure{Reason: ReasonCreateNotSent, Message: "the create was never sent to the gateway; resubmit"}
	}
	return &job.Failure{Reason: ReasonCreateUnconfirmed, Message: "the gateway's create outcome was ambiguous and no gateway job carries this job's webhook URL; resubmit"}
}

// finalPollFailure returns the failure for provider errors that no later
// poll can cure, or nil for those worth waiting out.
func finalPollFailure(err error) *job.Failure {
	var ae *aistats.APIError
	errors.As(err, &ae)
	switch {
	case errors.Is(err, aistats.ErrFeatureOff):
		f := &job.Failure{Reason: ReasonFeatureOff, Message: "the gateway's video API is switched off (501)"}
		if ae != nil {
			f.Code = ae.Reason
		}
		return f
	case errors.Is(err, aistats.ErrDeleted):
		return &job.Failure{Reason: ReasonVideoDeleted, Message: "the provider deleted the job", Code: "video_deleted"}
	case errors.Is(err, aistats.ErrNotFound):
		f := &job.Failure{Reason: ReasonNotFound, Message: "the provider does not know the job"}
		if ae != nil {
			f.Code = ae.Reason
		}
		return f
	}
	return nil
}

// errorStatus is the ProviderErrors Status dimension: the HTTP status, or
// "transport" for failures below HTTP.
func errorStatus(err error) string {
	var ae *aistats.APIError
	if errors.As(err, &ae) {
		return strconv.Itoa(ae.HTTPStatus)
	}
	return "network"
}

// Fail ends the job failed because a workflow step kept failing, unless it
// is already terminal. cause is the workflow's error object
// ({"Error":…,"Cause":…}) or a plain string. A failure after the provider
// completed can only be the copy, so it is reported as copy_failed.
func (w *Watcher) Fail(ctx context.Context, jobID string, cause json.RawMessage) (WatchResult, error) {
	now := w.cfg.Now()
	name, msg := describeCause(cause)
	var e effect
	j, err := w.store.UpdateJob(ctx, jobID, func(j *job.Job) error {
		e = effect{}
		reason := ReasonWorkflowError
		if j.State == job.Completed {
			reason = ReasonCopyFailed
		}
		j.TaskToken = ""
		j.WaitSeconds, j.NextPollAt = 0, time.Time{}
		return transition(j, job.Failed, job.SourceWorkflow, now, &job.Failure{Reason: reason, Code: name, Message: msg}, &e)
	})
	if err != nil {
		return WatchResult{}, fmt.Errorf("fail job %s: %w", jobID, err)
	}
	emit(w.metrics, j, e, now)
	return WatchResult{State: j.State}, nil
}

// maxCauseMessage bounds the error text kept on a job.
const maxCauseMessage = 500

// describeCause extracts the error name and message from a Step Functions
// error object, whose Cause is itself the Lambda error JSON
// ({"errorMessage","errorType"}) for function errors.
func describeCause(raw json.RawMessage) (name, msg string) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return "", clipText(s)
	}
	var obj struct {
		Error string `json:"Error"`
		Cause string `json:"Cause"`
	}
	if json.Unmarshal(raw, &obj) != nil {
		return "", ""
	}
	var lambdaErr struct {
		ErrorMessage string `json:"errorMessage"`
		ErrorType    string `json:"errorType"`
	}
	msg = obj.Cause
	if json.Unmarshal([]byte(obj.Cause), &lambdaErr) == nil && lambdaErr.ErrorMessage != "" {
		msg = lambdaErr.ErrorMessage
	}
	return clipText(obj.Error), clipText(msg)
}

func clipText(s string) string {
	s = strings.TrimSpace(s)
	if len(s) <= maxCauseMessage {
		return s
	}
	s = strings.ToValidUTF8(s[:maxCauseMessage], "")
	return s + "…"
}

// wake completes the workflow's waiting Watch task with the job's state. A
// token the workflow no longer waits on (it timed out into a poll, or was
// completed already) is not an error: the poll path sees the same state.
func wake(ctx context.Context, tasks TaskNotifier, token string, res WatchResult) error {
	out, err := json.Marshal(res)
	if err != nil {
		return fmt.Errorf("wake workflow: %w", err)
	}
	_, err = tasks.SendTaskSuccess(ctx, &sfn.SendTaskSuccessInput{TaskToken: aws.String(token), Output: aws.String(string(out))})
	if err == nil || staleToken(err) {
		return nil
	}
	return fmt.Errorf("wake workflow: %w", err)
}

// rescheduleTask fails the workflow's waiting Watch task with
// RescheduleError so that it re-enters Watch with the given wait. A stale
// token is not an error, as in wake.
func rescheduleTask(ctx context.Context, tasks TaskNotifier, token string, waitSeconds int) error {
	_, err := tasks.SendTaskFailure(ctx, &sfn.SendTaskFailureInput{
		TaskToken: aws.String(token),
		Error:     aws.String(RescheduleError),
		Cause:     aws.String(strconv.Itoa(max(waitSeconds, 1))),
	})
	if err == nil || staleToken(err) {
		return nil
	}
	return fmt.Errorf("reschedule workflow: %w", err)
}

func staleToken(err error) bool {
	var timedOut *types.TaskTimedOut
	var invalid *types.InvalidToken
	var gone *types.TaskDoesNotExist
	return errors.As(err, &timedOut) || errors.As(err, &invalid) || errors.As(err, &gone)
}
