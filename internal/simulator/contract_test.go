package simulator

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/videojobs/videojobs/internal/aistats"
)

// Contract tests: the production client (internal/aistats) against the
// simulator over real HTTP. Each pins one behaviour both sides must agree on.

func noSleep(ctx context.Context, _ time.Duration) error { return ctx.Err() }

func client(h *harness, clk *fakeClock, opts ...aistats.Option) *aistats.Client {
	base := []aistats.Option{aistats.WithSleep(noSleep)}
	if clk != nil {
		base = append(base, aistats.WithClock(clk.Now))
	}
	return aistats.New(h.srv.URL, h.key, append(base, opts...)...)
}

func TestContractHappyPath(t *testing.T) {
	clk := newClock()
	h := start(t, Config{Now: clk.Now, Sweep: -1})
	c := client(h, clk)
	ctx := context.Background()

	v, err := c.Create(ctx, aistats.CreateRequest{Model: "google/veo-3.1-lite", Prompt: "[sim queue=5s duration=60s size=300000] a cat", Duration: 8,
		Webhook: &aistats.WebhookConfig{URL: "https://hooks.example.com/webhooks/ai-stats?job=vj_1", Secret: "s"}})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if v.Status != aistats.StatusQueued || v.PollingURL != h.srv.URL+"/v1/videos/"+v.ID {
		t.Errorf("create: status %s polling %s", v.Status, v.PollingURL)
	}
	clk.Advance(35 * time.Second)
	got, err := c.Get(ctx, v.ID)
	if err != nil || got.Status != aistats.StatusProcessing || got.Progress == nil || *got.Progress != 50 || got.PollAfter != 20*time.Second {
		t.Fatalf("processing: %+v %v", got, err)
	}
	if got.Webhook == nil || !got.Webhook.HasSecret || got.Webhook.URL != "https://hooks.example.com/webhooks/ai-stats?job=vj_1" {
		t.Errorf("webhook state: %+v", got.Webhook)
	}
	clk.Advance(time.Minute)
	got, err = c.Get(ctx, v.ID)
	if err != nil || got.Status != aistats.StatusCompleted || got.Asset == nil || got.Asset.Bytes != 300000 || !got.CreatedAt.Equal(t0) {
		t.Fatalf("completed: %+v %v", got, err)
	}
	want, _ := h.sim.ContentSHA256(v.ID)

	content, err := c.Content(ctx, v.ID, 0)
	if err != nil {
		t.Fatalf("content: %v", err)
	}
	body, err := io.ReadAll(content.Body)
	content.Body.Close()
	if err != nil || content.Length != 300000 || content.ContentType != "video/mp4" || sha(body) != want {
		t.Errorf("content: %d bytes, length %d, type %s, err %v", len(body), content.Length, content.ContentType, err)
	}

	dl, err := c.DownloadURL(ctx, v.ID, aistats.DownloadURLRequest{TTLSeconds: 30})
	if err != nil || !dl.ExpiresAt.Equal(clk.Now().Add(60*time.Second)) {
		t.Fatalf("download url: %+v %v", dl, err)
	}
	signed, err := c.ContentURL(ctx, dl.URL)
	if err != nil {
		t.Fatalf("content url: %v", err)
	}
	body, _ = io.ReadAll(signed.Body)
	signed.Body.Close()
	if sha(body) != want {
		t.Error("signed content differs")
	}

	if err := c.Delete(ctx, v.ID); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if err := c.Delete(ctx, v.ID); err != nil {
		t.Errorf("repeat delete: %v", err)
	}
	if _, err := c.Get(ctx, v.ID); !errors.Is(err, aistats.ErrDeleted) || !errors.Is(err, aistats.ErrNotFound) {
		t.Errorf("get after delete: %v", err)
	}
}

func TestContractCreateShapes(t *testing.T) {
	for _, shape := range []string{CreateSlim, CreateFull, CreateVideoID, CreateOpenAI} {
		t.Run(shape, func(t *testing.T) {
			h := start(t, Config{Settings: Settings{CreateResponse: shape}})
			v, err := client(h, nil).Create(context.Background(), aistats.CreateRequest{Model: "openai/sora-2", Prompt: "p"})
			if err != nil || v.ID == "" || v.Status != aistats.StatusQueued || v.PollingURL != h.srv.URL+"/v1/videos/"+v.ID {
				t.Errorf("got %+v %v", v, err)
			}
		})
	}
}

