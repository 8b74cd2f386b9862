package tracking

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/videojobs/videojobs/internal/aistats"
	"github.com/videojobs/videojobs/internal/job"
	"github.com/videojobs/videojobs/internal/jobstore"
	"github.com/videojobs/videojobs/internal/metrics"
	"github.com/videojobs/videojobs/internal/webhook"
)

// Rejection reasons the Receiver adds to webhook.Reason's (WebhookRejected
// dimension).
const (
	// RejectBadJob: the job query parameter is missing or not a job id.
	RejectBadJob = "bad_job_id"
	// RejectUnknownJob: a signature verified for a job id we do not hold.
	RejectUnknownJob = "unknown_job"
	// RejectJobMismatch: the signed payload names another provider job.
	RejectJobMismatch = "job_mismatch"
	// RejectMalformed: a verified body that is not a usable delivery
	// (answered 400, not 401, but counted with the rejections).
	RejectMalformed = "malformed"
)

// RejectError is a delivery refused before it changed anything: the caller
// answers 401, or 413 when Reason is webhook.ReasonTooLarge.
type RejectError struct{ Reason string }

func (e *RejectError) Error() string { return "webhook rejected: " + e.Reason }

// ErrMalformed marks a delivery that verified but cannot be used (400).
var ErrMalformed = webhook.ErrMalformed

// ErrJobNotReady: the delivery verified but cannot be acted on yet: the
// job's provider id is not stored yet (the create reply is still being
// persisted), or the delivery claims an outcome the gateway did not confirm
// in time while no workflow task waits to re-read it. The caller answers
// 503 so the gateway retries.
var ErrJobNotReady = errors.New("job not ready for this delivery")

// jobIDPattern is "vj_" + a 26-char Crockford ULID (docs/internals.md).
var jobIDPattern = regexp.MustCompile(`^vj_[0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{26}$`)

// ValidJobID reports whether id has the shape of a videojobs job id.
func ValidJobID(id string) bool { return jobIDPattern.MatchString(id) }

// Delivery is one inbound webhook request as the HTTP API hands it over.
type Delivery struct {
	JobID    string // the job query parameter
	Headers  webhook.Headers
	Body     string
	IsBase64 bool
}

// Outcome says what the Receiver did with a verified delivery.
type Outcome string

// Outcomes.
const (
	OutcomeApplied   Outcome = "applied"   // the job moved to a new state
	OutcomeRecorded  Outcome = "recorded"  // counted; the state already agreed
	OutcomeDuplicate Outcome = "duplicate" // seen before
	OutcomeLate      Outcome = "late"      // behind the job's state: counted, not applied
)

// Receipt describes a delivery the Receiver accepted (answered 2xx).
type Receipt struct {
	JobID     string
	State     job.State
	Outcome   Outcome
	EventType string
	Attempt   int
	// Reconciled is set when the provider was re-read before acting.
	Reconciled bool
	// Recheck is set when the provider did not answer in time and the
	// workflow was woken to re-read the job itself.
	Recheck bool
}

// ReceiverConfig configures a Receiver.
type ReceiverConfig struct {
	// MasterSecretARN names the master webhook secret; per-job secrets
	// are derived from its current and previous versions.
	MasterSecretARN string
	// ProviderTimeout bounds the reconciling GET so the webhook answers
	// within 1 s at p99 (design.md guarantee 5). The gateway's GET can take
	// seconds (it queries the provider live): when it does not answer in
	// time for a delivery claiming an outcome, the delivery is recorded and
	// the workflow is woken to re-read the job in its next Watch step.
	ProviderTimeout time.Duration
	Now             func() time.Time
}

// DefaultProviderTimeout bounds the Receiver's reconciling GET.
const DefaultProviderTimeout = 600 * time.Millisecond

// Receiver handles signed webhook deliveries.
type Receiver struct {
	store    DeliveryStore
	provider StatusReader
	tasks    TaskNotifier
	secrets  Secrets
	metrics  Recorder
	verifier *webhook.Verifier
	cfg      ReceiverConfig
}

