package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/videojobs/videojobs/internal/tracking"
)

// archiver is the domain call this Lambda makes (*tracking.Archiver).
type archiver interface {
	Store(ctx context.Context, jobID string) (tracking.StoreResult, error)
}

// flusher writes the invocation's metrics (*metrics.Recorder).
type flusher interface{ Flush() error }

// request is the workflow's Store payload.
type request struct {
	JobID string `json:"jobId"`
}

type handler struct {
	archive archiver
	metrics flusher
	log     *slog.Logger
	now     func() time.Time
	// tuneGC, when set, runs before each copy (main sets it to apply
	// copier.GCPercent once).
	tuneGC func()
}

// handle copies one job's video to S3. An error fails the task; the
// workflow retries it (a retry restarts the download from byte 0 and
// overwrites or skips the same key) and finally marks the job failed.
func (h *handler) handle(ctx context.Context, req request) (tracking.StoreResult, error) {
	if h.tuneGC != nil {
		h.tuneGC()
	}
	start := h.now()
	var res tracking.StoreResult
	var err error
	if tracking.ValidJobID(req.JobID) {
		res, err = h.archive.Store(ctx, req.JobID)
	} else {
		err = fmt.Errorf("store: invalid job id %q", clip(req.JobID))
	}
	if ferr := h.metrics.Flush(); ferr != nil {
		h.log.WarnContext(ctx, "flush metrics", "error", ferr.Error())
	}
	outcome, reason, level := "stored", "", slog.LevelInfo
	if err != nil {
		outcome, reason, level = "error", err.Error(), slog.LevelError
	}
	jobID := req.JobID
	if !tracking.ValidJobID(jobID) {
		jobID = ""
	}
	h.log.LogAttrs(ctx, level, "store",
		slog.String("jobId", jobID),
		slog.String("state", string(res.State)),
		slog.String("outcome", outcome),
		slog.String("reason", reason),
		slog.String("key", res.Key),
		slog.Int64("size", res.Size),
		slog.Int64("durationMs", h.now().Sub(start).Milliseconds()),
	)
	return res, err
}

func clip(s string) string {
	const maxLogged = 64
	if len(s) > maxLogged {
		return s[:maxLogged]
	}
	return s
}
