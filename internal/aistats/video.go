package aistats

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Video is a job as reported by the gateway (provider-contract.md §4), from
// create, GET, list items or cancel. Fields the gateway omitted or sent as
// null are zero; see the field comments for where zero is ambiguous.
type Video struct {
	ID     string
	Object string
	// Status is the canonical status after normalisation of `status` and
	// `lifecycle_status`.
	Status Status
	// UnknownStatus holds a status word the table did not recognise (Status
	// is then queued unless the other field resolved it); callers log it.
	UnknownStatus   string
	RawStatus       string
	LifecycleStatus string
	// Deleted is set for tombstones (`deleted: true`, `deleted_at`, or the
	// status word "deleted"), which list replies may contain.
	Deleted bool

	// Progress is 0..100, or nil when the gateway sent null or nothing.
	Progress       *int
	ProgressSource string

	// PollingURL is absolute: resolved against the client's base URL, or
	// built from ID when the reply had none.
	PollingURL   string
	WebsocketURL string
	// PollAfter is poll_after_seconds; zero when absent.
	PollAfter time.Duration
	// CancelURL is non-empty only while cancel is possible (§5.5).
	CancelURL string

	GenerationID  string
	NativeVideoID string
	Provider      string
	Model         string
	Prompt        string

	CreatedAt   time.Time
	StartedAt   time.Time
	CompletedAt time.Time

	// Seconds is the video length (`seconds`, a number or the OpenAI
	// variant's string); nil when unknown.
	Seconds *float64
	Size    string
	Audio   *bool
	Quality string

	OutputAccess string
	ContentURL   string
	DownloadURL  string
	// ExpiresAt is when DownloadURL (or, in the OpenAI variant, the video)
	// expires.
	ExpiresAt time.Time
	Asset     *Asset
	Outputs   []Output

	// Error is the final provider error of a failed job.
	Error   *VideoError
	Billing *Billing
	Webhook *WebhookState

	NextWebhookRetryAt      time.Time
	LastWebhookDispatchedAt time.Time
}

// Asset describes the finished file. Bytes is 0 when unknown.
type Asset struct {
	ID              string
	MimeType        string
	Bytes           int64
	SHA256          string
	Width, Height   int
	DurationSeconds float64
}

// Output is one entry of `outputs[]`, addressed by Content's index.
type Output struct {
	Index          int
	MimeType       string
	BytesAvailable bool
	ContentURL     string
	DownloadURL    string
	ExpiresAt      time.Time
}

// VideoError is a job's final error; the gateway sends either a string (kept
// in Message) or an object.
type VideoError struct {
	Code    string
	Type    string
	Message string
}

func (e *VideoError) String() string {
	return strings.TrimPrefix(strings.Join([]string{e.Code, e.Message}, ": "), ": ")
}

// Billing is the job's hold/settlement state; costs are decimal strings.
type Billing struct {
	State               string
	Currency            string
	EstimatedUserCost   string
	SettledUserCost     string
	TotalNanos          int64
	ReservationID       string
	ReservationStatus   string
	Charged             *bool
	BilledAt            time.Time
	EstimatedNanos      int64
	ReservedNanos       int64
	SettledProviderCost string
}

// WebhookState is the `webhook` subscription and delivery-state object
// (§4.2). The secret is never returned; HasSecret says whether one is set.
type WebhookState struct {
	URL        string
	EndpointID string
	Events     []string
	HasSecret  bool
	Delivery   *DeliverySummary
	Attempts   []DeliveryAttempt
}

// DeliverySummary is the gateway's own account of webhook deliveries for a
// job (`webhook.delivery`).
type DeliverySummary struct {
	TotalAttempts       int
	DeliveredEvents     int
	DeliveredEventTypes []string
	PendingRetries      int
	NextRetryAt         time.Time
	LastAttemptAt       time.Time
	// LastAttemptStatus is delivered, scheduled_retry or failed_permanently.
	LastAttemptStatus  string
	LastResponseStatus int
	LastDeliveredAt    time.Time
	LastFailureAt      time.Time
	LastErrorMessage   string
}

