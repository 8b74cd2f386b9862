// Package intake is the domain service behind the job API: it accepts a
// submission (strict validation, Idempotency-Key, exactly one provider
// create, reconciliation of ambiguous creates, workflow start) and serves
// reads, presigned downloads and cancels. It declares the ports it needs
// (Store, Provider, Workflow, Presigner) and knows nothing of HTTP: the
// Lambda handlers map its errors to statuses.
//
// # One provider job per submission
//
// The gateway has no idempotency key (provider-contract.md §3.3), so the
// service makes the send itself the guarded step:
//
//  1. validate everything; nothing is written for a bad request;
//  2. claim the Idempotency-Key (key → fingerprint, job id) before anything
//     else, so a retried request finds the first job's id;
//  3. create the job item in state accepted (the webhook URL carries its id);
//  4. take the send lease: a conditional update that sets submittedAt only
//     if it is still unset. Only the request that sets it may send, and
//     only once; a retry that finds submittedAt set never sends again;
//  5. send one create. 202 → provider id and queued are persisted at once.
//     A definite 4xx → rejected. Ambiguous → reconcile by listing the
//     gateway's jobs and matching the webhook URL exactly.
//
// A crash between any two steps leaves a state a retried POST with the same
// key resumes from: claim without job → the job is created with the claimed
// id; job without submittedAt → the send is made; submittedAt without a
// provider id → reconcile, never create.
//
// # Ambiguous creates that stay unmatched
//
// The contract suggests re-checking for about a minute and then resubmitting
// once. An API call cannot wait a minute (API Gateway cuts integrations at
// 30 s), and a resubmission is the one step that can bill twice. So the
// service re-checks for a bounded few seconds (ReconcileWaits) and, when
// nothing matches, answers 202 with the job still accepted and no provider
// id, and starts the workflow anyway: every later poll and every retried
// POST with the same key reconciles again by webhook URL, and a job still
// unmatched at the workflow deadline ends failed. It never resends: one
// submission makes at most one provider job.
package intake

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/videojobs/videojobs/internal/aistats"
	"github.com/videojobs/videojobs/internal/job"
	"github.com/videojobs/videojobs/internal/jobstore"
)

// Store is the job store subset the service uses (internal/jobstore).
type Store interface {
	CreateJob(ctx context.Context, j *job.Job) error
	GetJob(ctx context.Context, id string) (*job.Job, error)
	UpdateJob(ctx context.Context, id string, fn func(*job.Job) error) (*job.Job, error)
	ListJobs(ctx context.Context, state job.State, limit int, cursor string) ([]*job.Job, string, error)
	ClaimIdempotencyKey(ctx context.Context, key, fingerprint, jobID string) (IdempotencyRecord, bool, error)
}

// Provider is the AI Stats client subset the service uses.
type Provider interface {
	Create(ctx context.Context, r aistats.CreateRequest) (*aistats.Video, error)
	FindByWebhookURL(ctx context.Context, webhookURL string) (*aistats.Video, error)
	Cancel(ctx context.Context, id string) (*aistats.Video, error)
}

// Workflow starts the job workflow. Start must be idempotent per job id:
// an execution that already exists for the job is success.
type Workflow interface {
	Start(ctx context.Context, jobID string, input []byte) error
}

// Presigner mints a time-limited GET URL for an S3 object.
type Presigner interface {
	PresignGet(ctx context.Context, bucket, key string, ttl time.Duration) (string, error)
}

// Errors the service returns; handlers map them to HTTP statuses.
var (
	// ErrIdempotencyKeyReused: the key was used with another request body.
	ErrIdempotencyKeyReused = errors.New("idempotency key reused with a different request")
	// ErrCancelNotSupported: the job's provider offers no cancel (no
	// cancel_url, or the gateway answered 501).
	ErrCancelNotSupported = errors.New("cancel not supported for this job")
	// ErrJobTerminal: the job already ended; it cannot be cancelled.
	ErrJobTerminal = errors.New("job already ended")
	// ErrNotStored: the job's video is not in S3 (yet).
	ErrNotStored = errors.New("video not stored")
	// ErrProviderUnavailable: the gateway failed in a way worth retrying
	// later (5xx, feature switched off, transport failure); nothing changed
	// that a retry cannot resume.
	ErrProviderUnavailable = errors.New("provider unavailable")
	// ErrReconcileConflict: several provider jobs carry this job's webhook
	// URL. Never expected; escalate rather than pick one.
	ErrReconcileConflict = errors.New("several provider jobs match this job")
)

