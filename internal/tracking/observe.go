package tracking

import (
	"errors"
	"time"

	"github.com/videojobs/videojobs/internal/aistats"
	"github.com/videojobs/videojobs/internal/job"
	"github.com/videojobs/videojobs/internal/metrics"
)

// Failure reasons this package sets on jobs (job.Failure.Reason). They are
// metric dimensions (JobsFailed{Reason}), so they stay short and stable.
const (
	ReasonGenerationFailed = "generation_failed"
	ReasonCancelled        = "cancelled"
	ReasonExpired          = "expired"
	ReasonDeadline         = "deadline"
	ReasonFeatureOff       = "feature_off"
	ReasonNotFound         = "not_found"
	ReasonVideoDeleted     = "video_deleted"
	ReasonCopyFailed       = "copy_failed"
	ReasonWorkflowError    = "workflow_error"
	// An ambiguous create whose provider job never showed up, a create
	// never sent (submit stopped first), or several gateway jobs claiming
	// one job: the job ends failed and the client resubmits deliberately.
	ReasonCreateUnconfirmed = "create_unconfirmed"
	ReasonCreateNotSent     = "create_not_sent"
	ReasonCreateAmbiguous   = "create_ambiguous"
)

// settled reports whether the provider is done with a job, so the workflow
// moves on (to Store, or to publishing the outcome) instead of waiting.
func settled(s job.State) bool { return s == job.Completed || s.Terminal() }

// StateOf maps a canonical provider status to the job state it implies. It
// is the one such mapping: intake applies it to the create reply, tracking
// to webhook deliveries and polls. An unknown status reads as queued, which
// moves a job nowhere it could not leave.
func StateOf(s aistats.Status) job.State {
	switch s {
	case aistats.StatusProcessing:
		return job.Processing
	case aistats.StatusCompleted:
		return job.Completed
	case aistats.StatusFailed:
		return job.Failed
	case aistats.StatusCancelled:
		return job.Cancelled
	case aistats.StatusExpired:
		return job.Expired
	}
	return job.Queued
}

// effect is what one write did to a job, collected inside the UpdateJob
// callback (which may run more than once: only the last run counts) and
// turned into metrics after the write succeeded.
type effect struct {
	from, to job.State
	applied  bool
	reason   string // failure reason when the applied state is a failure
	// gatewayFailures is the growth of the gateway's count of failed
	// delivery attempts seen in this write.
	gatewayFailures int
	// lastResponse is the gateway's last recorded response status from
	// our endpoint, when this write carried a delivery summary.
	lastResponse int
}

// transition applies a state change through job.Transition (or job.Fail
// for the failure family) and records what happened in e. A stale or
// impossible move is not an error here: the provider and the webhooks are
// only ever hints against a job that may already have moved on, and the
// job keeps its state.
func transition(j *job.Job, to job.State, src job.Source, now time.Time, f *job.Failure, e *effect) error {
	from := j.State
	var res job.Result
	var err error
	if f != nil {
		res, err = j.Fail(to, src, now, *f)
	} else {
		res, err = j.Transition(to, src, now, "")
	}
	switch {
	case errors.Is(err, job.ErrStaleTransition), errors.Is(err, job.ErrInvalidTransition):
		return nil
	case err != nil:
		return err
	}
	if res == job.Applied {
		e.from, e.to, e.applied = from, to, true
		if f != nil {
			e.reason = f.Reason
		}
	}
	return nil
}

// observe applies what a provider GET said about the job: the state through
// the monotonic transition, plus the bookkeeping the read API shows.
func observe(j *job.Job, v *aistats.Video, src job.Source, now time.Time, e *effect) error {
	j.ProviderStatus = string(v.Status)
	if v.UnknownStatus != "" {
		// Keep vocabulary drift visible to operators; the job still
		// follows the normalised status (queued, so it keeps polling).
		j.ProviderStatus = v.UnknownStatus
	}
	j.CanCancel = v.CancelURL != ""
	if v.Asset != nil && v.Asset.Bytes > 0 {
		j.AssetBytes = v.Asset.Bytes
	}
	if v.Progress != nil && *v.Progress > j.Progress {
		j.Progress, j.ProgressAt = *v.Progress, now
	}
	if src == job.SourcePoll && v.Status == aistats.StatusProcessing && v.ProgressSource == "provider" &&
		v.Progress != nil && *v.Progress > j.PolledProgress {
		j.PolledProgress, j.PolledProgressAt = *v.Progress, now
	}
	if v.Webhook != nil && v.Webhook.Delivery != nil {
		d := v.Webhook.Delivery
		mergeGateway(j, job.GatewayDelivery{
			TotalAttempts:      d.TotalAttempts,
			DeliveredEvents:    d.DeliveredEvents,
			PendingRetries:     d.PendingRetries,
			LastAttemptStatus:  d.LastAttemptStatus,
			LastResponseStatus: d.LastResponseStatus,
			LastFailureAt:      d.LastFailureAt,
			LastErrorMessage:   d.LastErrorMessage,
		}, e)
	}
	to := StateOf(v.Status)
	var f *job.Failure
	switch to {
	case job.Failed:
		f = &job.Failure{Reason: ReasonGenerationFailed}
		if v.Error != nil {
			f.Message, f.Code = v.Error.Message, v.Error.Code
		}
	case job.Cancelled:
		f = &job.Failure{Reason: ReasonCancelled}
	case job.Expired:
		f = &job.Failure{Reason: ReasonExpired}
	case job.Completed:
		j.Progress = 100
	}
	return transition(j, to, src, now, f, e)
}

// mergeGateway keeps the newest gateway delivery summary. The gateway's
// attempt count only grows, so a summary with fewer attempts is an older
// one (a retried delivery carrying stale data, or a lagging GET).
func mergeGateway(j *job.Job, g job.GatewayDelivery, e *effect) {
	old := j.Deliveries.Gateway
	if g.TotalAttempts < old.TotalAttempts {
		return
	}
	if grew := (g.TotalAttempts - g.DeliveredEvents) - (old.TotalAttempts - old.DeliveredEvents); grew > 0 {
		e.gatewayFailures = grew
	}
	if g.LastResponseStatus > 0 {
		e.lastResponse = g.LastResponseStatus
	}
	j.Deliveries.Gateway = g
}

// emit turns a write's effect into metrics.
func emit(rec Recorder, j *job.Job, e effect, now time.Time) {
	if e.gatewayFailures > 0 {
		rec.Add(metrics.GatewayDeliveryFailures, float64(e.gatewayFailures))
	}
	if e.lastResponse > 0 {
		rec.Add(metrics.GatewayLastResponseStatus, float64(e.lastResponse))
	}
	if !e.applied {
		return
	}
	switch {
	case e.to == job.Completed:
		rec.Add(metrics.JobsCompleted, 1)
	case e.to.Terminal() && e.to != job.Stored:
		rec.Add(metrics.JobsFailed, 1, metrics.Reason(e.reason))
	default:
		return
	}
	// TimeToTerminal measures generation: the provider's outcome, not a
	// later copy failure of a job the provider had already completed.
	if !j.CreatedAt.IsZero() && e.from != job.Completed {
		rec.Add(metrics.TimeToTerminal, ms(now.Sub(j.CreatedAt)))
	}
}

// ms is a duration as the Milliseconds metrics record it.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