// DeliveryAttempt is one entry of `webhook.attempts` (newest 10 only).
type DeliveryAttempt struct {
	ID             string
	DeliveryKey    string
	EventType      string
	Status         string
	AttemptNumber  int
	MaxAttempts    int
	TriedAt        time.Time
	DeliveredAt    time.Time
	NextRetryAt    time.Time
	ResponseStatus int
	ErrorMessage   string
}

// VideoList is a list reply (§5.3), newest first.
type VideoList struct {
	Data    []Video
	FirstID string
	LastID  string
	HasMore bool
	// Skipped counts list items that could not be decoded (no id).
	Skipped int
}

// DownloadURL is a signed, key-less download URL (§5.2).
type DownloadURL struct {
	URL       string
	ExpiresAt time.Time
}

// DecodeVideo decodes a video object from create, GET, list or cancel
// replies, including the observed slim create reply, the OpenAI-shaped
// variant and the `video_id` spelling. base resolves a relative polling_url
// and builds one from the id when absent; it may be nil. A body without `id`
// or `video_id` is an ErrProtocol error.
func DecodeVideo(body []byte, base *url.URL) (*Video, error) {
	o, ok := parseObject(body)
	if !ok {
		return nil, fmt.Errorf("decode video: %w: body is not a json object", ErrProtocol)
	}
	return videoFromObject(o, base)
}

