package aistats

import "strings"

// Status is the canonical job status (provider-contract.md §4.1).
type Status string

// The canonical statuses. Every wire spelling is mapped to one of these by
// [ParseStatus].
const (
	StatusQueued     Status = "queued"
	StatusProcessing Status = "processing"
	StatusCompleted  Status = "completed"
	StatusFailed     Status = "failed"
	StatusCancelled  Status = "cancelled"
	StatusExpired    Status = "expired"
)

// statusWords is the single normalisation table for both the public `status`
// vocabulary and `lifecycle_status`, plus the aliases older documentation,
// the create reply and the OpenAI-shaped variant use. Keys are lowercase.
var statusWords = map[string]Status{
	"queued":      StatusQueued,
	"pending":     StatusQueued,
	"processing":  StatusProcessing,
	"running":     StatusProcessing,
	"in_progress": StatusProcessing,
	"completed":   StatusCompleted,
	"complete":    StatusCompleted,
	"succeeded":   StatusCompleted,
	"success":     StatusCompleted,
	"failed":      StatusFailed,
	"error":       StatusFailed,
	"cancelled":   StatusCancelled,
	"canceled":    StatusCancelled,
	"expired":     StatusExpired,
}

// ParseStatus maps any status word the gateway sends to its canonical
// Status. Matching ignores case and surrounding space. An empty or unknown
// word maps to StatusQueued (non-terminal, so the caller keeps polling) and
// ok is false for an unknown non-empty word so the caller can log it.
func ParseStatus(word string) (s Status, ok bool) {
	w := strings.ToLower(strings.TrimSpace(word))
	if w == "" {
		return StatusQueued, true
	}
	if s, ok := statusWords[w]; ok {
		return s, true
	}
	return StatusQueued, false
}

// Terminal reports whether no further transition can happen: completed,
// failed, cancelled or expired.
func (s Status) Terminal() bool {
	switch s {
	case StatusCompleted, StatusFailed, StatusCancelled, StatusExpired:
		return true
	}
	return false
}

// normaliseStatus prefers `status`, falls back to `lifecycle_status`, and
// returns the first unknown non-empty word (even when the other field
// resolved the status) so the caller can log vocabulary drift.
func normaliseStatus(status, lifecycle string) (s Status, unknown string) {
	if strings.TrimSpace(status) != "" {
		if s, ok := ParseStatus(status); ok {
			return s, ""
		}
		unknown = status
	}
	if strings.TrimSpace(lifecycle) != "" {
		if s, ok := ParseStatus(lifecycle); ok {
			return s, unknown
		}
		if unknown == "" {
			unknown = lifecycle
		}
	}
	return StatusQueued, unknown
}
