// Package job is the videojobs job model: the states a job moves through, the
// one monotonic transition function every writer goes through, and the job
// record the store persists and the read API returns.
//
// States are ordered. A job only moves forward; a terminal state never
// changes; a transition that would move a job backwards (a retried progress
// webhook arriving after completion, say) is reported as stale instead of
// applied, so callers can count it.
package job

import (
	"errors"
	"fmt"
	"time"
)

// State is a job's lifecycle state.
type State string

// The states, in lifecycle order.
const (
	// Accepted: stored by the API; the provider create is not confirmed yet.
	Accepted State = "accepted"
	// Queued: the provider holds the job and has not started it.
	Queued State = "queued"
	// Processing: the provider is generating.
	Processing State = "processing"
	// Completed: the provider finished; the video is not in S3 yet.
	Completed State = "completed"
	// Stored: the video is in S3, verified. Terminal.
	Stored State = "stored"
	// Failed: generation failed, the deadline passed, or the copy failed. Terminal.
	Failed State = "failed"
	// Cancelled: cancelled at the provider. Terminal.
	Cancelled State = "cancelled"
	// Expired: the provider expired the job. Terminal.
	Expired State = "expired"
	// Rejected: the provider refused the create (a definite 4xx). Terminal.
	Rejected State = "rejected"
)

// States lists every state, in lifecycle order with the terminal failures last.
var States = []State{Accepted, Queued, Processing, Completed, Stored, Failed, Cancelled, Expired, Rejected}

// rank orders the non-terminal states; all terminal states share the top rank.
var rank = map[State]int{
	Accepted:   0,
	Queued:     1,
	Processing: 2,
	Completed:  3,
	Stored:     4,
	Failed:     4,
	Cancelled:  4,
	Expired:    4,
	Rejected:   4,
}

// Valid reports whether s is a known state.
func (s State) Valid() bool { _, ok := rank[s]; return ok }

// Terminal reports whether no transition leaves s.
func (s State) Terminal() bool { return rank[s] == 4 && s.Valid() }

// Source says who caused a transition.
type Source string

// Transition sources.
const (
	SourceAPI      Source = "api"
	SourceWebhook  Source = "webhook"
	SourcePoll     Source = "poll"
	SourceWorkflow Source = "workflow"
)

// Errors the transition function and the stores report. Adapters translate
// their own errors into these; handlers map them to HTTP or workflow errors.
var (
	// ErrStaleTransition: the requested state is behind or beside the
	// current one (or the job is terminal); nothing was applied.
	ErrStaleTransition = errors.New("stale transition")
	// ErrInvalidTransition: the target state is unknown, or the move is
	// one the lifecycle never makes (a provider failure after the video
	// was stored, a store without completion).
	ErrInvalidTransition = errors.New("invalid transition")
	// ErrNotFound: no such job.
	ErrNotFound = errors.New("job not found")
	// ErrConflict: a concurrent writer won; re-read and retry.
	ErrConflict = errors.New("job changed concurrently")
)

// Change is one applied transition, kept on the job as its history.
type Change struct {
	From   State     `json:"from"`
	To     State     `json:"to"`
	Source Source    `json:"source"`
	At     time.Time `json:"at"`
	Reason string    `json:"reason,omitempty"`
}

// Failure says why a job ended in a failed, cancelled, expired or rejected state.
type Failure struct {
	// Reason is a short machine-readable cause, usable as a metric
	// dimension: "generation_failed", "deadline", "copy_failed",
	// "provider_rejected", "expired", "cancelled".
	Reason  string `json:"reason"`
	Message string `json:"message,omitempty"`
	Code    string `json:"code,omitempty"`
}

// Output is where a stored video lives.
type Output struct {
	Bucket      string `json:"bucket"`
	Key         string `json:"key"`
	Size        int64  `json:"size"`
	SHA256      string `json:"sha256"`
	ContentType string `json:"contentType,omitempty"`
}

// GatewayDelivery is the gateway's own delivery summary for the job's
// webhook (provider-contract.md §4.2 `webhook.delivery`).
type GatewayDelivery struct {
	TotalAttempts      int       `json:"totalAttempts"`
	DeliveredEvents    int       `json:"deliveredEvents"`
	PendingRetries     int       `json:"pendingRetries"`
	LastAttemptStatus  string    `json:"lastAttemptStatus,omitempty"`
	LastResponseStatus int       `json:"lastResponseStatus,omitempty"`
	LastFailureAt      time.Time `json:"lastFailureAt,omitzero"`
	LastErrorMessage   string    `json:"lastErrorMessage,omitempty"`
}

