package webhook

import (
	"errors"
	"fmt"
	"strings"
)

// ErrMalformed marks a verified body that is not a usable delivery: not
// JSON, not an object, or without a non-empty string id and type. The caller
// answers 400 (design.md guarantee 3).
var ErrMalformed = errors.New("malformed webhook payload")

// Delivery is a webhook payload (provider-contract.md §6.2). After Verify,
// ID, Type and Delivery are the fields to trust for deduplication and
// retry accounting; the x-…-event-id/-delivery-key/-attempt headers are not.
//
// Parse is lenient the way the contract asks: unknown keys are ignored, and
// a known key whose value has another JSON type (or is null, or is not an
// integer where one is expected) leaves its field at the zero value. Only a
// non-empty string id and type are required. When a key repeats, its last
// value wins, as in most JSON readers.
type Delivery struct {
	ID        string       // payload id, globally unique: the primary dedupe key
	Type      string       // e.g. "video.completed"; see EventPhase
	CreatedAt int64        // unix seconds at send time; changes on every attempt
	Delivery  DeliveryInfo // delivery key and attempt number
	Data      Data         // the job as the gateway saw it: a hint, re-GET before acting
}

// DeliveryInfo is the payload's "delivery" object.
type DeliveryInfo struct {
	Key         string // "video.<phase>" or "video.progress:<bucket>"; fixed across retries
	Attempt     int    // 1-based
	MaxAttempts int
}

// Data is the payload's "data" object: the webhook shape of a job, which
// differs from the GET shape (native_id, no outputs or asset, failure detail
// in upstream_error). Status strings are kept raw; normalising them is the
// job client's business.
type Data struct {
	ID              string
	Object          string
	Status          string
	LifecycleStatus string
	NativeID        string
	Progress        *int // nil when absent or null
	Provider        string
	Model           string
	CancelURL       string
	ContentURL      string
	DownloadURL     string
	ExpiresAt       int64 // unix seconds; 0 when absent or null
	Webhook         WebhookState
	UpstreamError   *UpstreamError // nil unless the job failed upstream
	StatusChange    *StatusChange  // job.status_changed only (§9)
	UpdatedAt       string         // timestamp as sent
	FinalizedAt     string         // timestamp as sent
}

// WebhookState is the gateway's own record of this job's webhook
// (provider-contract.md §4.2), reported as delivery-health metrics.
type WebhookState struct {
	URL      string // the subscription URL; it carries our job id
	Delivery DeliverySummary
}

// DeliverySummary is WebhookState's "delivery" object. Timestamps are kept
// as sent; absent or null values are zero.
type DeliverySummary struct {
	TotalAttempts      int
	DeliveredEvents    int
	PendingRetries     int
	NextRetryAt        string
	LastAttemptAt      string
	LastAttemptStatus  string // delivered | scheduled_retry | failed_permanently
	LastResponseStatus int    // HTTP status of our last reply; 0 if none
	LastDeliveredAt    string
	LastFailureAt      string
	LastErrorMessage   string
}

// UpstreamError is the provider failure detail of a failed job. Providers
// disagree on whether code and status are numbers or strings (HTTP 400 or
// "INVALID_ARGUMENT"), so every field accepts either and keeps its text.
type UpstreamError struct {
	Code        string
	Type        string
	Message     string
	Description string
	Param       string
	Status      string
}

// StatusChange is the job.status_changed detail (provider-contract.md §9).
type StatusChange struct {
	PreviousStatus string
	Status         string
}

// Phase is the event phase of a delivery, with the video./job. prefixes
// folded together (they are equivalent for video jobs).
type Phase string

// Phases. PhaseUnknown covers event types this version does not know; the
// contract asks receivers to verify, dedupe and answer 2xx for them anyway.
const (
	PhaseCreated       Phase = "created"
	PhaseProgress      Phase = "progress"
	PhaseCompleted     Phase = "completed"
	PhaseFailed        Phase = "failed"
	PhaseCancelled     Phase = "cancelled"
	PhaseExpired       Phase = "expired"
	PhaseStatusChanged Phase = "status_changed"
	PhaseUnknown       Phase = "unknown"
)

// EventPhase returns the phase named by d.Type: "video.completed" and
// "job.completed" both give PhaseCompleted. Case is ignored and the US
// spelling "canceled" is accepted, as the gateway does for subscriptions.
func (d *Delivery) EventPhase() Phase {
	t := strings.ToLower(d.Type)
	rest, ok := strings.CutPrefix(t, "video.")
	if !ok {
		if rest, ok = strings.CutPrefix(t, "job."); !ok {
			return PhaseUnknown
		}
	}
	switch Phase(rest) {
	case PhaseCreated, PhaseProgress, PhaseCompleted, PhaseFailed, PhaseCancelled, PhaseExpired, PhaseStatusChanged:
		return Phase(rest)
	case "canceled":
		return PhaseCancelled
	}
	return PhaseUnknown
}

// Parse decodes a verified delivery body. Call it only after Verify accepted
// body: an unverified body must change nothing, not even a decode error
// path. Errors wrap ErrMalformed and give at most a byte offset, never body
// content.
//
// Parse accepts a body only if it is valid UTF-8 (RFC 8259 §8.1;
// encoding/json would quietly replace bad bytes) and an object with a
// non-empty string id and type. The objects it reads (the payload and the
// nested objects of Delivery's fields) are held to json.Valid's grammar,
// keys and scalar values included, so every string it returns is well
// formed. A value it does not read (an unknown key's, or a known key's of
// another JSON type) is stepped over: a string, number or literal is still
// checked by the grammar, but an object or array only for its delimiting:
// its brackets nest and pair up, no deeper than encoding/json allows, and
// its strings end. Its commas, colons, keys, numbers, literals and control
// characters are not checked; if it holds a backslash, which could escape a
// quote, Parse checks that value by the full grammar instead. The body is
// authenticated before Parse sees it, and the gateway's list of delivery
// attempts, a third of a typical body, is such a value.
//
// So Parse accepts every body json.Valid accepts, reading the same fields
// as encoding/json, and refuses one json.Valid rejects unless all its
// faults lie inside skipped objects and arrays; it then reads what it
// would read were those well formed. FuzzParse checks both.
func Parse(body []byte) (*Delivery, error) {
	return parse(body, false, nil)
}

// parse is Parse. For tests, strict holds skipped objects and arrays to the
// full grammar too, and skipped, when not nil, receives the ones that were
// only checked for delimiting.
func parse(body []byte, strict bool, skipped *[]span) (*Delivery, error) {
	if len(body) > MaxBodyBytes {
		return nil, fmt.Errorf("parse webhook payload: body over %d bytes: %w", MaxBodyBytes, ErrMalformed)
	}
	// One allocation holds the delivery and the int Data.Progress may
	// point to.
	out := new(struct {
		Delivery
		progress int
	})
	d := decoder{b: body, progress: &out.progress, strict: strict, skipped: skipped}
	if err := d.decode(&out.Delivery); err != nil {
		return nil, fmt.Errorf("parse webhook payload: %w", err)
	}
	if out.ID == "" {
		return nil, fmt.Errorf("parse webhook payload: missing id: %w", ErrMalformed)
	}
	if out.Type == "" {
		return nil, fmt.Errorf("parse webhook payload: missing type: %w", ErrMalformed)
	}
	return &out.Delivery, nil
}