// NewReceiver returns a Receiver. A nil metrics discards metrics.
func NewReceiver(store DeliveryStore, provider StatusReader, tasks TaskNotifier, secrets Secrets, metrics Recorder, cfg ReceiverConfig) *Receiver {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.ProviderTimeout <= 0 {
		cfg.ProviderTimeout = DefaultProviderTimeout
	}
	if metrics == nil {
		metrics = Discard
	}
	return &Receiver{store: store, provider: provider, tasks: tasks, secrets: secrets, metrics: metrics,
		verifier: webhook.NewVerifier(cfg.Now), cfg: cfg}
}

// Receive authenticates, dedupes and applies one delivery.
//
// The order is what makes it safe to retry at any step:
//  1. verify the HMAC on the raw bytes with the job's derived secrets
//     (current and previous master) before parsing anything;
//  2. check the signed payload belongs to the job's provider job;
//  3. decide from local state whether the event needs the provider's
//     word, and GET it before writing anything (a failed GET → 5xx, nothing
//     recorded);
//  4. record the delivery durably (the dedupe claim);
//  5. one conditional job write: counters, gateway summary, and the
//     provider's state through the monotonic transition;
//  6. wake the workflow when the job is settled.
//
// State changes do not depend on the dedupe claim: a duplicate still
// applies what the provider says when local state disagrees with the
// event. So if step 5 or 6 fails after step 4 succeeded, the gateway's
// retry (now a "duplicate") still completes the update and the wake-up;
// only the counters tell first deliveries from repeats.
//
// Errors: *RejectError (401/413), ErrMalformed (400), ErrJobNotReady (503),
// anything else is transient (500).
func (r *Receiver) Receive(ctx context.Context, d Delivery) (Receipt, error) {
	rc := Receipt{JobID: d.JobID}
	if !ValidJobID(d.JobID) {
		return rc, r.reject(RejectBadJob)
	}
	raw, err := webhook.RawBody(d.Body, d.IsBase64)
	if rej := (*webhook.RejectError)(nil); errors.As(err, &rej) {
		return rc, r.reject(string(rej.Reason))
	} else if err != nil {
		return rc, fmt.Errorf("webhook for job %s: %w", d.JobID, err)
	}
	current, previous, err := r.secrets.Versions(ctx, r.cfg.MasterSecretARN)
	if err != nil {
		return rc, fmt.Errorf("webhook for job %s: master secret: %w", d.JobID, err)
	}
	secrets := []string{webhook.DeriveSecret([]byte(current), d.JobID)}
	if previous != "" {
		secrets = append(secrets, webhook.DeriveSecret([]byte(previous), d.JobID))
	}
	if _, err := r.verifier.Verify(d.Headers, raw, secrets); err != nil {
		var rej *webhook.RejectError
		if errors.As(err, &rej) {
			return rc, r.reject(string(rej.Reason))
		}
		return rc, fmt.Errorf("webhook for job %s: %w", d.JobID, err)
	}
	p, err := webhook.Parse(raw)
	if err != nil {
		r.metrics.Add(metrics.WebhookRejected, 1, metrics.Reason(RejectMalformed))
		return rc, fmt.Errorf("webhook for job %s: %w", d.JobID, err)
	}
	rc.EventType, rc.Attempt = p.Type, p.Delivery.Attempt

	cur, err := r.store.GetJob(ctx, d.JobID)
	if errors.Is(err, job.ErrNotFound) {
		return rc, r.reject(RejectUnknownJob)
	} else if err != nil {
		return rc, fmt.Errorf("webhook for job %s: %w", d.JobID, err)
	}
	if p.Data.ID == "" {
		r.metrics.Add(metrics.WebhookRejected, 1, metrics.Reason(RejectMalformed))
		return rc, fmt.Errorf("webhook for job %s: payload names no job: %w", d.JobID, ErrMalformed)
	}
	providerID := cur.ProviderJobID
	switch {
	case providerID == "" && cur.SubmittedAt.IsZero():
		// No create was sent for this job yet: nothing can be bound.
		return rc, fmt.Errorf("webhook for job %s: %w", d.JobID, ErrJobNotReady)
	case providerID == "":
		// The create's reply is not recorded yet (the created event can
		// outrun it), or the create was ambiguous. The delivery is signed
		// with this job's own derived secret, which only the gateway job
		// created for this job holds, so the job it names is this job's:
		// bind it now instead of making the gateway retry in a minute.
		providerID = p.Data.ID
	case p.Data.ID != providerID:
		return rc, r.reject(RejectJobMismatch)
	}
	r.metrics.Add(metrics.WebhooksReceived, 1)
	if p.Delivery.Attempt > 1 {
		r.metrics.Add(metrics.WebhookRetries, 1, metrics.Attempt(p.Delivery.Attempt))
	}

	event, known := eventState(p)
	var v *aistats.Video
	var recheck bool
	if needsProvider(cur.State, event, known) {
		gctx, cancel := context.WithTimeout(ctx, r.cfg.ProviderTimeout)
		v, err = r.provider.Get(gctx, providerID)
		cancel()
		if err != nil {
			r.metrics.Add(metrics.ProviderErrors, 1, metrics.Status(errorStatus(err)))
		}
		switch {
		case err == nil:
			rc.Reconciled = true
		case known && settled(event):
			// The delivery claims an outcome but the gateway did not
			// confirm it in time: record the delivery and hand the re-read
			// to the workflow's Poll step instead of answering late.
			recheck = true
		default:
			return rc, fmt.Errorf("webhook for job %s: reconcile with provider: %w", d.JobID, err)
		}
	}

	now := r.cfg.Now()
	dup, err := r.store.RecordDelivery(ctx, jobstore.DeliveryRecord{
		PayloadID:   p.ID,
		JobID:       d.JobID,
		DeliveryKey: p.Delivery.Key,
		EventType:   p.Type,
		Attempt:     p.Delivery.Attempt,
		ReceivedAt:  now,
	})
	if err != nil {
		return rc, fmt.Errorf("webhook for job %s: %w", d.JobID, err)
	}

	var e effect
	var late bool
	j, err := r.store.UpdateJob(ctx, d.JobID, func(j *job.Job) error {
		e, late = effect{}, false
		if j.ProviderJobID == "" {
			j.ProviderJobID = providerID
		} else if j.ProviderJobID != providerID {
			return fmt.Errorf("job bound to another provider job meanwhile: %w", job.ErrConflict)
		}
		j.Deliveries.Received++
		j.Deliveries.LastReceivedAt = now
		if dup {
			j.Deliveries.Duplicates++
		}
		if p.Delivery.Attempt > 1 {
			j.Deliveries.Retries++
		}
		mergeGateway(j, gatewaySummary(p.Data.Webhook.Delivery), &e)
		// A late event is counted even when it is also a duplicate: the
		// gateway's retry of an early progress event landing after the
		// job completed is exactly the out-of-order case operators watch.
		if known && behind(event, j.State) {
			late = true
			j.Deliveries.Late++
		}
		if recheck && !settled(j.State) {
			// The workflow's next Watch entry polls at once.
			j.NextPollAt = now
		}
		if v != nil {
			return observe(j, v, job.SourceWebhook, now, &e)
		}
		if known && event == j.State && event == job.Processing && p.Data.Progress != nil && *p.Data.Progress > j.Progress {
			j.Progress, j.ProgressAt = *p.Data.Progress, now
		}
		return nil
	})
	if err != nil {
		return rc, fmt.Errorf("webhook for job %s: %w", d.JobID, err)
	}
	emit(r.metrics, j, e, now)
	rc.State = j.State
	if dup {
		r.metrics.Add(metrics.WebhookDuplicates, 1)
	}
	if late {
		r.metrics.Add(metrics.WebhookLate, 1)
	}
	switch {
	case dup:
		rc.Outcome = OutcomeDuplicate
	case late:
		rc.Outcome = OutcomeLate
	case e.applied:
		rc.Outcome = OutcomeApplied
	default:
		rc.Outcome = OutcomeRecorded
	}

	switch {
	case settled(j.State) && j.TaskToken != "":
		if err := r.wakeOnce(ctx, j, WatchResult{State: j.State, WaitSeconds: j.WaitSeconds}); err != nil {
			return rc, fmt.Errorf("webhook for job %s: %w", d.JobID, err)
		}
	case recheck && j.TaskToken != "":
		rc.Recheck = true
		if err := r.dropTokenAfter(ctx, j, func(token string) error {
			return rescheduleTask(ctx, r.tasks, token, j.WaitSeconds)
		}); err != nil {
			return rc, fmt.Errorf("webhook for job %s: %w", d.JobID, err)
		}
	case recheck && !settled(j.State):
		// No workflow task is waiting (a poll is under way, or the next
		// Watch has not armed yet): ask the gateway to retry later rather
		// than leave the outcome to the next scheduled poll.
		return rc, fmt.Errorf("webhook for job %s: provider did not confirm the outcome in time: %w", d.JobID, ErrJobNotReady)
	}
	return rc, nil
}

