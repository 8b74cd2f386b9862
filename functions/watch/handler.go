package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/videojobs/videojobs/internal/tracking"
)

// watcher is the domain this Lambda serves (*tracking.Watcher).
type watcher interface {
	Watch(ctx context.Context, jobID, token string, wait time.Duration) (tracking.WatchResult, error)
	Poll(ctx context.Context, jobID string) (tracking.WatchResult, error)
	Fail(ctx context.Context, jobID string, cause json.RawMessage) (tracking.WatchResult, error)
}

// flusher writes the invocation's metrics (*metrics.Recorder).
type flusher interface{ Flush() error }

// request is the workflow's payload (docs/internals.md "The workflow").
type request struct {
	Action    string `json:"action"`
	JobID     string `json:"jobId"`
	TaskToken string `json:"taskToken,omitempty"`
	// WaitSeconds is the workflow's current wait ($wait) for "watch".
	WaitSeconds int `json:"waitSeconds,omitempty"`
	// Cause is the Catch's error object ({"Error","Cause"}) for "fail".
	Cause json.RawMessage `json:"cause,omitempty"`
}

type handler struct {
	watch   watcher
	metrics flusher
	log     *slog.Logger
	now     func() time.Time
}

// handle runs one workflow step. An error fails the task, which the
// workflow retries and finally routes to MarkFailed.
func (h *handler) handle(ctx context.Context, req request) (tracking.WatchResult, error) {
	start := h.now()
	res, err := h.dispatch(ctx, req)
	outcome, reason := "ok", ""
	if err != nil {
		outcome, reason = "error", err.Error()
	}
	if ferr := h.metrics.Flush(); ferr != nil {
		h.log.WarnContext(ctx, "flush metrics", "error", ferr.Error())
	}
	level := slog.LevelInfo
	if outcome != "ok" {
		level = slog.LevelError
	}
	jobID := req.JobID
	if !tracking.ValidJobID(jobID) {
		jobID = ""
	}
	// Never the task token: it completes the workflow's task.
	h.log.LogAttrs(ctx, level, "watch "+clip(req.Action),
		slog.String("jobId", jobID),
		slog.String("state", string(res.State)),
		slog.Int("waitSeconds", res.WaitSeconds),
		slog.String("outcome", outcome),
		slog.String("reason", reason),
		slog.Int64("durationMs", h.now().Sub(start).Milliseconds()),
	)
	return res, err
}

func (h *handler) dispatch(ctx context.Context, req request) (tracking.WatchResult, error) {
	if !tracking.ValidJobID(req.JobID) {
		return tracking.WatchResult{}, fmt.Errorf("watch: invalid job id %q", clip(req.JobID))
	}
	switch req.Action {
	case "watch":
		return h.watch.Watch(ctx, req.JobID, req.TaskToken, time.Duration(req.WaitSeconds)*time.Second)
	case "poll":
		return h.watch.Poll(ctx, req.JobID)
	case "fail":
		return h.watch.Fail(ctx, req.JobID, req.Cause)
	}
	return tracking.WatchResult{}, fmt.Errorf("watch job %s: unknown action %q", req.JobID, clip(req.Action))
}

func clip(s string) string {
	const maxLogged = 64
	if len(s) > maxLogged {
		return s[:maxLogged]
	}
	return s
}
