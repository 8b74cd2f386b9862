package intake

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/videojobs/videojobs/internal/aistats"
	"github.com/videojobs/videojobs/internal/job"
	"github.com/videojobs/videojobs/internal/tracking"
	"github.com/videojobs/videojobs/internal/webhook"
)

// WebhookEvents are the deliveries every job subscribes to: created, which
// shows early that deliveries reach us (delivery health) and binds the
// provider job even before the create's reply is recorded, progress for the
// job view and the poll schedule, and every terminal phase (the gateway's
// default set) so the workflow is woken early.
var WebhookEvents = []string{"job.created", "job.progress", "job.completed", "job.failed", "job.cancelled", "job.expired"}

// Submission is the outcome of Submit.
type Submission struct {
	Job *job.Job
	// Replayed: an earlier request with the same Idempotency-Key made this
	// job; the answer is that job.
	Replayed bool
	// Reconciled: the create's outcome was ambiguous and the provider job
	// was found by its webhook URL.
	Reconciled bool
	// Unconfirmed: the create's outcome is still unknown; the job stays
	// accepted without a provider id and later polls or retries reconcile.
	Unconfirmed bool
	// PollAfter is the first workflow wait.
	PollAfter time.Duration
}

// errSendTaken: another request already took the send lease for this job.
var errSendTaken = errors.New("send already taken")

// Submit accepts a job: see the package documentation for the steps and why
// they are in this order. idemKey is the Idempotency-Key header ("" for
// none). Errors: *FieldError (nothing written), ErrIdempotencyKeyReused,
// *RejectedError (job recorded rejected), ErrProviderUnavailable,
// ErrReconcileConflict, and wrapped store/workflow failures.
func (s *Service) Submit(ctx context.Context, req *SubmitRequest, idemKey string) (*Submission, error) {
	if err := ValidateIdempotencyKey(idemKey); err != nil {
		return nil, err
	}
	if err := req.Validate(); err != nil {
		return nil, err
	}
	model := req.Model
	if model == "" {
		model = s.cfg.DefaultModel
	}
	if model == "" {
		return nil, &FieldError{Field: "model", Message: "is required (no default model is configured)"}
	}
	fp := req.Fingerprint()
	// The master secret is read before anything is written, so a Secrets
	// Manager outage leaves no job behind.
	master, err := s.cfg.MasterSecret(ctx)
	if err != nil {
		return nil, fmt.Errorf("submit: read webhook master secret: %w", err)
	}

	sub := &Submission{PollAfter: DefaultPollSeconds * time.Second}
	id := s.cfg.NewID()
	if idemKey != "" {
		rec, claimed, err := s.cfg.Store.ClaimIdempotencyKey(ctx, idemKey, fp, id)
		if err != nil {
			return nil, fmt.Errorf("submit: claim idempotency key: %w", err)
		}
		if !claimed {
			if rec.Fingerprint != fp {
				return nil, ErrIdempotencyKeyReused
			}
			id, sub.Replayed = rec.JobID, true
		}
	}
	j, err := s.ensureJob(ctx, id, model, fp, idemKey, sub.Replayed)
	if err != nil {
		return nil, err
	}
	sub.Job = j
	// The workflow starts before the create is sent: whatever happens to
	// this request afterwards (a crash, a timeout, an ambiguous create), the
	// job's execution exists and its poll step reconciles an unconfirmed
	// create, so every job reaches a terminal state without the client's
	// help. A failed start leaves nothing sent; the client's retry starts it.
	if err := s.startWorkflow(ctx, sub.Job, sub.PollAfter); err != nil {
		return sub, err
	}
	if err := s.send(ctx, sub, req, master); err != nil {
		return sub, err
	}
	return sub, nil
}

// ensureJob returns the job item, creating it in state accepted. A replayed
// key whose job is missing (the first request stopped between the claim and
// the put) gets its job now, under the claimed id.
func (s *Service) ensureJob(ctx context.Context, id, model, fp, idemKey string, replayed bool) (*job.Job, error) {
	if replayed {
		j, err := s.cfg.Store.GetJob(ctx, id)
		if err == nil {
			return j, nil
		}
		if !errors.Is(err, job.ErrNotFound) {
			return nil, fmt.Errorf("submit: get job %s: %w", id, err)
		}
	}
	now := s.cfg.Now().UTC()
	j := &job.Job{
		ID:             id,
		State:          job.Accepted,
		Model:          model,
		Fingerprint:    fp,
		IdempotencyKey: idemKey,
		WebhookURL:     s.WebhookURL(id),
		CreatedAt:      now,
		UpdatedAt:      now,
		History:        []job.Change{},
	}
	err := s.cfg.Store.CreateJob(ctx, j)
	if errors.Is(err, job.ErrConflict) {
		// A concurrent retry of the same request created it first.
		if j, err = s.cfg.Store.GetJob(ctx, id); err == nil {
			return j, nil
		}
	}
	if err != nil {
		return nil, fmt.Errorf("submit: create job %s: %w", id, err)
	}
	return j, nil
}