// wakeOnce completes the workflow's waiting task, then drops the token so
// later deliveries to the settled job do not wake it again. The token is
// dropped only after the wake succeeded: if the wake fails, the 5xx makes
// the gateway retry, and the retry (a duplicate) wakes it then.
func (r *Receiver) wakeOnce(ctx context.Context, j *job.Job, res WatchResult) error {
	return r.dropTokenAfter(ctx, j, func(token string) error { return wake(ctx, r.tasks, token, res) })
}

// dropTokenAfter completes j's task token with complete, then drops the
// token from the job unless a newer one replaced it meanwhile.
func (r *Receiver) dropTokenAfter(ctx context.Context, j *job.Job, complete func(token string) error) error {
	token := j.TaskToken
	if err := complete(token); err != nil {
		return err
	}
	_, err := r.store.UpdateJob(ctx, j.ID, func(j *job.Job) error {
		if j.TaskToken == token {
			j.TaskToken = ""
		}
		return nil
	})
	return err
}

func (r *Receiver) reject(reason string) error {
	r.metrics.Add(metrics.WebhookRejected, 1, metrics.Reason(reason))
	return &RejectError{Reason: reason}
}

// eventState is the job state a delivery claims, from its phase or, for
// progress and unknown event types, from its data status. known is false
// when the delivery says nothing usable about the state.
func eventState(p *webhook.Delivery) (s job.State, known bool) {
	switch p.EventPhase() {
	case webhook.PhaseCompleted:
		return job.Completed, true
	case webhook.PhaseFailed:
		return job.Failed, true
	case webhook.PhaseCancelled:
		return job.Cancelled, true
	case webhook.PhaseExpired:
		return job.Expired, true
	case webhook.PhaseStatusChanged, webhook.PhaseUnknown:
		// Unknown event types are verified, deduped and answered 2xx,
		// and the job is re-read (provider-contract.md §9).
		return "", false
	}
	status, lifecycle := p.Data.Status, p.Data.LifecycleStatus
	if status == "" {
		status = lifecycle
	}
	if status == "" {
		if p.EventPhase() == webhook.PhaseCreated {
			return job.Queued, true
		}
		return job.Processing, p.EventPhase() == webhook.PhaseProgress
	}
	st, ok := aistats.ParseStatus(status)
	if !ok {
		return "", false
	}
	return StateOf(st), true
}