func videoFromObject(o object, base *url.URL) (*Video, error) {
	v := &Video{ID: strings.TrimSpace(o.str("id"))}
	if v.ID == "" {
		v.ID = strings.TrimSpace(o.str("video_id"))
	}
	if v.ID == "" {
		return nil, fmt.Errorf("decode video: %w: neither id nor video_id present", ErrProtocol)
	}
	v.Object = o.str("object")
	v.RawStatus = o.str("status")
	v.LifecycleStatus = o.str("lifecycle_status")
	v.Status, v.UnknownStatus = normaliseStatus(v.RawStatus, v.LifecycleStatus)
	if del, _ := o.bool("deleted"); del || !o.time("deleted_at").IsZero() ||
		strings.EqualFold(v.RawStatus, "deleted") || strings.EqualFold(v.LifecycleStatus, "deleted") {
		v.Deleted = true
		if strings.EqualFold(v.UnknownStatus, "deleted") {
			v.UnknownStatus = ""
		}
	}
	if p, ok := o.int64("progress"); ok {
		n := int(max(0, min(p, 100)))
		v.Progress = &n
	}
	v.ProgressSource = o.str("progress_source")
	v.PollingURL = resolveURL(base, o.str("polling_url"))
	if v.PollingURL == "" && base != nil {
		v.PollingURL = videoURL(base, v.ID)
	}
	v.WebsocketURL = o.str("websocket_url")
	if s, ok := o.int64("poll_after_seconds"); ok && s > 0 && s < 86400 {
		v.PollAfter = time.Duration(s) * time.Second
	}
	v.CancelURL = resolveURL(base, o.str("cancel_url"))
	v.GenerationID = o.str("generation_id")
	v.NativeVideoID = o.str("native_video_id")
	v.Provider = providerName(o)
	v.Model = o.str("model")
	v.Prompt = o.str("prompt")
	v.CreatedAt = o.time("created_at")
	v.StartedAt = o.time("started_at")
	v.CompletedAt = o.time("completed_at")
	if f, ok := o.num("seconds"); ok {
		v.Seconds = &f
	}
	v.Size = o.str("size")
	if b, ok := o.bool("audio"); ok {
		v.Audio = &b
	}
	v.Quality = o.str("quality")
	v.OutputAccess = o.str("output_access")
	v.ContentURL = resolveURL(base, o.str("content_url"))
	v.DownloadURL = resolveURL(base, o.str("download_url"))
	v.ExpiresAt = o.time("expires_at")
	if a, ok := o.obj("asset"); ok {
		v.Asset = &Asset{
			ID:              a.str("id"),
			MimeType:        a.str("mime_type"),
			SHA256:          a.str("sha256"),
			Width:           a.int("width"),
			Height:          a.int("height"),
			DurationSeconds: floatOr(a, "duration_seconds"),
		}
		if n, ok := a.int64("bytes"); ok && n > 0 {
			v.Asset.Bytes = n
		}
	}
	for i, raw := range o.arr("outputs") {
		out, ok := parseObject(raw)
		if !ok {
			continue
		}
		op := Output{
			Index:       i,
			MimeType:    out.str("mime_type"),
			ContentURL:  resolveURL(base, out.str("content_url")),
			DownloadURL: resolveURL(base, out.str("download_url")),
			ExpiresAt:   out.time("expires_at"),
		}
		if n, ok := out.int64("index"); ok && n >= 0 && n < 1<<31 {
			op.Index = int(n)
		}
		if op.MimeType == "" {
			op.MimeType = "video/mp4"
		}
		op.BytesAvailable, _ = out.bool("bytes_available")
		v.Outputs = append(v.Outputs, op)
	}
	v.Error = videoError(o["error"])
	if b, ok := o.obj("billing"); ok {
		v.Billing = &Billing{
			State:               b.str("state"),
			Currency:            b.str("currency"),
			EstimatedUserCost:   b.str("estimated_user_cost"),
			SettledUserCost:     b.str("settled_user_cost"),
			SettledProviderCost: b.str("settled_provider_cost"),
			ReservationID:       b.str("reservation_id"),
			ReservationStatus:   b.str("reservation_status"),
			BilledAt:            b.time("billed_at"),
		}
		v.Billing.TotalNanos, _ = b.int64("total_nanos")
		v.Billing.EstimatedNanos, _ = b.int64("estimated_nanos")
		v.Billing.ReservedNanos, _ = b.int64("reserved_nanos")
		if c, ok := b.bool("charged"); ok {
			v.Billing.Charged = &c
		}
	}
	if w, ok := o.obj("webhook"); ok {
		v.Webhook = webhookState(w)
	}
	v.NextWebhookRetryAt = o.time("next_webhook_retry_at")
	v.LastWebhookDispatchedAt = o.time("last_webhook_dispatched_at")
	return v, nil
}

// providerName reads `provider`, a string on the video object; the create
// request uses the same key for a routing object, which is ignored here.
func providerName(o object) string {
	raw, ok := o["provider"]
	if !ok {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return ""
	}
	return s
}

func floatOr(o object, key string) float64 {
	f, _ := o.num(key)
	return f
}

func videoError(raw json.RawMessage) *VideoError {
	if isNull(raw) {
		return nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		if strings.TrimSpace(s) == "" {
			return nil
		}
		return &VideoError{Message: s}
	}
	o, ok := parseObject(raw)
	if !ok {
		return nil
	}
	e := &VideoError{Code: o.str("code"), Type: o.str("type"), Message: firstNonEmpty(o.str("message"), o.str("description"))}
	if *e == (VideoError{}) {
		return nil
	}
	return e
}

