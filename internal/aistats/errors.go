package aistats

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Sentinels matched with errors.Is against the errors this package returns.
// An *APIError matches the sentinel of its class (see APIError.Is).
var (
	// ErrFeatureOff: the gateway answered 501 (video API or cancel switched
	// off). Final; never retried. Report the feature as unavailable.
	ErrFeatureOff = errors.New("aistats: feature unavailable (501)")
	// ErrNotReady: 409 not_ready. Try again at the normal poll cadence.
	ErrNotReady = errors.New("aistats: not ready")
	// ErrNotFound: 404 (unknown, not owned or deleted), or no job matched a
	// reconciliation search.
	ErrNotFound = errors.New("aistats: not found")
	// ErrDeleted: 404 with reason video_deleted. Also matches ErrNotFound.
	ErrDeleted = errors.New("aistats: video deleted")
	// ErrRateLimited: 429, or a 502 whose provider failures were rate limits.
	// APIError.Wait says how long to pause.
	ErrRateLimited = errors.New("aistats: rate limited")
	// ErrTransient: a 5xx other than 501, a timeout or a transport failure.
	ErrTransient = errors.New("aistats: transient failure")
	// ErrInvalidRequest: 400 (or 422/426): the request must be fixed, or a
	// client-side validation failed. Also matched by *ValidationError.
	ErrInvalidRequest = errors.New("aistats: invalid request")
	// ErrUnauthorized: 401 unauthorised. Alert; the key is wrong or revoked.
	ErrUnauthorized = errors.New("aistats: unauthorised")
	// ErrInsufficientFunds: 402 insufficient_funds. Do not auto-retry.
	ErrInsufficientFunds = errors.New("aistats: insufficient funds")
	// ErrForbidden: 403 (guardrail_blocked or capability not granted).
	ErrForbidden = errors.New("aistats: forbidden")
	// ErrProtocol: a response that violates the contract (e.g. no job id).
	ErrProtocol = errors.New("aistats: protocol error")
	// ErrAmbiguousCreate: create ended in a timeout, connection failure after
	// sending, 5xx or a non-JSON/unusable reply. The job MAY exist and may be
	// billed: reconcile (provider-contract.md §3.3), never resend blindly.
	ErrAmbiguousCreate = errors.New("aistats: create outcome unknown, job may exist")
	// ErrMultipleMatches: reconciliation found several candidate jobs.
	ErrMultipleMatches = errors.New("aistats: several jobs match")
)

// APIError is a non-2xx reply from the gateway, parsed leniently from any of
// the body shapes in provider-contract.md §2 (gateway envelope with `error`
// as a string or an object, OpenAI-compatible passthrough, WebSocket 426,
// non-JSON infrastructure bodies).
type APIError struct {
	HTTPStatus int
	// Code is `error` when it is a string, else `error.code`, else
	// `error.type` (contract branching order).
	Code string
	// Reason is the finer snake_case cause, e.g. video_deleted.
	Reason string
	// Message is human text (`description`, else `error.message`, else a
	// preview of a non-JSON body). Never branch on it.
	Message string
	// Type is `error_type` (user|system) or the OpenAI `error.type`.
	Type string
	// Origin is `error_origin` (user|gateway|upstream).
	Origin       string
	GenerationID string
	RequestID    string
	VideoID      string
	// RetryAfter comes from the Retry-After header (delta-seconds or
	// HTTP-date); zero when absent.
	RetryAfter time.Duration
	// ResetAt is `reset_at` of 429 key_limit_exceeded; zero when absent.
	ResetAt     time.Time
	LimitWindow string
	LimitMetric string
	// Provider failure detail (502 upstream_error and friends).
	UpstreamStatus  int
	UpstreamCode    string
	UpstreamMessage string
	AttemptCount    int
	FailedProviders []string
	FailedStatuses  []int
	// FailureCategory is provider_failure_diagnostics.category, e.g.
	// rate_limited.
	FailureCategory string
	// NativeVideoID and ReservationID come with 502
	// async_job_persistence_failed: a provider job may exist untracked.
	NativeVideoID string
	ReservationID string
	// Details lists validation_error causes.
	Details []ValidationDetail
	// NonJSON is set when the body was not a JSON object.
	NonJSON bool
}

// ValidationDetail is one entry of a validation_error's `details`.
type ValidationDetail struct {
	Message string
	Path    []string
	Keyword string
}

// Error renders status, code, reason and message; it never contains the API
// key (messages are scrubbed of anything key-shaped when parsed).
func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "aistats: http %d", e.HTTPStatus)
	if e.Code != "" {
		b.WriteString(" " + e.Code)
	}
	if e.Reason != "" {
		b.WriteString(" (" + e.Reason + ")")
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	for _, d := range e.Details {
		if len(d.Path) > 0 {
			fmt.Fprintf(&b, "; %s: %s", strings.Join(d.Path, "."), d.Message)
		}
	}
	// Codes and reasons are gateway-supplied too; scrub the whole line.
	return scrub(b.String())
}

