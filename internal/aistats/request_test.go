package aistats

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// allowedCreateKeys is provider-contract.md §3 minus the diagnostics keys
// kept out of production; the gateway rejects any other key.
var allowedCreateKeys = map[string]bool{
	"model": true, "prompt": true, "duration": true, "size": true, "resolution": true, "aspect_ratio": true,
	"seed": true, "sample_count": true, "negative_prompt": true, "person_generation": true, "resize_mode": true,
	"generate_audio": true, "enhance_prompt": true, "compression_quality": true, "input_references": true,
	"provider_params": true, "output": true, "webhook": true, "provider": true,
}

func fullCreateRequest() CreateRequest {
	return CreateRequest{
		Model: "google/veo-3.1-lite", Prompt: "a cat", Duration: 8, Resolution: "720p", AspectRatio: "16:9",
		Seed: ptr(int64(0)), SampleCount: 1, NegativePrompt: "dogs", PersonGeneration: "allow_adult", ResizeMode: "pad",
		GenerateAudio: ptr(false), EnhancePrompt: ptr(true), CompressionQuality: ptr(0),
		InputReferences: []InputReference{{ImageURL: ImageURL{URL: "https://img.example/a.png"}}},
		ProviderParams:  map[string]any{"x": 1},
		Output:          &OutputOptions{Access: "bytes"},
		Webhook:         &WebhookConfig{URL: "https://hooks.example/w?job=vj_1", Secret: "s", Events: []string{"completed"}},
		Provider:        &ProviderRouting{Order: []string{"google-vertex"}, AllowFallbacks: ptr(false)},
	}
}