// FieldError is a rejected request field. Nothing was written.
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string { return "invalid " + e.Field + ": " + e.Message }

// RejectedError is a definite refusal by the gateway: no provider job exists
// and the job was recorded as rejected.
type RejectedError struct {
	Job *job.Job
	// HTTPStatus is the gateway's status (400, 402, 403, 429, …); 0 when
	// the request was refused by client-side validation before sending.
	HTTPStatus int
	Code       string
	Reason     string
	Message    string
	// Field is the request field the gateway blamed, when it named one.
	Field string
}

func (e *RejectedError) Error() string {
	return fmt.Sprintf("provider rejected job %s: http %d %s: %s", e.Job.ID, e.HTTPStatus, e.Code, e.Message)
}

// IdempotencyRecord is a claimed Idempotency-Key: the store's record type,
// so *jobstore.Store satisfies Store as is.
type IdempotencyRecord = jobstore.IdempotencyRecord

// The real adapters satisfy the ports.
var (
	_ Store    = (*jobstore.Store)(nil)
	_ Provider = (*aistats.Client)(nil)
)

// Config configures a Service. Store, Provider, Workflow and MasterSecret
// are needed to submit; Store, Provider and Presigner to read and cancel.
type Config struct {
	Store     Store
	Provider  Provider
	Workflow  Workflow
	Presigner Presigner
	// MasterSecret returns the current (AWSCURRENT) webhook master secret.
	MasterSecret func(ctx context.Context) ([]byte, error)
	// WebhookBaseURL is the public base URL of the HTTP API.
	WebhookBaseURL string
	// DefaultModel is used when a submission names no model.
	DefaultModel string
	// Bucket, when set, is the only bucket DownloadURL presigns for: the
	// read API's role may read that bucket only.
	Bucket string
	// DownloadTTL is the lifetime of presigned download URLs (default 5 min).
	DownloadTTL time.Duration
	// ReconcileWaits are the pauses before each re-check of an ambiguous
	// create; the first check is immediate. Default 1 s, 2 s, 4 s.
	ReconcileWaits []time.Duration
	// ReconcileBudget bounds the whole re-check phase, list calls and
	// their retries included, so a submission answers well inside API
	// Gateway's 30 s integration limit. Default 8 s.
	ReconcileBudget time.Duration
	// Now and Sleep are the clock; tests replace them.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
	// NewID returns a new job id (default NewJobID).
	NewID func() string
}

// Service is the job API's domain service.
type Service struct {
	cfg     Config
	webhook *url.URL
}

// DefaultPollSeconds is the first workflow wait when the gateway did not say
// (its poll_after_seconds is 20, provider-contract.md §4).
const DefaultPollSeconds = 20

// New returns a Service. It fails on a malformed webhook base URL.
func New(cfg Config) (*Service, error) {
	s := &Service{cfg: cfg}
	if cfg.WebhookBaseURL != "" {
		u, err := url.Parse(cfg.WebhookBaseURL)
		if err != nil || !u.IsAbs() || u.Host == "" {
			return nil, fmt.Errorf("new intake service: webhook base url %q is not an absolute url", cfg.WebhookBaseURL)
		}
		s.webhook = u
	}
	if s.cfg.DownloadTTL <= 0 {
		s.cfg.DownloadTTL = 5 * time.Minute
	}
	if s.cfg.ReconcileWaits == nil {
		s.cfg.ReconcileWaits = []time.Duration{time.Second, 2 * time.Second, 4 * time.Second}
	}
	if s.cfg.ReconcileBudget <= 0 {
		s.cfg.ReconcileBudget = 8 * time.Second
	}
	if s.cfg.Now == nil {
		s.cfg.Now = time.Now
	}
	if s.cfg.Sleep == nil {
		s.cfg.Sleep = sleep
	}
	if s.cfg.NewID == nil {
		s.cfg.NewID = NewJobID
	}
	return s, nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// WebhookURL is the job's webhook URL: <base>/webhooks/ai-stats?job=<id>.
// It is the reconciliation key, so it must be built identically every time.
func (s *Service) WebhookURL(jobID string) string {
	u := *s.webhook
	u.Path = pathJoin(u.Path, "/webhooks/ai-stats")
	u.RawPath = ""
	u.RawQuery = url.Values{"job": {jobID}}.Encode()
	u.Fragment = ""
	return u.String()
}

func pathJoin(base, p string) string {
	for len(base) > 0 && base[len(base)-1] == '/' {
		base = base[:len(base)-1]
	}
	return base + p
}