// Is maps the error to its class sentinel so callers branch with errors.Is.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrFeatureOff:
		return e.HTTPStatus == http.StatusNotImplemented
	case ErrNotReady:
		return e.HTTPStatus == http.StatusConflict
	case ErrNotFound:
		return e.HTTPStatus == http.StatusNotFound
	case ErrDeleted:
		return e.HTTPStatus == http.StatusNotFound && (e.Reason == "video_deleted" || e.Code == "video_deleted")
	case ErrRateLimited:
		return e.RateLimited()
	case ErrTransient:
		return e.HTTPStatus >= 500 && e.HTTPStatus != http.StatusNotImplemented
	case ErrInvalidRequest:
		switch e.HTTPStatus {
		case http.StatusBadRequest, http.StatusUnprocessableEntity, http.StatusUpgradeRequired:
			return true
		}
	case ErrUnauthorized:
		return e.HTTPStatus == http.StatusUnauthorized
	case ErrInsufficientFunds:
		return e.HTTPStatus == http.StatusPaymentRequired
	case ErrForbidden:
		return e.HTTPStatus == http.StatusForbidden
	}
	return false
}

// RateLimited reports a 429 of any kind, or a 502 whose provider failover
// ended in rate limits (429 in failed_statuses, upstream_status 429 or
// provider_failure_diagnostics.category rate_limited), which the contract
// says to treat as a 429 (§7).
func (e *APIError) RateLimited() bool {
	if e.HTTPStatus == http.StatusTooManyRequests {
		return true
	}
	if e.HTTPStatus < 500 || e.HTTPStatus == http.StatusNotImplemented {
		return false
	}
	if e.UpstreamStatus == http.StatusTooManyRequests || e.FailureCategory == "rate_limited" {
		return true
	}
	for _, s := range e.FailedStatuses {
		if s == http.StatusTooManyRequests {
			return true
		}
	}
	return false
}

// Wait is the pause the gateway asked for, measured from now: the larger of
// Retry-After and the time left until reset_at. Zero when it asked nothing.
func (e *APIError) Wait(now time.Time) time.Duration {
	w := e.RetryAfter
	if !e.ResetAt.IsZero() {
		if d := e.ResetAt.Sub(now); d > w {
			w = d
		}
	}
	return w
}

// Temporary reports whether err is worth trying again later without
// changing the request: rate limits, 5xx other than 501, transport failures
// and 409 not_ready. It is false for ambiguous creates, which must be
// reconciled rather than retried.
func Temporary(err error) bool {
	if err == nil || errors.Is(err, ErrAmbiguousCreate) || errors.Is(err, ErrFeatureOff) {
		return false
	}
	return errors.Is(err, ErrRateLimited) || errors.Is(err, ErrTransient) || errors.Is(err, ErrNotReady)
}

// RetryAfter returns the pause the gateway asked for (see APIError.Wait) if
// err carries an *APIError that asked for one.
func RetryAfter(err error, now time.Time) (time.Duration, bool) {
	var ae *APIError
	if errors.As(err, &ae) {
		if w := ae.Wait(now); w > 0 {
			return w, true
		}
	}
	return 0, false
}

// ValidationError is a client-side rejection of a request before anything
// was sent. It matches ErrInvalidRequest.
type ValidationError struct {
	Field   string
	Problem string
}

func (e *ValidationError) Error() string {
	return "aistats: invalid request: " + e.Field + ": " + e.Problem
}

// Is makes a ValidationError match ErrInvalidRequest.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalidRequest }

// MultipleMatchesError is returned when reconciliation finds several jobs
// that could be the one an ambiguous create made. It matches
// ErrMultipleMatches; escalate rather than pick one.
type MultipleMatchesError struct {
	IDs []string
}

func (e *MultipleMatchesError) Error() string {
	return fmt.Sprintf("aistats: %d jobs match: %s", len(e.IDs), strings.Join(e.IDs, ", "))
}

// Is makes a MultipleMatchesError match ErrMultipleMatches.
func (e *MultipleMatchesError) Is(target error) bool { return target == ErrMultipleMatches }

// transportError marks a failure below HTTP (timeout, reset, refused) as
// transient.
type transportError struct{ err error }

func (e *transportError) Error() string { return e.err.Error() }
func (e *transportError) Unwrap() error { return e.err }

// Is makes a transportError match ErrTransient.
func (e *transportError) Is(target error) bool { return target == ErrTransient }

// ambiguousError wraps the cause of an ambiguous create so that both
// ErrAmbiguousCreate and the cause (an *APIError, a timeout) can be matched.
type ambiguousError struct{ cause error }

func (e *ambiguousError) Error() string {
	return "create outcome unknown, job may exist (reconcile, do not resend): " + e.cause.Error()
}
func (e *ambiguousError) Unwrap() []error { return []error{ErrAmbiguousCreate, e.cause} }

// maxPreview bounds the text kept from a non-JSON error body.
const maxPreview = 200

