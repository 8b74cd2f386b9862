package intake

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/videojobs/videojobs/internal/aistats"
)

// SubmitRequest is the body of POST /jobs: the subset of the gateway's
// create fields (provider-contract.md §3) a client may set. The webhook
// subscription is the bundle's own and routing/diagnostics stay out of the
// public API.
type SubmitRequest struct {
	Model              string           `json:"model,omitempty"`
	Prompt             string           `json:"prompt"`
	Duration           *int             `json:"duration,omitempty"`
	Size               string           `json:"size,omitempty"`
	Resolution         string           `json:"resolution,omitempty"`
	AspectRatio        string           `json:"aspect_ratio,omitempty"`
	Seed               *int64           `json:"seed,omitempty"`
	SampleCount        *int             `json:"sample_count,omitempty"`
	NegativePrompt     string           `json:"negative_prompt,omitempty"`
	PersonGeneration   string           `json:"person_generation,omitempty"`
	ResizeMode         string           `json:"resize_mode,omitempty"`
	GenerateAudio      *bool            `json:"generate_audio,omitempty"`
	EnhancePrompt      *bool            `json:"enhance_prompt,omitempty"`
	CompressionQuality *int             `json:"compression_quality,omitempty"`
	InputReferences    []InputReference `json:"input_references,omitempty"`
	ProviderParams     map[string]any   `json:"provider_params,omitempty"`
	Output             *Output          `json:"output,omitempty"`
}

// InputReference is one image-conditioning entry.
type InputReference struct {
	Type          string   `json:"type,omitempty"`
	Role          string   `json:"role,omitempty"`
	ReferenceType string   `json:"reference_type,omitempty"`
	ImageURL      ImageURL `json:"image_url"`
}

// ImageURL wraps an input reference's URL.
type ImageURL struct {
	URL string `json:"url"`
}

// Output selects how the finished video may be fetched from the gateway.
type Output struct {
	Access string `json:"access"`
}

// Limits on submissions. Prompts beyond these are abuse or mistakes, and
// the whole body is bounded by httpapi.MaxBodyBytes anyway.
const (
	MaxPromptRunes     = 8000
	maxShortString     = 128
	maxInputReferences = 8
	maxURLLength       = 2048
	// MaxIdempotencyKeyLength bounds the Idempotency-Key header.
	MaxIdempotencyKeyLength = 128
)

var (
	sizePattern        = regexp.MustCompile(`^[1-9][0-9]{1,4}x[1-9][0-9]{1,4}$`)
	aspectPattern      = regexp.MustCompile(`^[1-9][0-9]{0,2}:[1-9][0-9]{0,2}$`)
	idempotencyPattern = regexp.MustCompile(`^[A-Za-z0-9._:~+/=-]+$`)
	resolutions        = map[string]bool{"480p": true, "720p": true, "1080p": true, "1K": true, "2K": true, "4K": true}
	roles              = map[string]bool{"first_frame": true, "last_frame": true, "reference": true, "source": true, "mask": true}
	accessModes        = map[string]bool{"bytes": true, "signed_url": true, "both": true}
)

