package aistats

import (
	"encoding/json"
	"log/slog"
	"net/netip"
	"net/url"
	"strings"
)

// CreateRequest is the body of POST /v1/videos. The gateway rejects unknown
// keys (provider-contract.md §3), so this is a closed struct: only the
// documented fields exist, zero values are omitted, and free-form data goes
// only into ProviderParams. Diagnostics keys (debug, beta,
// echo_upstream_request) are deliberately absent.
type CreateRequest struct {
	Model  string `json:"model"`
	Prompt string `json:"prompt"`
	// Duration is in seconds (1..120 observed; the model decides).
	Duration int `json:"duration,omitempty"`
	// Size (e.g. "1280x720") excludes Resolution and AspectRatio.
	Size        string `json:"size,omitempty"`
	Resolution  string `json:"resolution,omitempty"`
	AspectRatio string `json:"aspect_ratio,omitempty"`
	// Seed is a pointer because 0 is a valid seed.
	Seed               *int64           `json:"seed,omitempty"`
	SampleCount        int              `json:"sample_count,omitempty"`
	NegativePrompt     string           `json:"negative_prompt,omitempty"`
	PersonGeneration   string           `json:"person_generation,omitempty"`
	ResizeMode         string           `json:"resize_mode,omitempty"`
	GenerateAudio      *bool            `json:"generate_audio,omitempty"`
	EnhancePrompt      *bool            `json:"enhance_prompt,omitempty"`
	CompressionQuality *int             `json:"compression_quality,omitempty"`
	InputReferences    []InputReference `json:"input_references,omitempty"`
	// ProviderParams is passed through as the free-form provider_params
	// object.
	ProviderParams map[string]any   `json:"provider_params,omitempty"`
	Output         *OutputOptions   `json:"output,omitempty"`
	Webhook        *WebhookConfig   `json:"webhook,omitempty"`
	Provider       *ProviderRouting `json:"provider,omitempty"`
}

// InputReference is one image-conditioning entry.
type InputReference struct {
	// Type must be "image_url"; empty is sent as "image_url".
	Type string `json:"type"`
	// Role is first_frame, last_frame, reference, source or mask; empty lets
	// the gateway choose.
	Role          string   `json:"role,omitempty"`
	ReferenceType string   `json:"reference_type,omitempty"`
	ImageURL      ImageURL `json:"image_url"`
}

// ImageURL is the {"url": …} wrapper of an input reference.
type ImageURL struct {
	URL string `json:"url"`
}

// OutputOptions selects how the finished video may be fetched.
type OutputOptions struct {
	// Access is bytes, signed_url or both (gateway default both).
	Access string `json:"access"`
}

// ProviderRouting is the `provider` routing object.
type ProviderRouting struct {
	Order             []string        `json:"order,omitempty"`
	Only              []string        `json:"only,omitempty"`
	Ignore            []string        `json:"ignore,omitempty"`
	IncludeAlpha      *bool           `json:"include_alpha,omitempty"`
	AllowFallbacks    *bool           `json:"allow_fallbacks,omitempty"`
	RequireParameters *bool           `json:"require_parameters,omitempty"`
	Sort              string          `json:"sort,omitempty"`
	MaxPrice          json.RawMessage `json:"max_price,omitempty"`
}

// WebhookConfig subscribes the job to webhook deliveries, in one of two
// styles that must not be mixed: inline (URL, optional Secret, Events; §3.1)
// or by reference to a dashboard endpoint (EndpointID, Events; §9).
type WebhookConfig struct {
	URL        string   `json:"url,omitempty"`
	Secret     string   `json:"secret,omitempty"`
	EndpointID string   `json:"endpoint_id,omitempty"`
	Events     []string `json:"events,omitempty"`
}

// String hides the secret so a logged request cannot leak it.
func (w WebhookConfig) String() string {
	s := "webhook{url=" + w.URL
	if w.EndpointID != "" {
		s = "webhook{endpoint_id=" + w.EndpointID
	}
	if w.Secret != "" {
		s += " secret=[redacted]"
	}
	return s + " events=" + strings.Join(w.Events, ",") + "}"
}

// LogValue hides the secret from slog.
func (w WebhookConfig) LogValue() slog.Value {
	return slog.StringValue(w.String())
}

// DownloadURLRequest is the optional body of POST …/download_url. Zero
// values are omitted so the gateway applies its defaults (index 0, 900 s,
// attachment).
type DownloadURLRequest struct {
	Index int `json:"index,omitempty"`
	// TTLSeconds is clamped by the gateway to [60, 3600].
	TTLSeconds  int    `json:"ttl_seconds,omitempty"`
	Disposition string `json:"disposition,omitempty"`
}

// ListOptions filters GET /v1/videos.
type ListOptions struct {
	// Limit is 1..200; 0 means the gateway default (50).
	Limit int
	// Statuses filters by status (canonical or alias words).
	Statuses []Status
}

var validResolutions = map[string]bool{"480p": true, "720p": true, "1080p": true, "1K": true, "2K": true, "4K": true}

var validRoles = map[string]bool{"first_frame": true, "last_frame": true, "reference": true, "source": true, "mask": true}

