package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/videojobs/videojobs/internal/aistats"
	"github.com/videojobs/videojobs/internal/job"
	"github.com/videojobs/videojobs/internal/tracking"
	"github.com/videojobs/videojobs/internal/tracking/trackingtest"
)

const sampleJobID = "vj_01jz8q3v4x5y6z7a8b9c0d1e2f"

var clock = time.Date(2026, 6, 17, 16, 0, 0, 0, time.UTC)

type nopFlusher struct{ *trackingtest.Recorder }

func (nopFlusher) Flush() error { return nil }

type rig struct {
	h     *handler
	store *trackingtest.Store
	tasks *trackingtest.Tasks
	logs  *bytes.Buffer
}

func newRig(state job.State, videos ...*aistats.Video) *rig {
	store := trackingtest.NewStore(&job.Job{ID: sampleJobID, State: state, ProviderJobID: "G-01JZ8Q3V4X5Y6Z7A8B9C0D1E2F",
		CreatedAt: clock.Add(-time.Minute), WaitSeconds: 20})
	tasks := &trackingtest.Tasks{}
	rec := nopFlusher{trackingtest.NewRecorder()}
	w := tracking.NewWatcher(store, &trackingtest.Provider{Videos: videos}, tasks, rec,
		tracking.WatchConfig{Now: func() time.Time { return clock }, Rand: func() float64 { return 0.5 }})
	logs := &bytes.Buffer{}
	return &rig{h: &handler{watch: w, metrics: rec, log: slog.New(slog.NewJSONHandler(logs, nil)), now: func() time.Time { return clock }},
		store: store, tasks: tasks, logs: logs}
}

func loadRequest(t *testing.T, name string) request {
	t.Helper()
	raw, err := os.ReadFile("../../events/" + name)
	if err != nil {
		t.Fatal(err)
	}
	var req request
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return req
}

func TestSampleEvents(t *testing.T) {
	t.Run("watch", func(t *testing.T) {
		// Never polled: the entry polls, the job is processing with its
		// first progress value, so the 20 s wait is kept and the token
		// stored for a webhook (no completion).
		r := newRig(job.Queued, &aistats.Video{Status: aistats.StatusProcessing, Progress: intp(6), ProgressSource: "provider"})
		req := loadRequest(t, "watch.json")
		res, err := r.h.handle(context.Background(), req)
		if err != nil {
			t.Fatalf("handle: %v", err)
		}
		if diff := cmp.Diff(tracking.WatchResult{State: job.Processing, WaitSeconds: 20}, res); diff != "" {
			t.Errorf("result (-want +got):\n%s", diff)
		}
		if got := r.store.Job(sampleJobID).TaskToken; got != req.TaskToken {
			t.Errorf("stored token %q, want the event's", got)
		}
		if len(r.tasks.Calls) != 0 {
			t.Errorf("token completed %d times, want 0 (the timeout re-enters Watch)", len(r.tasks.Calls))
		}
		if strings.Contains(r.logs.String(), req.TaskToken) {
			t.Errorf("task token logged: %s", r.logs.String())
		}
	})
	t.Run("poll", func(t *testing.T) {
		r := newRig(job.Queued, &aistats.Video{Status: aistats.StatusProcessing})
		res, err := r.h.handle(context.Background(), loadRequest(t, "watch-poll.json"))
		if err != nil {
			t.Fatalf("handle: %v", err)
		}
		// The first poll doubles the 20 s first wait, less jitter (rand 0.5).
		if diff := cmp.Diff(tracking.WatchResult{State: job.Processing, WaitSeconds: 38}, res); diff != "" {
			t.Errorf("result (-want +got):\n%s", diff)
		}
		// The workflow reads exactly these keys (ResultSelector).
		b, _ := json.Marshal(res)
		if string(b) != `{"state":"processing","waitSeconds":38}` {
			t.Errorf("wire form %s", b)
		}
	})
	t.Run("fail", func(t *testing.T) {
		r := newRig(job.Completed)
		res, err := r.h.handle(context.Background(), loadRequest(t, "watch-fail.json"))
		if err != nil {
			t.Fatalf("handle: %v", err)
		}
		j := r.store.Job(sampleJobID)
		if res.State != job.Failed || j.Error == nil || j.Error.Reason != tracking.ReasonCopyFailed || !strings.Contains(j.Error.Message, "truncated") {
			t.Errorf("state %s error %+v; want failed copy_failed with the cause", res.State, j.Error)
		}
	})
}

func TestBadRequests(t *testing.T) {
	for _, req := range []request{
		{Action: "poll", JobID: "not-a-job"},
		{Action: "explode", JobID: sampleJobID},
		{Action: "", JobID: sampleJobID},
	} {
		r := newRig(job.Processing)
		if _, err := r.h.handle(context.Background(), req); err == nil {
			t.Errorf("%+v: no error", req)
		}
		if r.store.Updates != 0 {
			t.Errorf("%+v: job written", req)
		}
	}
}

func TestWatchStoreFailureFailsTheTask(t *testing.T) {
	r := newRig(job.Processing, &aistats.Video{Status: aistats.StatusProcessing})
	r.store.UpdateErrs = []error{errors.New("throttled")}
	if _, err := r.h.handle(context.Background(), request{Action: "watch", JobID: sampleJobID, TaskToken: "tok", WaitSeconds: 20}); err == nil {
		t.Fatal("watch hid a store failure; the workflow must retry it")
	}
	if !strings.Contains(r.logs.String(), `"outcome":"error"`) || !strings.Contains(r.logs.String(), "throttled") {
		t.Errorf("log line does not report the failure: %s", r.logs.String())
	}
}

func intp(n int) *int { return &n }

func TestPollStoreFailureFailsTheTask(t *testing.T) {
	r := newRig(job.Processing, &aistats.Video{Status: aistats.StatusProcessing})
	r.store.GetErrs = []error{errors.New("throttled")}
	if _, err := r.h.handle(context.Background(), request{Action: "poll", JobID: sampleJobID}); err == nil {
		t.Fatal("poll hid a store failure; the workflow must retry it")
	}
}