// Deliveries is the webhook-delivery health of one job as we saw it.
type Deliveries struct {
	Received   int `json:"received"`
	Duplicates int `json:"duplicates"`
	// Retries counts deliveries whose signed attempt number was above 1.
	Retries int `json:"retries"`
	// Late counts deliveries that arrived after the job had moved past
	// them (stale progress after completion, say): counted, not applied.
	Late           int             `json:"late"`
	LastReceivedAt time.Time       `json:"lastReceivedAt,omitzero"`
	Gateway        GatewayDelivery `json:"gateway"`
}

// Job is the record of one submission.
type Job struct {
	ID             string `json:"id"`
	State          State  `json:"state"`
	ProviderJobID  string `json:"providerJobId,omitempty"`
	Model          string `json:"model"`
	Fingerprint    string `json:"fingerprint"`
	IdempotencyKey string `json:"idempotencyKey,omitempty"`
	// WebhookURL is the URL given to the gateway; it carries the job id
	// and identifies the provider job when a create is ambiguous.
	WebhookURL string `json:"webhookUrl,omitempty"`

	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
	// SubmittedAt is when the provider create was sent, for reconciliation.
	SubmittedAt time.Time `json:"submittedAt,omitzero"`
	Deadline    time.Time `json:"deadline,omitzero"`
	History     []Change  `json:"history"`

	// Progress is the latest progress seen, from a provider read or a
	// progress webhook (whose value is the gateway's rounded bucket), and
	// ProgressAt when it last rose.
	Progress   int       `json:"progress"`
	ProgressAt time.Time `json:"progressAt,omitzero"`
	// PolledProgress is the provider's own progress as the last poll
	// that saw it rise read it, at PolledProgressAt: two such samples give
	// the generation's rate, from which the next poll is timed. Webhook
	// buckets do not count: rounded up, they would skew the rate.
	PolledProgress   int       `json:"polledProgress,omitempty"`
	PolledProgressAt time.Time `json:"polledProgressAt,omitzero"`
	ProviderStatus   string    `json:"providerStatus,omitempty"`
	CanCancel        bool      `json:"canCancel,omitempty"`
	AssetBytes       int64     `json:"assetBytes,omitempty"`

	PollCount   int       `json:"pollCount"`
	NextPollAt  time.Time `json:"nextPollAt,omitzero"`
	WaitSeconds int       `json:"waitSeconds,omitempty"`
	// TaskToken is the workflow's waiting token while the Watch state
	// waits; the webhook path completes it. Never returned by the API.
	TaskToken string `json:"-"`

	Error      *Failure   `json:"error,omitempty"`
	Output     *Output    `json:"output,omitempty"`
	Deliveries Deliveries `json:"deliveries"`

	// Version increments on every write; stores use it for optimistic
	// locking.
	Version int64 `json:"version"`
}

// Result says what Transition did.
type Result int

// Transition results.
const (
	// Applied: the job moved to the new state.
	Applied Result = iota + 1
	// Unchanged: the job was already in that state.
	Unchanged
)

// Transition moves j to state to, recording who asked and when. It is the
// only way a job's state changes. It returns Unchanged when j is already in
// that state, ErrStaleTransition when to is behind the current state or j
// is terminal, and ErrInvalidTransition for moves the lifecycle never makes.
// On error j is untouched.
func (j *Job) Transition(to State, src Source, at time.Time, reason string) (Result, error) {
	from := j.State
	if !to.Valid() {
		return 0, fmt.Errorf("job %s: %s -> %q: %w", j.ID, from, to, ErrInvalidTransition)
	}
	if from == to {
		return Unchanged, nil
	}
	if from.Terminal() || rank[to] < rank[from] {
		return 0, fmt.Errorf("job %s: %s -> %s: %w", j.ID, from, to, ErrStaleTransition)
	}
	// Stored is reached only from Completed: a video is copied only once
	// the provider says it is done.
	if to == Stored && from != Completed {
		return 0, fmt.Errorf("job %s: %s -> %s: %w", j.ID, from, to, ErrInvalidTransition)
	}
	// Once the provider completed, only our own copy can fail or finish the
	// job: the provider's own terminal state never changes, so a provider
	// failure, cancel or expiry cannot follow completion.
	if from == Completed && to != Stored && !(to == Failed && src == SourceWorkflow) {
		return 0, fmt.Errorf("job %s: %s -> %s: %w", j.ID, from, to, ErrStaleTransition)
	}
	// Rejected means the provider never took the job.
	if to == Rejected && from != Accepted {
		return 0, fmt.Errorf("job %s: %s -> %s: %w", j.ID, from, to, ErrInvalidTransition)
	}
	j.State = to
	j.UpdatedAt = at
	j.History = append(j.History, Change{From: from, To: to, Source: src, At: at, Reason: reason})
	return Applied, nil
}

// Fail moves j to a failed-family terminal state with a reason.
func (j *Job) Fail(to State, src Source, at time.Time, f Failure) (Result, error) {
	res, err := j.Transition(to, src, at, f.Reason)
	if err == nil && res == Applied {
		j.Error = &f
	}
	return res, err
}