func TestContractVocabulary(t *testing.T) {
	clk := newClock()
	h := start(t, Config{Now: clk.Now, Sweep: -1, Settings: Settings{StatusWords: "legacy", CreatedAt: "db", NullProgress: true}})
	c := client(h, clk)
	v, err := c.Create(context.Background(), aistats.CreateRequest{Model: "m/x", Prompt: "[sim queue=0s duration=100s]"})
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(10 * time.Second)
	got, err := c.Get(context.Background(), v.ID)
	if err != nil || got.Status != aistats.StatusProcessing || got.Progress != nil || !got.CreatedAt.Equal(t0) {
		t.Errorf("got status %s progress %v created %v err %v", got.Status, got.Progress, got.CreatedAt, err)
	}
}

func TestContractErrors(t *testing.T) {
	ctx := context.Background()
	req := aistats.CreateRequest{Model: "m/x", Prompt: "p"}
	tests := []struct {
		name string
		cfg  Config
		key  string
		want error
	}{
		{"feature off", Config{Settings: Settings{Disabled: true}}, "", aistats.ErrFeatureOff},
		{"bad key", Config{}, "aistats_v1_sk_simkid_wrong", aistats.ErrUnauthorized},
		{"402", Config{Settings: Settings{Faults: Faults{FaultCreate402: 1}}}, "", aistats.ErrInsufficientFunds},
		{"503 reservation", Config{Settings: Settings{Faults: Faults{FaultCreate503: 1}}}, "", aistats.ErrAmbiguousCreate},
		{"500 after create", Config{Settings: Settings{Faults: Faults{FaultCreate5xx: 1}}}, "", aistats.ErrAmbiguousCreate},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := start(t, tt.cfg)
			if tt.key != "" {
				h.key = tt.key
			}
			_, err := client(h, nil).Create(ctx, req)
			if !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
	h := start(t, Config{})
	_, err := client(h, nil).Create(ctx, aistats.CreateRequest{Model: "m/x", Prompt: "[sim outcome=nope]"})
	var apiErr *aistats.APIError
	if !errors.Is(err, aistats.ErrInvalidRequest) || !errors.As(err, &apiErr) || len(apiErr.Details) == 0 || apiErr.Details[0].Path[0] != "prompt" {
		t.Errorf("validation error: %v", err)
	}
}

// TestContractReconcileAmbiguousCreate: a create that times out after the
// job exists is found again by its webhook URL, as §3.3 prescribes.
func TestContractReconcileAmbiguousCreate(t *testing.T) {
	h := start(t, Config{HangFor: time.Hour})
	c := client(h, nil, aistats.WithTimeout(200*time.Millisecond))
	hook := "https://hooks.example.com/webhooks/ai-stats?job=vj_intent_7"
	_, err := c.Create(context.Background(), aistats.CreateRequest{Model: "m/x", Prompt: "[sim faults=create.timeout]",
		Webhook: &aistats.WebhookConfig{URL: hook, Secret: "s"}})
	if !errors.Is(err, aistats.ErrAmbiguousCreate) {
		t.Fatalf("create: %v, want ErrAmbiguousCreate", err)
	}
	found, err := c.FindByWebhookURL(context.Background(), hook)
	if err != nil || found.ID != h.sim.Jobs()[0].ID {
		t.Errorf("reconcile: %+v %v", found, err)
	}
	if _, err := c.FindByWebhookURL(context.Background(), hook+"x"); !errors.Is(err, aistats.ErrNotFound) {
		t.Errorf("no match: %v", err)
	}
}

func TestContractPollFaults(t *testing.T) {
	tests := []struct {
		fault string
		// wantErr is nil when the client's retries ride out the forced
		// faults (they hit the first two polls only).
		wantErr error
	}{
		{"poll_5xx", nil},
		{"poll_5xx_html", nil},
		{"poll_429", nil},
		{"poll.429_no_retry_after", nil},
		{"poll_not_ready", aistats.ErrNotReady},
		{"key_limit", aistats.ErrRateLimited},
	}
	for _, tt := range tests {
		t.Run(tt.fault, func(t *testing.T) {
			clk := newClock()
			h := start(t, Config{Now: clk.Now, Sweep: -1})
			c := client(h, clk)
			v, err := c.Create(context.Background(), aistats.CreateRequest{Model: "m/x", Prompt: "[sim queue=0s duration=1s faults=" + tt.fault + "]"})
			if err != nil {
				t.Fatal(err)
			}
			clk.Advance(time.Minute)
			got, err := c.Get(context.Background(), v.ID)
			if tt.wantErr == nil {
				if err != nil || got.Status != aistats.StatusCompleted {
					t.Errorf("got %v %v, want completed after retries", got, err)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("got %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr == aistats.ErrRateLimited {
				if wait, ok := aistats.RetryAfter(err, clk.Now()); !ok || wait < 30*time.Second {
					t.Errorf("key_limit wait %v %v, want until reset_at", wait, ok)
				}
			}
		})
	}
}

func TestContractContent(t *testing.T) {
	clk := newClock()
	h := start(t, Config{Now: clk.Now, Sweep: -1})
	c := client(h, clk)
	ctx := context.Background()
	mk := func(prompt string) string {
		v, err := c.Create(ctx, aistats.CreateRequest{Model: "openai/sora-2", Prompt: prompt})
		if err != nil {
			t.Fatal(err)
		}
		return v.ID
	}
	pending := mk("[sim duration=1h]")
	failed := mk("[sim outcome=failed]")
	cut := mk("[sim size=100000 faults=truncate]")
	short := mk("[sim size=100000 faults=short_length]")
	clk.Advance(10 * time.Minute)

	if _, err := c.Content(ctx, pending, 0); !errors.Is(err, aistats.ErrNotReady) {
		t.Errorf("pending content: %v", err)
	}
	var apiErr *aistats.APIError
	if _, err := c.Content(ctx, failed, 0); !errors.As(err, &apiErr) || apiErr.Reason != "video_generation_failed" {
		t.Errorf("failed content: %v", err)
	}
	got, err := c.Content(ctx, cut, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadAll(got.Body)
	got.Body.Close()
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("cut body: %v, want io.ErrUnexpectedEOF", err)
	}
	v, _ := c.Get(ctx, short)
	got, err = c.Content(ctx, short, 0)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(got.Body)
	got.Body.Close()
	if int64(len(body)) != got.Length || v.Asset == nil || got.Length >= v.Asset.Bytes {
		t.Errorf("short: read %d, Length %d, asset %+v: the size check against asset.bytes must catch it", len(body), got.Length, v.Asset)
	}
}

func TestContractCancelAndList(t *testing.T) {
	clk := newClock()
	h := start(t, Config{Now: clk.Now, Sweep: -1, Settings: Settings{Faults: Faults{FaultListTombstones: 1}}})
	c := client(h, clk)
	ctx := context.Background()
	openai, _ := c.Create(ctx, aistats.CreateRequest{Model: "openai/sora-2", Prompt: "p"})
	google, _ := c.Create(ctx, aistats.CreateRequest{Model: "google/veo-3.1", Prompt: "[sim queue=0s duration=1s]"})
	if openai.CancelURL != "" {
		t.Errorf("slim create reply has cancel_url %q", openai.CancelURL)
	}
	v, err := c.Get(ctx, openai.ID)
	if err != nil || v.CancelURL == "" {
		t.Fatalf("openai get: %+v %v", v, err)
	}
	v, err = c.Cancel(ctx, openai.ID)
	if err != nil || v.Status != aistats.StatusCancelled || v.CancelURL != "" {
		t.Errorf("cancel: %+v %v", v, err)
	}
	if _, err := c.Cancel(ctx, google.ID); !errors.Is(err, aistats.ErrFeatureOff) {
		t.Errorf("cancel unsupported: %v", err)
	}
	clk.Advance(time.Minute)
	if _, err := c.Get(ctx, google.ID); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(ctx, google.ID); err != nil {
		t.Fatal(err)
	}
	list, err := c.List(ctx, aistats.ListOptions{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	var deleted, live int
	for _, it := range list.Data {
		if it.Deleted {
			deleted++
		} else {
			live++
		}
	}
	if deleted != 1 || live != 1 || list.HasMore {
		t.Errorf("list: %d deleted, %d live, has_more %v", deleted, live, list.HasMore)
	}
}

func TestContractWebhookState(t *testing.T) {
	clk := newClock()
	rc := newReceiver(t, "s", clk.Now)
	rc.setRespond(func(received) int { return http.StatusBadGateway })
	h := start(t, Config{Now: clk.Now, Sweep: -1})
	c := client(h, clk)
	v, err := c.Create(context.Background(), aistats.CreateRequest{Model: "m/x", Prompt: "[sim queue=0s duration=1s]",
		Webhook: &aistats.WebhookConfig{URL: rc.url(), Secret: "s"}})
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Minute)
	if _, err := c.Get(context.Background(), v.ID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "first attempt", func() bool { return rc.count() == 1 })
	waitFor(t, "recorded", h.sim.Settled)
	got, err := c.Get(context.Background(), v.ID)
	if err != nil || got.Webhook == nil || got.Webhook.Delivery == nil {
		t.Fatalf("get: %+v %v", got, err)
	}
	d := got.Webhook.Delivery
	if d.LastAttemptStatus != "scheduled_retry" || d.PendingRetries != 1 || d.LastResponseStatus != 502 ||
		!d.NextRetryAt.Equal(clk.Now().Add(60*time.Second)) || len(got.Webhook.Attempts) != 1 || got.NextWebhookRetryAt.IsZero() {
		t.Errorf("delivery summary: %+v attempts %+v", d, got.Webhook.Attempts)
	}
}

func sha(b []byte) string {
	return sha256Hex(bytes.NewReader(b))
}