// Validate checks every field and returns the first problem as a
// *FieldError, in field order so the answer is stable.
func (r *SubmitRequest) Validate() error {
	if r.Model != "" && !validModel(r.Model) {
		return &FieldError{Field: "model", Message: "must be a model id such as google/veo-3.1-lite"}
	}
	if strings.TrimSpace(r.Prompt) == "" {
		return &FieldError{Field: "prompt", Message: "is required and must not be blank"}
	}
	if n := utf8.RuneCountInString(r.Prompt); n > MaxPromptRunes {
		return &FieldError{Field: "prompt", Message: fmt.Sprintf("must be at most %d characters, got %d", MaxPromptRunes, n)}
	}
	if r.Duration != nil && (*r.Duration < 1 || *r.Duration > 120) {
		return &FieldError{Field: "duration", Message: "must be 1..120 seconds"}
	}
	if r.Size != "" {
		if !sizePattern.MatchString(r.Size) {
			return &FieldError{Field: "size", Message: `must be WIDTHxHEIGHT, e.g. "1280x720"`}
		}
		if r.Resolution != "" || r.AspectRatio != "" {
			return &FieldError{Field: "size", Message: "cannot be combined with resolution or aspect_ratio"}
		}
	}
	if r.Resolution != "" && !resolutions[r.Resolution] {
		return &FieldError{Field: "resolution", Message: "must be one of 480p, 720p, 1080p, 1K, 2K, 4K"}
	}
	if r.AspectRatio != "" && !aspectPattern.MatchString(r.AspectRatio) {
		return &FieldError{Field: "aspect_ratio", Message: `must be W:H, e.g. "16:9"`}
	}
	if r.SampleCount != nil && (*r.SampleCount < 1 || *r.SampleCount > 16) {
		return &FieldError{Field: "sample_count", Message: "must be 1..16"}
	}
	if n := utf8.RuneCountInString(r.NegativePrompt); n > MaxPromptRunes {
		return &FieldError{Field: "negative_prompt", Message: fmt.Sprintf("must be at most %d characters", MaxPromptRunes)}
	}
	for _, f := range []struct{ name, v string }{{"person_generation", r.PersonGeneration}, {"resize_mode", r.ResizeMode}} {
		if len(f.v) > maxShortString {
			return &FieldError{Field: f.name, Message: fmt.Sprintf("must be at most %d bytes", maxShortString)}
		}
	}
	if r.CompressionQuality != nil && (*r.CompressionQuality < 0 || *r.CompressionQuality > 100) {
		return &FieldError{Field: "compression_quality", Message: "must be 0..100"}
	}
	if len(r.InputReferences) > maxInputReferences {
		return &FieldError{Field: "input_references", Message: fmt.Sprintf("must have at most %d entries", maxInputReferences)}
	}
	for i, ref := range r.InputReferences {
		p := fmt.Sprintf("input_references[%d]", i)
		if ref.Type != "" && ref.Type != "image_url" {
			return &FieldError{Field: p + ".type", Message: `must be "image_url"`}
		}
		if ref.Role != "" && !roles[ref.Role] {
			return &FieldError{Field: p + ".role", Message: "must be first_frame, last_frame, reference, source or mask"}
		}
		if len(ref.ReferenceType) > maxShortString {
			return &FieldError{Field: p + ".reference_type", Message: fmt.Sprintf("must be at most %d bytes", maxShortString)}
		}
		if !validImageURL(ref.ImageURL.URL) {
			return &FieldError{Field: p + ".image_url.url", Message: "must be an absolute https URL (or a data: URL)"}
		}
	}
	if r.Output != nil && !accessModes[r.Output.Access] {
		return &FieldError{Field: "output.access", Message: "must be bytes, signed_url or both"}
	}
	return nil
}

func validImageURL(s string) bool {
	if strings.HasPrefix(s, "data:image/") {
		return true // inline images are bounded by the body limit
	}
	if len(s) > maxURLLength {
		return false
	}
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != ""
}

// ValidateIdempotencyKey checks an Idempotency-Key header value; empty
// means none was sent and is valid.
func ValidateIdempotencyKey(key string) error {
	if key == "" {
		return nil
	}
	if len(key) > MaxIdempotencyKeyLength {
		return &FieldError{Field: "Idempotency-Key", Message: fmt.Sprintf("must be at most %d characters", MaxIdempotencyKeyLength)}
	}
	if !idempotencyPattern.MatchString(key) {
		return &FieldError{Field: "Idempotency-Key", Message: "may contain only letters, digits and . _ : ~ + / = -"}
	}
	return nil
}

// Fingerprint is the sha256 of the request's canonical JSON: the decoded
// struct re-encoded, so key order, whitespace and escapes in the client's
// bytes do not matter while every value does. Map keys in provider_params
// are sorted by encoding/json.
func (r *SubmitRequest) Fingerprint() string {
	b, err := json.Marshal(r)
	if err != nil {
		// Only values that came from a JSON decode are ever here, so they
		// always encode; fall back to the printed form to stay total.
		b = fmt.Appendf(nil, "%#v", r)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// createRequest builds the gateway create body for a validated request.
func (r *SubmitRequest) createRequest(model string) aistats.CreateRequest {
	c := aistats.CreateRequest{
		Model:              model,
		Prompt:             r.Prompt,
		Size:               r.Size,
		Resolution:         r.Resolution,
		AspectRatio:        r.AspectRatio,
		Seed:               r.Seed,
		NegativePrompt:     r.NegativePrompt,
		PersonGeneration:   r.PersonGeneration,
		ResizeMode:         r.ResizeMode,
		GenerateAudio:      r.GenerateAudio,
		EnhancePrompt:      r.EnhancePrompt,
		CompressionQuality: r.CompressionQuality,
		ProviderParams:     r.ProviderParams,
	}
	if r.Duration != nil {
		c.Duration = *r.Duration
	}
	if r.SampleCount != nil {
		c.SampleCount = *r.SampleCount
	}
	for _, ref := range r.InputReferences {
		c.InputReferences = append(c.InputReferences, aistats.InputReference{
			Type: ref.Type, Role: ref.Role, ReferenceType: ref.ReferenceType,
			ImageURL: aistats.ImageURL{URL: ref.ImageURL.URL},
		})
	}
	if r.Output != nil {
		c.Output = &aistats.OutputOptions{Access: r.Output.Access}
	}
	return c
}

// validModel matches ^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$. It is a loop,
// not a regexp: compiling the bounded repetition at package init took half
// a millisecond of every cold start of the functions that import intake.
func validModel(s string) bool {
	if len(s) == 0 || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		alnum := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
		if !alnum && (i == 0 || !strings.ContainsRune("._:/-", rune(c))) {
			return false
		}
	}
	return true
}
