package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/videojobs/videojobs/internal/aistats"
	"github.com/videojobs/videojobs/internal/job"
	"github.com/videojobs/videojobs/internal/tracking"
	"github.com/videojobs/videojobs/internal/tracking/trackingtest"
)

const sampleJobID = "vj_01jz8q3v4x5y6z7a8b9c0d1e2f"

type nopFlusher struct{ *trackingtest.Recorder }

func (nopFlusher) Flush() error { return nil }

func TestSampleEvent(t *testing.T) {
	raw, err := os.ReadFile("../../events/store.json")
	if err != nil {
		t.Fatal(err)
	}
	var req request
	if err := json.Unmarshal(raw, &req); err != nil {
		t.Fatal(err)
	}
	video := bytes.Repeat([]byte{0x42}, 6000)
	tests := []struct {
		name     string
		truncate int
		wantErr  bool
		wantLog  string
	}{
		{"whole video", 0, false, `"outcome":"stored"`},
		{"truncated video", 1000, true, `"outcome":"error"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := trackingtest.NewStore(&job.Job{ID: sampleJobID, State: job.Completed, ProviderJobID: "G-01JZ8Q3V4X5Y6Z7A8B9C0D1E2F", Model: "google/veo-3.1-lite"})
			provider := &trackingtest.Provider{Videos: []*aistats.Video{{Status: aistats.StatusCompleted, OutputAccess: "both",
				Asset: &aistats.Asset{Bytes: int64(len(video)), MimeType: "video/mp4"}}}, Body: video, TruncateAt: tt.truncate}
			cp := trackingtest.NewCopier()
			rec := nopFlusher{trackingtest.NewRecorder()}
			logs := &bytes.Buffer{}
			h := &handler{archive: tracking.NewArchiver(store, provider, cp, rec, "videojobs-videos", nil), metrics: rec,
				log: slog.New(slog.NewJSONHandler(logs, nil)), now: time.Now}

			res, err := h.handle(context.Background(), req)
			if (err != nil) != tt.wantErr {
				t.Fatalf("handle error = %v, want error %v", err, tt.wantErr)
			}
			if !strings.Contains(logs.String(), tt.wantLog) {
				t.Errorf("log lacks %s: %s", tt.wantLog, logs.String())
			}
			if tt.wantErr {
				if len(cp.Objects) != 0 || store.Job(sampleJobID).State != job.Completed || rec.Get("CopyFailures") != 1 {
					t.Errorf("objects %d, state %s, CopyFailures %v; want 0, completed, 1", len(cp.Objects), store.Job(sampleJobID).State, rec.Get("CopyFailures"))
				}
				return
			}
			b, _ := json.Marshal(res)
			var wire map[string]any
			_ = json.Unmarshal(b, &wire)
			for _, k := range []string{"state", "bucket", "key", "size", "sha256"} {
				if _, ok := wire[k]; !ok {
					t.Errorf("result %s lacks %q, which the workflow's ResultSelector reads", b, k)
				}
			}
			if res.Key != "videos/"+sampleJobID+"/0.mp4" || res.Size != 6000 || rec.Get("BytesCopied") != 6000 {
				t.Errorf("result %+v, BytesCopied %v", res, rec.Get("BytesCopied"))
			}
		})
	}
}

func TestInvalidJobID(t *testing.T) {
	rec := nopFlusher{trackingtest.NewRecorder()}
	store := trackingtest.NewStore()
	h := &handler{archive: tracking.NewArchiver(store, &trackingtest.Provider{}, trackingtest.NewCopier(), rec, "b", nil), metrics: rec,
		log: slog.New(slog.NewJSONHandler(&bytes.Buffer{}, nil)), now: time.Now}
	if _, err := h.handle(context.Background(), request{JobID: "../x"}); err == nil {
		t.Fatal("no error for an invalid job id")
	}
}