func TestCreateRequestJSONIsStrict(t *testing.T) {
	b, err := json.Marshal(fullCreateRequest())
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range m {
		if !allowedCreateKeys[k] {
			t.Errorf("create body has key %q, which the strict gateway rejects", k)
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	// size is the one allowed key left out: it excludes resolution.
	if _, hasSize := m["size"]; hasSize || len(keys) != len(allowedCreateKeys)-1 {
		t.Errorf("full request marshals keys %v, want every allowed key but size", keys)
	}
	// Zero-valued pointers that matter (seed 0, false flags, quality 0) are
	// sent, not dropped.
	for _, k := range []string{"seed", "generate_audio", "compression_quality"} {
		if _, ok := m[k]; !ok {
			t.Errorf("key %q dropped although set to its zero value", k)
		}
	}
	if got, want := string(m["input_references"]), `[{"type":"image_url","image_url":{"url":"https://img.example/a.png"}}]`; got != want {
		t.Errorf("input_references = %s, want %s", got, want)
	}

	minimal, err := json.Marshal(CreateRequest{Model: "m", Prompt: "p"})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(minimal), `{"model":"m","prompt":"p"}`; got != want {
		t.Errorf("minimal request = %s, want %s", got, want)
	}
}

func TestCreateRequestValidate(t *testing.T) {
	tests := []struct {
		name      string
		mutate    func(r *CreateRequest)
		wantField string // "" = valid
	}{
		{"full request valid", func(r *CreateRequest) {}, ""},
		{"model required", func(r *CreateRequest) { r.Model = " " }, "model"},
		{"prompt required", func(r *CreateRequest) { r.Prompt = "" }, "prompt"},
		{"size with resolution", func(r *CreateRequest) { r.Size = "1280x720"; r.AspectRatio = "" }, "size"},
		{"size with aspect ratio", func(r *CreateRequest) { r.Size = "1280x720"; r.Resolution = "" }, "size"},
		{"size alone valid", func(r *CreateRequest) { r.Size = "1280x720"; r.Resolution = ""; r.AspectRatio = "" }, ""},
		{"duration too long", func(r *CreateRequest) { r.Duration = 121 }, "duration"},
		{"bad resolution", func(r *CreateRequest) { r.Resolution = "8K" }, "resolution"},
		{"quality over 100", func(r *CreateRequest) { r.CompressionQuality = ptr(101) }, "compression_quality"},
		{"bad output access", func(r *CreateRequest) { r.Output.Access = "stream" }, "output.access"},
		{"bad reference type", func(r *CreateRequest) { r.InputReferences[0].Type = "video_url" }, "input_references.type"},
		{"bad reference role", func(r *CreateRequest) { r.InputReferences[0].Role = "middle" }, "input_references.role"},
		{"webhook styles mixed", func(r *CreateRequest) { r.Webhook.EndpointID = "we_1" }, "webhook"},
		{"webhook secret without url", func(r *CreateRequest) { r.Webhook.URL = "" }, "webhook.url"},
		{"webhook empty", func(r *CreateRequest) { r.Webhook = &WebhookConfig{} }, "webhook"},
		{"webhook by reference valid", func(r *CreateRequest) {
			r.Webhook = &WebhookConfig{EndpointID: "we_123", Events: []string{"job.status_changed"}}
		}, ""},
		{"status_changed alone needs endpoint style", func(r *CreateRequest) { r.Webhook.Events = []string{"job.status_changed"} }, "webhook.events"},
		{"webhook plain http public", func(r *CreateRequest) { r.Webhook.URL = "http://hooks.example/w" }, "webhook.url"},
		{"webhook http loopback allowed", func(r *CreateRequest) { r.Webhook.URL = "http://127.0.0.1:8080/w" }, ""},
		{"webhook http localhost allowed", func(r *CreateRequest) { r.Webhook.URL = "http://localhost/w" }, ""},
		{"webhook http ipv6 loopback allowed", func(r *CreateRequest) { r.Webhook.URL = "http://[::1]:9/w" }, ""},
		{"webhook https localhost rejected", func(r *CreateRequest) { r.Webhook.URL = "https://localhost/w" }, "webhook.url"},
		{"webhook private ipv4", func(r *CreateRequest) { r.Webhook.URL = "https://192.168.1.4/w" }, "webhook.url"},
		{"webhook link-local", func(r *CreateRequest) { r.Webhook.URL = "https://169.254.169.254/w" }, "webhook.url"},
		{"webhook ula ipv6", func(r *CreateRequest) { r.Webhook.URL = "https://[fd00::1]/w" }, "webhook.url"},
		{"webhook mapped private ipv4", func(r *CreateRequest) { r.Webhook.URL = "https://[::ffff:10.0.0.1]/w" }, "webhook.url"},
		{"webhook public ip ok", func(r *CreateRequest) { r.Webhook.URL = "https://8.8.8.8/w" }, ""},
		{"webhook ftp", func(r *CreateRequest) { r.Webhook.URL = "ftp://hooks.example/w" }, "webhook.url"},
		{"webhook events none for video", func(r *CreateRequest) { r.Webhook.Events = []string{"batch.completed"} }, "webhook.events"},
		{"webhook events mixed case ok", func(r *CreateRequest) { r.Webhook.Events = []string{"batch.completed", "VIDEO.Canceled"} }, ""},
		{"webhook events empty list", func(r *CreateRequest) { r.Webhook.Events = []string{} }, "webhook.events"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := fullCreateRequest()
			tt.mutate(&r)
			err := r.Validate()
			if tt.wantField == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) || !errors.Is(err, ErrInvalidRequest) {
				t.Fatalf("Validate() = %v, want *ValidationError matching ErrInvalidRequest", err)
			}
			if ve.Field != tt.wantField {
				t.Errorf("Field = %q, want %q", ve.Field, tt.wantField)
			}
		})
	}
}

func TestWebhookConfigHidesSecret(t *testing.T) {
	w := WebhookConfig{URL: "https://hooks.example/w", Secret: "top-secret-value", Events: []string{"job.completed"}}
	var logged strings.Builder
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("create", "webhook", w, "webhookPtr", &w)
	for name, got := range map[string]string{
		"%v": fmt.Sprintf("%v", w), "%+v": fmt.Sprintf("%+v", &w), "%q": fmt.Sprintf("%q", w), "slog": logged.String(),
	} {
		if strings.Contains(got, "top-secret-value") {
			t.Errorf("%s output %q leaks the secret", name, got)
		}
	}
	// The secret must still be sent on the wire.
	b, _ := json.Marshal(w)
	if diff := cmp.Diff(string(b), `{"url":"https://hooks.example/w","secret":"top-secret-value","events":["job.completed"]}`); diff != "" {
		t.Errorf("wire form (-got +want):\n%s", diff)
	}
}