// secretPattern scrubs anything that looks like an AI Stats key or a Bearer
// credential from gateway-supplied text before it can reach an error string
// or a log line.
var secretPattern = regexp.MustCompile(`(?i)(aistats_v1_sk_|phaseo_v1_sk_)[A-Za-z0-9_\-]*|bearer\s+\S+`)

func scrub(s string) string {
	return secretPattern.ReplaceAllString(s, "[redacted]")
}

// ParseAPIError builds an *APIError from a non-2xx reply. It accepts any
// body, including empty and non-JSON ones, and never fails; now resolves an
// HTTP-date Retry-After.
func ParseAPIError(status int, header http.Header, body []byte, now time.Time) *APIError {
	e := &APIError{HTTPStatus: status}
	if header != nil {
		e.RetryAfter, _ = ParseRetryAfter(header.Get("Retry-After"), now)
	}
	o, ok := parseObject(body)
	if !ok {
		e.NonJSON = true
		e.Message = preview(body)
		return e
	}
	if inner, ok := o.obj("error"); ok {
		// OpenAI-compatible {"error":{"message","type","code"}} or the
		// WebSocket 426 {"error":{"code","message"}}.
		e.Code = inner.str("code")
		e.Type = inner.str("type")
		if e.Code == "" {
			e.Code = e.Type
		}
		e.Message = inner.str("message")
		if e.Reason == "" {
			e.Reason = inner.str("reason")
		}
	} else {
		e.Code = o.str("error")
	}
	if e.Code == "" {
		e.Code = o.str("code")
	}
	if r := o.str("reason"); r != "" {
		e.Reason = r
	}
	if d := o.str("description"); d != "" {
		e.Message = d
	} else if e.Message == "" {
		e.Message = o.str("message")
	}
	e.Message = scrub(truncate(e.Message, 1000))
	if t := o.str("error_type"); t != "" {
		e.Type = t
	}
	e.Origin = o.str("error_origin")
	e.GenerationID = o.str("generation_id")
	e.RequestID = o.str("request_id")
	e.VideoID = o.str("video_id")
	e.ResetAt = o.time("reset_at")
	e.LimitWindow = o.str("limit_window")
	e.LimitMetric = o.str("limit_metric")
	e.UpstreamStatus = o.int("upstream_status")
	if ue, ok := o.obj("upstream_error"); ok {
		e.UpstreamCode = ue.str("code")
		e.UpstreamMessage = scrub(truncate(firstNonEmpty(ue.str("message"), ue.str("description")), 1000))
		if e.UpstreamStatus == 0 {
			e.UpstreamStatus = ue.int("status")
		}
	} else {
		e.UpstreamMessage = scrub(truncate(o.str("upstream_error"), 1000))
	}
	e.AttemptCount = o.int("attempt_count")
	e.FailedProviders = o.strs("failed_providers")
	for _, raw := range o.arr("failed_statuses") {
		if f, ok := rawNum(raw); ok && f >= 100 && f < 1000 {
			e.FailedStatuses = append(e.FailedStatuses, int(f))
		}
	}
	e.FailureCategory = failureCategory(o)
	e.NativeVideoID = o.str("native_video_id")
	e.ReservationID = o.str("reservation_id")
	for _, raw := range o.arr("details") {
		d, ok := parseObject(raw)
		if !ok {
			continue
		}
		vd := ValidationDetail{Message: scrub(truncate(d.str("message"), 500)), Keyword: d.str("keyword")}
		for _, p := range d.arr("path") {
			var s string
			if json.Unmarshal(p, &s) == nil {
				vd.Path = append(vd.Path, s)
			} else if f, ok := rawNum(p); ok {
				vd.Path = append(vd.Path, strconv.FormatFloat(f, 'f', -1, 64))
			}
		}
		e.Details = append(e.Details, vd)
	}
	return e
}

// failureCategory reads provider_failure_diagnostics.category, which may be
// an object or a list of per-provider objects; rate_limited wins when any
// provider reports it.
func failureCategory(o object) string {
	if d, ok := o.obj("provider_failure_diagnostics"); ok {
		return d.str("category")
	}
	var first string
	for _, raw := range o.arr("provider_failure_diagnostics") {
		if d, ok := parseObject(raw); ok {
			c := d.str("category")
			if c == "rate_limited" {
				return c
			}
			if first == "" {
				first = c
			}
		}
	}
	return first
}

// ParseRetryAfter parses a Retry-After value as delta-seconds or an
// HTTP-date relative to now. A date in the past yields 0 with ok true.
func ParseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 {
			return 0, false
		}
		const maxSeconds = int64(365 * 24 * 3600) // keeps the Duration from overflowing
		return time.Duration(min(n, maxSeconds)) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return max(t.Sub(now), 0), true
}

func preview(body []byte) string {
	s := strings.Join(strings.Fields(strings.ToValidUTF8(string(body[:min(len(body), 4*maxPreview)]), "")), " ")
	return scrub(truncate(s, maxPreview))
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s + "…"
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