func webhookState(w object) *WebhookState {
	ws := &WebhookState{
		URL:        w.str("url"),
		EndpointID: w.str("endpoint_id"),
		Events:     w.strs("events"),
	}
	ws.HasSecret, _ = w.bool("has_secret")
	if d, ok := w.obj("delivery"); ok {
		ws.Delivery = &DeliverySummary{
			TotalAttempts:       d.int("total_attempts"),
			DeliveredEvents:     d.int("delivered_events"),
			DeliveredEventTypes: d.strs("delivered_event_types"),
			PendingRetries:      d.int("pending_retries"),
			NextRetryAt:         d.time("next_retry_at"),
			LastAttemptAt:       d.time("last_attempt_at"),
			LastAttemptStatus:   d.str("last_attempt_status"),
			LastResponseStatus:  d.int("last_response_status"),
			LastDeliveredAt:     d.time("last_delivered_at"),
			LastFailureAt:       d.time("last_failure_at"),
			LastErrorMessage:    scrub(d.str("last_error_message")),
		}
	}
	for _, raw := range w.arr("attempts") {
		a, ok := parseObject(raw)
		if !ok {
			continue
		}
		ws.Attempts = append(ws.Attempts, DeliveryAttempt{
			ID:             a.str("id"),
			DeliveryKey:    a.str("delivery_key"),
			EventType:      a.str("event_type"),
			Status:         a.str("status"),
			AttemptNumber:  a.int("attempt_number"),
			MaxAttempts:    a.int("max_attempts"),
			TriedAt:        a.time("tried_at"),
			DeliveredAt:    a.time("delivered_at"),
			NextRetryAt:    a.time("next_retry_at"),
			ResponseStatus: a.int("response_status"),
			ErrorMessage:   scrub(a.str("error_message")),
		})
	}
	return ws
}

// DecodeVideoList decodes a list reply. Items without an id are skipped and
// counted rather than failing the whole page.
func DecodeVideoList(body []byte, base *url.URL) (*VideoList, error) {
	o, ok := parseObject(body)
	if !ok {
		return nil, fmt.Errorf("decode video list: %w: body is not a json object", ErrProtocol)
	}
	raw, present := o["data"]
	if !present || isNull(raw) {
		return nil, fmt.Errorf("decode video list: %w: no data array", ErrProtocol)
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, fmt.Errorf("decode video list: %w: data is not an array", ErrProtocol)
	}
	l := &VideoList{FirstID: o.str("first_id"), LastID: o.str("last_id")}
	l.HasMore, _ = o.bool("has_more")
	for _, it := range items {
		io, ok := parseObject(it)
		if !ok {
			l.Skipped++
			continue
		}
		v, err := videoFromObject(io, base)
		if err != nil {
			l.Skipped++
			continue
		}
		l.Data = append(l.Data, *v)
	}
	return l, nil
}

// decodeDownloadURL decodes the download_url reply.
func decodeDownloadURL(body []byte, base *url.URL) (*DownloadURL, error) {
	o, ok := parseObject(body)
	if !ok {
		return nil, fmt.Errorf("decode download url: %w: body is not a json object", ErrProtocol)
	}
	d := &DownloadURL{URL: resolveURL(base, o.str("download_url")), ExpiresAt: o.time("expires_at")}
	if d.URL == "" {
		d.URL = resolveURL(base, o.str("url"))
	}
	if d.URL == "" {
		return nil, fmt.Errorf("decode download url: %w: no download_url", ErrProtocol)
	}
	return d, nil
}

// resolveURL makes ref absolute against base. Unparseable references are
// dropped: a garbled optional URL must not fail a poll.
func resolveURL(base *url.URL, ref string) string {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return ""
	}
	u, err := url.Parse(ref)
	if err != nil {
		return ""
	}
	if base == nil || u.IsAbs() {
		return u.String()
	}
	return base.ResolveReference(u).String()
}

// videoURL is <base>/v1/videos/<id> with the id escaped as one segment.
func videoURL(base *url.URL, id string, rest ...string) string {
	u := *base
	segs := append([]string{"v1", "videos", id}, rest...)
	var p, rp strings.Builder
	p.WriteString(strings.TrimSuffix(u.Path, "/"))
	rp.WriteString(strings.TrimSuffix(u.EscapedPath(), "/"))
	for _, s := range segs {
		p.WriteString("/" + s)
		rp.WriteString("/" + url.PathEscape(s))
	}
	u.Path, u.RawPath = p.String(), rp.String()
	u.RawQuery, u.Fragment = "", ""
	return u.String()
}
