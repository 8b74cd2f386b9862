package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/videojobs/videojobs/internal/aistats"
	"github.com/videojobs/videojobs/internal/job"
	"github.com/videojobs/videojobs/internal/tracking"
	"github.com/videojobs/videojobs/internal/tracking/trackingtest"
	"github.com/videojobs/videojobs/internal/webhook"
)

// testMaster is the documented test master secret the sample events are
// signed with (events/README.md, cmd/sign-event).
const testMaster = "videojobs-test-master-secret-not-for-production"

const (
	sampleJobID      = "vj_01jz8q3v4x5y6z7a8b9c0d1e2f"
	sampleProviderID = "G-01JZ8Q3V4X5Y6Z7A8B9C0D1E2F"
)

var clock = time.Unix(1781712000, 0).Add(42 * time.Minute) // far from the files' own timestamps

// loadEvent reads a sample event and re-signs it at clock, as
// cmd/sign-event does: signed files get a valid signature, the
// bad-signature file a fresh but forged one, unsigned files stay unsigned.
func loadEvent(t *testing.T, name string) events.APIGatewayV2HTTPRequest {
	t.Helper()
	raw, err := os.ReadFile("../../events/" + name)
	if err != nil {
		t.Fatal(err)
	}
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if _, signed := ev.Headers["x-ai-stats-signature"]; signed {
		stamp := strconv.FormatInt(clock.Unix(), 10)
		secret := webhook.DeriveSecret([]byte(testMaster), ev.QueryStringParameters["job"])
		if strings.Contains(name, "bad-signature") {
			secret = "forged-" + secret
		}
		ev.Headers["x-ai-stats-timestamp"] = stamp
		ev.Headers["x-ai-stats-signature"] = webhook.Sign(secret, stamp, []byte(ev.Body))
	}
	return ev
}

type rig struct {
	h     *handler
	rec   *flushCounter
	store *trackingtest.Store
	tasks *trackingtest.Tasks
	logs  *bytes.Buffer
}

func newRig(t *testing.T) *rig {
	t.Helper()
	store := trackingtest.NewStore(&job.Job{
		ID: sampleJobID, State: job.Processing, ProviderJobID: sampleProviderID,
		CreatedAt: clock.Add(-5 * time.Minute), TaskToken: "task-token-secretish", WaitSeconds: 20,
	})
	provider := &trackingtest.Provider{Videos: []*aistats.Video{{ID: sampleProviderID, Status: aistats.StatusCompleted,
		Asset: &aistats.Asset{Bytes: 6000, MimeType: "video/mp4"}}}}
	tasks := &trackingtest.Tasks{}
	rec := &flushCounter{Recorder: trackingtest.NewRecorder()}
	recv := tracking.NewReceiver(store, provider, tasks, &trackingtest.Secrets{Current: testMaster}, rec,
		tracking.ReceiverConfig{MasterSecretARN: "arn:test", Now: func() time.Time { return clock }})
	logs := &bytes.Buffer{}
	return &rig{
		h:   &handler{recv: recv, metrics: rec, log: slog.New(slog.NewJSONHandler(logs, nil)), now: func() time.Time { return clock }},
		rec: rec, store: store, tasks: tasks, logs: logs,
	}
}

type flushCounter struct {
	*trackingtest.Recorder
	flushes int
}

func (f *flushCounter) Flush() error { f.flushes++; return nil }