// rankOf orders states the way job.Transition does: settled states (the
// provider's completion and every terminal state) share the top.
func rankOf(s job.State) int {
	switch s {
	case job.Accepted:
		return 0
	case job.Queued:
		return 1
	case job.Processing:
		return 2
	}
	return 3
}

// behind reports whether an event arrived after the job moved past it: a
// progress event after completion, a completed event after the video was
// stored, any other outcome than the one the job settled on.
func behind(event, local job.State) bool {
	if event == local {
		return false
	}
	if local == job.Stored && event == job.Completed {
		return true
	}
	return rankOf(event) < rankOf(local) || settled(local)
}

// needsProvider reports whether the provider must be re-read before
// acting: the event claims an outcome or progress local state does not
// have yet, or says nothing usable. A settled job never changes, so it
// needs no GET.
func needsProvider(local, event job.State, known bool) bool {
	if settled(local) {
		return false
	}
	if !known {
		return true
	}
	return event != local && !behind(event, local)
}

// gatewaySummary converts the webhook's copy of the gateway's delivery
// summary; its timestamps arrive as strings.
func gatewaySummary(d webhook.DeliverySummary) job.GatewayDelivery {
	g := job.GatewayDelivery{
		TotalAttempts:      d.TotalAttempts,
		DeliveredEvents:    d.DeliveredEvents,
		PendingRetries:     d.PendingRetries,
		LastAttemptStatus:  d.LastAttemptStatus,
		LastResponseStatus: d.LastResponseStatus,
		LastErrorMessage:   d.LastErrorMessage,
	}
	if t, err := time.Parse(time.RFC3339Nano, d.LastFailureAt); err == nil {
		g.LastFailureAt = t
	}
	return g
}
