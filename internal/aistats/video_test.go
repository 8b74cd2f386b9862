package aistats

import (
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var testBase = mustURL("https://api.phaseo.app")

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func ptr[T any](v T) *T { return &v }

func TestDecodeVideoFixtures(t *testing.T) {
	const id = "G-01JZ8Q3V4X5Y6Z7A8B9C0D1E2F"
	poll := "https://api.phaseo.app/v1/videos/" + id
	signed := poll + "/content?download_token=t&download_sig=s&expires_at=1781712900"
	tests := []struct {
		fixture string
		want    *Video
	}{
		{
			fixture: "videos/create_slim.json",
			want:    &Video{ID: id, RawStatus: "pending", Status: StatusQueued, PollingURL: poll},
		},
		{
			fixture: "videos/create_video_id.json",
			want: &Video{ID: "G-7-01JZ8Q3V4X5Y6Z7A8B9C0D1E2F", RawStatus: "pending", Status: StatusQueued,
				PollingURL: "https://api.phaseo.app/v1/videos/G-7-01JZ8Q3V4X5Y6Z7A8B9C0D1E2F"},
		},
		{
			fixture: "videos/create_openai.json",
			want: &Video{ID: id, Object: "video", Model: "openai/sora-2", RawStatus: "in_progress", Status: StatusProcessing,
				CreatedAt: time.Unix(1781712000, 0).UTC(), Prompt: "a cat", Seconds: ptr(8.0), Size: "1280x720",
				Quality: "standard", PollingURL: poll},
		},
		{
			fixture: "videos/get_failed.json",
			want: &Video{ID: id, Object: "video", RawStatus: "failed", LifecycleStatus: "failed", Status: StatusFailed,
				CreatedAt:  time.Date(2026, 6, 17, 15, 58, 0, 123e6, time.UTC),
				Error:      &VideoError{Code: "content_policy", Message: "Contenu refusé — 内容被拒绝 ✗"},
				Billing:    &Billing{State: "void"},
				PollingURL: poll},
		},
		{
			fixture: "videos/get_processing_lifecycle.json",
			want: &Video{ID: id, LifecycleStatus: "running", Status: StatusProcessing, Progress: ptr(42),
				CreatedAt: time.Unix(1781712000, 123e6).UTC(), CancelURL: poll + "/cancel",
				Error: &VideoError{Message: "provider slow"}, PollingURL: poll},
		},
		{
			fixture: "videos/get_completed.json",
			want: &Video{
				ID: id, Object: "video", RawStatus: "completed", LifecycleStatus: "completed", Status: StatusCompleted,
				OutputAccess: "both", Progress: ptr(100), ProgressSource: "provider", PollingURL: poll,
				WebsocketURL: "wss://api.phaseo.app/v1/async/video/" + id + "/ws", PollAfter: 20 * time.Second,
				GenerationID: "gen_1", NativeVideoID: "op-123",
				CreatedAt:   time.Date(2026, 6, 17, 15, 58, 0, 0, time.UTC),
				StartedAt:   time.Date(2026, 6, 17, 15, 58, 5, 0, time.UTC),
				CompletedAt: time.Date(2026, 6, 17, 16, 0, 0, 0, time.UTC),
				Provider:    "google-vertex", Model: "google/veo-3.1-lite", Seconds: ptr(8.0), Size: "1280x720", Audio: ptr(true),
				Asset: &Asset{ID: "ast_01JZ8Q3V4X5Y6Z7A8B9C0D1E2F", MimeType: "video/mp4", Bytes: 1048576, DurationSeconds: 8},
				Outputs: []Output{{Index: 0, MimeType: "video/mp4", BytesAvailable: true, ContentURL: poll + "/content",
					DownloadURL: signed, ExpiresAt: time.Unix(1781712900, 0).UTC()}},
				Billing: &Billing{Currency: "usd", EstimatedUserCost: "0.40", SettledUserCost: "0.40", State: "settled",
					TotalNanos: 400000000, ReservationID: "res_1", Charged: ptr(true), BilledAt: time.Date(2026, 6, 17, 16, 0, 1, 0, time.UTC)},
				Webhook: &WebhookState{
					URL:       "https://hooks.example.com/webhooks/ai-stats?job=vj_01jz",
					Events:    []string{"job.completed", "job.failed", "job.cancelled", "job.expired"},
					HasSecret: true,
					Delivery: &DeliverySummary{TotalAttempts: 2, DeliveredEvents: 1, DeliveredEventTypes: []string{"video.completed"},
						LastAttemptAt: time.Date(2026, 6, 17, 16, 1, 0, 0, time.UTC), LastAttemptStatus: "delivered", LastResponseStatus: 200,
						LastDeliveredAt: time.Date(2026, 6, 17, 16, 1, 0, 0, time.UTC), LastFailureAt: time.Date(2026, 6, 17, 16, 0, 0, 0, time.UTC),
						LastErrorMessage: "timeout"},
					Attempts: []DeliveryAttempt{{ID: "video.completed:1:2026-06-17T16:00:00.000Z", DeliveryKey: "video.completed",
						EventType: "video.completed", Status: "scheduled_retry", AttemptNumber: 1, MaxAttempts: 4,
						TriedAt: time.Date(2026, 6, 17, 16, 0, 0, 0, time.UTC), NextRetryAt: time.Date(2026, 6, 17, 16, 1, 0, 0, time.UTC),
						ErrorMessage: "timeout"}},
				},
				ContentURL: poll + "/content", DownloadURL: signed, ExpiresAt: time.Unix(1781712900, 0).UTC(),
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			got, err := DecodeVideo(readFixture(t, tt.fixture), testBase)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(got, tt.want); diff != "" {
				t.Errorf("DecodeVideo mismatch (-got +want):\n%s", diff)
			}
		})
	}
}

func TestDecodeVideoShapes(t *testing.T) {
	tests := []struct {
		name  string
		body  string
		check func(t *testing.T, v *Video)
	}{
		{"relative polling url resolved", `{"id":"G-1","polling_url":"/v1/videos/G-1"}`, func(t *testing.T, v *Video) {
			if v.PollingURL != "https://api.phaseo.app/v1/videos/G-1" {
				t.Errorf("PollingURL = %q", v.PollingURL)
			}
		}},
		{"absolute polling url kept", `{"id":"G-1","polling_url":"https://other.example/v1/videos/G-1"}`, func(t *testing.T, v *Video) {
			if v.PollingURL != "https://other.example/v1/videos/G-1" {
				t.Errorf("PollingURL = %q", v.PollingURL)
			}
		}},
		{"missing polling url built from id, escaped", `{"id":"G-1/x"}`, func(t *testing.T, v *Video) {
			if v.PollingURL != "https://api.phaseo.app/v1/videos/G-1%2Fx" {
				t.Errorf("PollingURL = %q", v.PollingURL)
			}
		}},
		{"id wins over video_id", `{"id":"G-1","video_id":"G-2"}`, func(t *testing.T, v *Video) {
			if v.ID != "G-1" {
				t.Errorf("ID = %q", v.ID)
			}
		}},
		{"progress null", `{"id":"G-1","progress":null}`, func(t *testing.T, v *Video) {
			if v.Progress != nil {
				t.Errorf("Progress = %v, want nil", *v.Progress)
			}
		}},
		{"progress clamped", `{"id":"G-1","progress":140}`, func(t *testing.T, v *Video) {
			if v.Progress == nil || *v.Progress != 100 {
				t.Errorf("Progress = %v, want 100", v.Progress)
			}
		}},
		{"created_at unix int", `{"id":"G-1","created_at":1781712000}`, func(t *testing.T, v *Video) {
			if !v.CreatedAt.Equal(time.Unix(1781712000, 0)) {
				t.Errorf("CreatedAt = %v", v.CreatedAt)
			}
		}},
		{"created_at numeric string", `{"id":"G-1","created_at":"1781712000"}`, func(t *testing.T, v *Video) {
			if !v.CreatedAt.Equal(time.Unix(1781712000, 0)) {
				t.Errorf("CreatedAt = %v", v.CreatedAt)
			}
		}},
		{"created_at db timestamp without zone", `{"id":"G-1","created_at":"2026-06-17 16:00:00"}`, func(t *testing.T, v *Video) {
			if !v.CreatedAt.Equal(time.Unix(1781712000, 0)) {
				t.Errorf("CreatedAt = %v", v.CreatedAt)
			}
		}},
		{"created_at garbage is zero, not an error", `{"id":"G-1","created_at":{"x":1}}`, func(t *testing.T, v *Video) {
			if !v.CreatedAt.IsZero() {
				t.Errorf("CreatedAt = %v", v.CreatedAt)
			}
		}},
		{"error object without message uses description", `{"id":"G-1","error":{"code":"x","description":"why"}}`, func(t *testing.T, v *Video) {
			if v.Error == nil || v.Error.Message != "why" || v.Error.Code != "x" {
				t.Errorf("Error = %+v", v.Error)
			}
		}},
		{"empty error string is no error", `{"id":"G-1","error":""}`, func(t *testing.T, v *Video) {
			if v.Error != nil {
				t.Errorf("Error = %+v", v.Error)
			}
		}},
		{"wrong-typed fields are ignored", `{"id":"G-1","model":5,"status":{"x":1},"outputs":"no","webhook":[1],"asset":"x"}`, func(t *testing.T, v *Video) {
			if v.Status != StatusQueued || v.Outputs != nil || v.Webhook != nil || v.Asset != nil {
				t.Errorf("got %+v", v)
			}
		}},
		{"unknown status flagged for logging", `{"id":"G-1","status":"paused"}`, func(t *testing.T, v *Video) {
			if v.Status != StatusQueued || v.UnknownStatus != "paused" || v.Status.Terminal() {
				t.Errorf("Status = %q, UnknownStatus = %q", v.Status, v.UnknownStatus)
			}
		}},
		{"deleted status is a tombstone", `{"id":"G-1","status":"deleted"}`, func(t *testing.T, v *Video) {
			if !v.Deleted || v.UnknownStatus != "" {
				t.Errorf("Deleted = %v, UnknownStatus = %q", v.Deleted, v.UnknownStatus)
			}
		}},
		{"endpoint-id webhook", `{"id":"G-1","webhook":{"endpoint_id":"we_123","events":["job.status_changed"]}}`, func(t *testing.T, v *Video) {
			if v.Webhook == nil || v.Webhook.EndpointID != "we_123" {
				t.Errorf("Webhook = %+v", v.Webhook)
			}
		}},
		{"output index defaults to position", `{"id":"G-1","outputs":[{},{"mime_type":"video/webm"}]}`, func(t *testing.T, v *Video) {
			want := []Output{{Index: 0, MimeType: "video/mp4"}, {Index: 1, MimeType: "video/webm"}}
			if diff := cmp.Diff(v.Outputs, want); diff != "" {
				t.Errorf("Outputs (-got +want):\n%s", diff)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := DecodeVideo([]byte(tt.body), testBase)
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, v)
		})
	}
}

func TestDecodeVideoProtocolErrors(t *testing.T) {
	for _, body := range []string{``, `null`, `[]`, `"G-1"`, `{}`, `{"id":""}`, `{"id":null,"video_id":null}`, `{"status":"queued"}`, `<html>`} {
		t.Run(body, func(t *testing.T) {
			_, err := DecodeVideo([]byte(body), testBase)
			if !errors.Is(err, ErrProtocol) {
				t.Errorf("DecodeVideo(%q) error = %v, want ErrProtocol", body, err)
			}
		})
	}
}

func TestDecodeVideoList(t *testing.T) {
	l, err := DecodeVideoList(readFixture(t, "videos/list.json"), testBase)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	var deleted []bool
	for _, v := range l.Data {
		ids = append(ids, v.ID)
		deleted = append(deleted, v.Deleted)
	}
	if diff := cmp.Diff(ids, []string{"G-A", "G-B", "G-C"}); diff != "" {
		t.Errorf("ids (-got +want):\n%s", diff)
	}
	if diff := cmp.Diff(deleted, []bool{false, true, false}); diff != "" {
		t.Errorf("deleted (-got +want):\n%s", diff)
	}
	if l.Skipped != 1 || l.FirstID != "G-A" || l.LastID != "G-C" || l.HasMore {
		t.Errorf("list meta = skipped %d first %q last %q more %v", l.Skipped, l.FirstID, l.LastID, l.HasMore)
	}
	for _, body := range []string{`{}`, `{"data":null}`, `{"data":{}}`, `[]`} {
		if _, err := DecodeVideoList([]byte(body), testBase); !errors.Is(err, ErrProtocol) {
			t.Errorf("DecodeVideoList(%q) error = %v, want ErrProtocol", body, err)
		}
	}
}