func TestSampleEvents(t *testing.T) {
	tests := []struct {
		name       string
		files      []string
		wantStatus []int
		wantState  job.State
		wantLog    string
	}{
		{"completed", []string{"webhook-completed.json"}, []int{200}, job.Completed, `"outcome":"applied"`},
		{"duplicate after completed", []string{"webhook-completed.json", "webhook-duplicate.json"}, []int{200, 200}, job.Completed, `"outcome":"duplicate"`},
		{"unsigned foreign callback", []string{"webhook-unsigned.json"}, []int{401}, job.Processing, `"reason":"missing_header"`},
		{"bad signature", []string{"webhook-bad-signature.json"}, []int{401}, job.Processing, `"reason":"mismatch"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t)
			for i, f := range tt.files {
				resp, err := r.h.handle(context.Background(), loadEvent(t, f))
				if err != nil {
					t.Fatalf("%s: handle: %v", f, err)
				}
				if resp.StatusCode != tt.wantStatus[i] {
					t.Errorf("%s: status %d, want %d (body %s)", f, resp.StatusCode, tt.wantStatus[i], resp.Body)
				}
				if !json.Valid([]byte(resp.Body)) {
					t.Errorf("%s: response body is not JSON: %s", f, resp.Body)
				}
			}
			if got := r.store.Job(sampleJobID).State; got != tt.wantState {
				t.Errorf("job state %s, want %s", got, tt.wantState)
			}
			if !strings.Contains(r.logs.String(), tt.wantLog) {
				t.Errorf("logs lack %s:\n%s", tt.wantLog, r.logs.String())
			}
			if r.rec.flushes != len(tt.files) {
				t.Errorf("metrics flushed %d times for %d deliveries, want once each", r.rec.flushes, len(tt.files))
			}
			if n := strings.Count(r.logs.String(), "\n"); n != len(tt.files) {
				t.Errorf("%d log lines for %d deliveries, want one each", n, len(tt.files))
			}
		})
	}
}

// Guarantee 9: nothing secret reaches the log, whatever the outcome.
func TestLogsCarryNoSecrets(t *testing.T) {
	r := newRig(t)
	var secrets []string
	for _, f := range []string{"webhook-completed.json", "webhook-duplicate.json", "webhook-bad-signature.json", "webhook-unsigned.json"} {
		ev := loadEvent(t, f)
		if sig := ev.Headers["x-ai-stats-signature"]; sig != "" {
			secrets = append(secrets, sig)
		}
		secrets = append(secrets, ev.Body)
		if _, err := r.h.handle(context.Background(), ev); err != nil {
			t.Fatal(err)
		}
	}
	// A transient failure logs its error; it must not carry secrets either.
	failing := newRig(t)
	failing.store.RecordErrs = []error{context.DeadlineExceeded}
	if resp, err := failing.h.handle(context.Background(), loadEvent(t, "webhook-completed.json")); err != nil || resp.StatusCode != 500 {
		t.Fatalf("failing rig: status %d, err %v; want 500", resp.StatusCode, err)
	}

	logs := r.logs.String() + failing.logs.String()
	secrets = append(secrets, testMaster, webhook.DeriveSecret([]byte(testMaster), sampleJobID), "task-token-secretish")
	for _, s := range secrets {
		if strings.Contains(logs, s) {
			t.Errorf("log contains a secret, signature or body: %.40q…", s)
		}
	}
	for _, fragment := range []string{`"data"`, "evt_video_", "upstream"} {
		if strings.Contains(logs, fragment) {
			t.Errorf("log contains body fragment %q", fragment)
		}
	}
	if len(r.tasks.Calls) != 1 {
		t.Errorf("workflow woken %d times, want 1", len(r.tasks.Calls))
	}
}

func TestStatuses(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*events.APIGatewayV2HTTPRequest)
		want   int
	}{
		{"no job parameter", func(ev *events.APIGatewayV2HTTPRequest) { ev.QueryStringParameters = nil }, 401},
		{"oversize body", func(ev *events.APIGatewayV2HTTPRequest) { ev.Body += strings.Repeat(" ", webhook.MaxBodyBytes) }, 413},
		{"malformed signed body", func(ev *events.APIGatewayV2HTTPRequest) {
			ev.Body = `{"id":"evt_1","type":"video.completed","data":`
			ev.Headers["x-ai-stats-signature"] = webhook.Sign(webhook.DeriveSecret([]byte(testMaster), sampleJobID), ev.Headers["x-ai-stats-timestamp"], []byte(ev.Body))
		}, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t)
			ev := loadEvent(t, "webhook-completed.json")
			tt.mutate(&ev)
			resp, err := r.h.handle(context.Background(), ev)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.want {
				t.Errorf("status %d, want %d (body %s)", resp.StatusCode, tt.want, resp.Body)
			}
			if r.store.Records != 0 {
				t.Errorf("recorded a delivery for a refused request")
			}
		})
	}
}

func TestTransientFailureIs500WithoutDetail(t *testing.T) {
	r := newRig(t)
	r.store.RecordErrs = []error{context.DeadlineExceeded}
	resp, err := r.h.handle(context.Background(), loadEvent(t, "webhook-completed.json"))
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 500 || strings.Contains(resp.Body, "deadline") {
		t.Errorf("status %d body %s; want 500 without internal detail", resp.StatusCode, resp.Body)
	}
	if !strings.Contains(r.logs.String(), "deadline exceeded") {
		t.Errorf("the cause is not in the log line: %s", r.logs.String())
	}
}