// send makes the one provider create for sub.Job, or reconciles when an
// earlier request may already have made it.
func (s *Service) send(ctx context.Context, sub *Submission, req *SubmitRequest, master []byte) error {
	j := sub.Job
	switch {
	case j.State != job.Accepted || j.ProviderJobID != "":
		return nil // past the send already
	case !j.SubmittedAt.IsZero():
		return s.reconcile(ctx, sub)
	}
	j, err := s.cfg.Store.UpdateJob(ctx, j.ID, func(j *job.Job) error {
		if !j.SubmittedAt.IsZero() || j.State != job.Accepted || j.ProviderJobID != "" {
			return errSendTaken
		}
		now := s.cfg.Now().UTC()
		j.SubmittedAt, j.UpdatedAt = now, now
		return nil
	})
	if errors.Is(err, errSendTaken) {
		if sub.Job, err = s.cfg.Store.GetJob(ctx, sub.Job.ID); err != nil {
			return fmt.Errorf("submit: get job %s: %w", sub.Job.ID, err)
		}
		if sub.Job.State == job.Accepted && sub.Job.ProviderJobID == "" {
			return s.reconcile(ctx, sub)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("submit: record send of job %s: %w", sub.Job.ID, err)
	}
	sub.Job = j

	cr := req.createRequest(j.Model)
	cr.Webhook = &aistats.WebhookConfig{
		URL:    j.WebhookURL,
		Secret: webhook.DeriveSecret(master, j.ID),
		Events: WebhookEvents,
	}
	v, err := s.cfg.Provider.Create(ctx, cr)
	switch {
	case err == nil:
		return s.adopt(ctx, sub, v, "created")
	case errors.Is(err, aistats.ErrAmbiguousCreate):
		return s.reconcile(ctx, sub)
	}
	if rej := rejection(err); rej != nil {
		return s.reject(ctx, sub, rej)
	}
	// Nothing reached the gateway (the client refused to dial, say): give
	// the send back so a retried request may make it.
	if _, uerr := s.cfg.Store.UpdateJob(ctx, j.ID, func(j *job.Job) error {
		if j.ProviderJobID != "" || j.State != job.Accepted {
			return errSendTaken
		}
		j.SubmittedAt = time.Time{}
		return nil
	}); uerr != nil && !errors.Is(uerr, errSendTaken) {
		return fmt.Errorf("submit: release send of job %s after %v: %w", j.ID, err, uerr)
	}
	return fmt.Errorf("submit: create job %s: %w: %w", j.ID, ErrProviderUnavailable, err)
}

// rejection reports a create failure that certainly made no provider job
// (a 4xx envelope, a 501, or client-side validation), or nil.
func rejection(err error) *RejectedError {
	var ae *aistats.APIError
	if errors.As(err, &ae) && !ae.NonJSON && (ae.HTTPStatus >= 400 && ae.HTTPStatus < 500 || ae.HTTPStatus == http.StatusNotImplemented) {
		r := &RejectedError{HTTPStatus: ae.HTTPStatus, Code: ae.Code, Reason: ae.Reason, Message: ae.Message}
		for _, d := range ae.Details {
			if len(d.Path) > 0 {
				r.Field = strings.Join(d.Path, ".")
				if d.Message != "" {
					r.Message = d.Message
				}
				break
			}
		}
		return r
	}
	var ve *aistats.ValidationError
	if errors.As(err, &ve) {
		return &RejectedError{Code: "validation_error", Message: ve.Problem, Field: ve.Field}
	}
	return nil
}

// reject records a definite refusal: the job ends rejected with the
// gateway's code.
func (s *Service) reject(ctx context.Context, sub *Submission, rej *RejectedError) error {
	code := rej.Code
	if code == "" {
		code = fmt.Sprintf("http_%d", rej.HTTPStatus)
	}
	j, err := s.cfg.Store.UpdateJob(ctx, sub.Job.ID, func(j *job.Job) error {
		_, err := j.Fail(job.Rejected, job.SourceAPI, s.cfg.Now().UTC(), job.Failure{
			Reason: "provider_rejected", Code: code, Message: rej.Message,
		})
		return err
	})
	if err != nil {
		return fmt.Errorf("submit: record rejection of job %s: %w", sub.Job.ID, err)
	}
	sub.Job = j
	rej.Job = j
	return rej
}

// reconcile looks for the provider job an earlier send may have made, by
// the exact webhook URL, re-checking a bounded number of times. With no
// match the job stays accepted (Unconfirmed); it is never resent.
func (s *Service) reconcile(ctx context.Context, sub *Submission) error {
	rctx, cancel := context.WithTimeout(ctx, s.cfg.ReconcileBudget)
	defer cancel()
	for i := 0; ; i++ {
		v, err := s.cfg.Provider.FindByWebhookURL(rctx, sub.Job.WebhookURL)
		switch {
		case err == nil:
			sub.Reconciled = true
			// Recording the match uses the request's own context: the
			// budget bounds the search, not the write.
			return s.adopt(ctx, sub, v, "reconciled")
		case errors.Is(err, aistats.ErrMultipleMatches):
			return fmt.Errorf("submit: reconcile job %s: %w: %w", sub.Job.ID, ErrReconcileConflict, err)
		}
		// Not found yet, or the list failed: both are worth another look.
		if i >= len(s.cfg.ReconcileWaits) || s.cfg.Sleep(rctx, s.cfg.ReconcileWaits[i]) != nil {
			break
		}
	}
	sub.Unconfirmed = true
	return nil
}

// adopt persists the provider job as this job's: its id, status and cancel
// capability, moving the job forward to the provider's state.
func (s *Service) adopt(ctx context.Context, sub *Submission, v *aistats.Video, how string) error {
	if v.PollAfter > 0 {
		sub.PollAfter = v.PollAfter
	}
	to := tracking.StateOf(v.Status)
	j, err := s.cfg.Store.UpdateJob(ctx, sub.Job.ID, func(j *job.Job) error {
		if j.ProviderJobID != "" && j.ProviderJobID != v.ID {
			return fmt.Errorf("job %s already bound to provider job %s, not %s: %w", j.ID, j.ProviderJobID, v.ID, ErrReconcileConflict)
		}
		now := s.cfg.Now().UTC()
		j.ProviderJobID = v.ID
		j.ProviderStatus = string(v.Status)
		j.CanCancel = v.CancelURL != ""
		if v.Progress != nil {
			j.Progress = *v.Progress
		}
		j.UpdatedAt = now
		var err error
		if f, failed := failureOf(v); failed {
			_, err = j.Fail(to, job.SourceAPI, now, f)
		} else {
			_, err = j.Transition(to, job.SourceAPI, now, how)
		}
		// A webhook may have moved the job on already; the provider id is
		// still worth recording.
		if errors.Is(err, job.ErrStaleTransition) {
			return nil
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("submit: record provider job %s for job %s: %w", v.ID, sub.Job.ID, err)
	}
	sub.Job = j
	return nil
}

// failureOf describes a provider-side terminal failure.
func failureOf(v *aistats.Video) (job.Failure, bool) {
	var f job.Failure
	switch v.Status {
	case aistats.StatusFailed:
		f.Reason = "generation_failed"
	case aistats.StatusCancelled:
		f.Reason = "cancelled"
	case aistats.StatusExpired:
		f.Reason = "expired"
	default:
		return f, false
	}
	if v.Error != nil {
		f.Code, f.Message = v.Error.Code, v.Error.Message
	}
	return f, true
}

// workflowInput is the execution input fixed by docs/internals.md.
type workflowInput struct {
	JobID string    `json:"jobId"`
	Poll  pollInput `json:"poll"`
}

type pollInput struct {
	State       job.State `json:"state"`
	WaitSeconds int       `json:"waitSeconds"`
}

// startWorkflow starts the job's execution (named after the job id). The
// Workflow port treats an existing execution as success, so a retried
// request that finds the job re-starts nothing.
func (s *Service) startWorkflow(ctx context.Context, j *job.Job, wait time.Duration) error {
	secs := int(wait / time.Second)
	if secs < 1 {
		secs = DefaultPollSeconds
	}
	in, err := json.Marshal(workflowInput{JobID: j.ID, Poll: pollInput{State: j.State, WaitSeconds: secs}})
	if err != nil {
		return fmt.Errorf("submit: encode workflow input: %w", err)
	}
	if err := s.cfg.Workflow.Start(ctx, j.ID, in); err != nil {
		return fmt.Errorf("submit: start workflow for job %s: %w", j.ID, err)
	}
	return nil
}