// Validate catches the mistakes the gateway would reject with a 400 before a
// billable request is sent. It is not exhaustive: the gateway stays the
// authority on model-specific values.
func (r *CreateRequest) Validate() error {
	switch {
	case strings.TrimSpace(r.Model) == "":
		return &ValidationError{Field: "model", Problem: "required"}
	case strings.TrimSpace(r.Prompt) == "":
		return &ValidationError{Field: "prompt", Problem: "required"}
	case r.Size != "" && (r.Resolution != "" || r.AspectRatio != ""):
		return &ValidationError{Field: "size", Problem: "cannot be combined with resolution or aspect_ratio"}
	case r.Duration < 0 || r.Duration > 120:
		return &ValidationError{Field: "duration", Problem: "must be 1..120 seconds"}
	case r.Resolution != "" && !validResolutions[r.Resolution]:
		return &ValidationError{Field: "resolution", Problem: "must be one of 480p, 720p, 1080p, 1K, 2K, 4K"}
	case r.SampleCount < 0:
		return &ValidationError{Field: "sample_count", Problem: "must be positive"}
	case r.CompressionQuality != nil && (*r.CompressionQuality < 0 || *r.CompressionQuality > 100):
		return &ValidationError{Field: "compression_quality", Problem: "must be 0..100"}
	}
	if r.Output != nil {
		switch r.Output.Access {
		case "bytes", "signed_url", "both":
		default:
			return &ValidationError{Field: "output.access", Problem: "must be bytes, signed_url or both"}
		}
	}
	for _, ref := range r.InputReferences {
		if ref.Type != "" && ref.Type != "image_url" {
			return &ValidationError{Field: "input_references.type", Problem: "must be image_url"}
		}
		if ref.Role != "" && !validRoles[ref.Role] {
			return &ValidationError{Field: "input_references.role", Problem: "must be first_frame, last_frame, reference, source or mask"}
		}
		if strings.TrimSpace(ref.ImageURL.URL) == "" {
			return &ValidationError{Field: "input_references.image_url.url", Problem: "required"}
		}
	}
	if r.Webhook != nil {
		return r.Webhook.Validate()
	}
	return nil
}

// MarshalJSON fills the defaulted input reference type so a zero Type is
// not sent as "" (which the strict gateway rejects).
func (r InputReference) MarshalJSON() ([]byte, error) {
	type plain InputReference
	if r.Type == "" {
		r.Type = "image_url"
	}
	return json.Marshal(plain(r))
}

var webhookPhases = map[string]bool{"created": true, "progress": true, "completed": true, "failed": true, "cancelled": true, "canceled": true, "expired": true}

// Validate checks the subscription the way the gateway does (§3.1, §9):
// exactly one style, an https URL (plain http only for the loopback forms),
// no literal private address, and events that include at least one video
// event.
func (w *WebhookConfig) Validate() error {
	inline := w.URL != "" || w.Secret != ""
	byRef := w.EndpointID != ""
	switch {
	case inline && byRef:
		return &ValidationError{Field: "webhook", Problem: "use either url/secret or endpoint_id, not both"}
	case !inline && !byRef:
		return &ValidationError{Field: "webhook", Problem: "url or endpoint_id required"}
	case inline && w.URL == "":
		return &ValidationError{Field: "webhook.url", Problem: "required with secret"}
	}
	if inline {
		if err := checkWebhookURL(w.URL); err != nil {
			return err
		}
	}
	if w.Events == nil {
		return nil
	}
	for _, e := range w.Events {
		name := strings.ToLower(strings.TrimSpace(e))
		phase := name
		if p, ok := strings.CutPrefix(name, "job."); ok {
			phase = p
		} else if p, ok := strings.CutPrefix(name, "video."); ok {
			phase = p
		}
		if webhookPhases[phase] || (byRef && phase == "status_changed") {
			return nil
		}
	}
	return &ValidationError{Field: "webhook.events", Problem: "no event applies to video jobs"}
}

func checkWebhookURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return &ValidationError{Field: "webhook.url", Problem: "not an absolute url"}
	}
	host := u.Hostname()
	switch u.Scheme {
	case "http":
		if host == "localhost" || host == "127.0.0.1" || host == "::1" {
			return nil
		}
		return &ValidationError{Field: "webhook.url", Problem: "must be https (plain http only for localhost, 127.0.0.1, [::1])"}
	case "https":
	default:
		return &ValidationError{Field: "webhook.url", Problem: "must be https"}
	}
	if strings.EqualFold(host, "localhost") {
		return &ValidationError{Field: "webhook.url", Problem: "https://localhost is rejected by the gateway"}
	}
	if ip, err := netip.ParseAddr(host); err == nil && privateAddr(ip) {
		return &ValidationError{Field: "webhook.url", Problem: "private or loopback address"}
	}
	return nil
}

// privateAddr mirrors the gateway's literal-host check (§3.1).
func privateAddr(ip netip.Addr) bool {
	ip = ip.WithZone("")
	if ip.Is4In6() {
		ip = ip.Unmap()
	}
	if ip.Is4() {
		for _, p := range []string{"0.0.0.0/8", "10.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12", "192.168.0.0/16"} {
			if netip.MustParsePrefix(p).Contains(ip) {
				return true
			}
		}
		return false
	}
	return ip.IsUnspecified() || ip.IsLoopback() ||
		netip.MustParsePrefix("fc00::/7").Contains(ip) || netip.MustParsePrefix("fe80::/10").Contains(ip)
}
