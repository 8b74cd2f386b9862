package main

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/videojobs/videojobs/internal/httpapi"
	"github.com/videojobs/videojobs/internal/tracking"
	"github.com/videojobs/videojobs/internal/webhook"
)

// receiver is the domain call this Lambda makes (*tracking.Receiver).
type receiver interface {
	Receive(ctx context.Context, d tracking.Delivery) (tracking.Receipt, error)
}

// flusher writes the invocation's metrics (*metrics.Recorder).
type flusher interface{ Flush() error }

type handler struct {
	recv    receiver
	metrics flusher
	log     *slog.Logger
	now     func() time.Time
}

// handle answers one POST /webhooks/ai-stats?job=<jobId>. It maps the
// domain's errors to the statuses the gateway acts on: 2xx only once the
// delivery is durably applied; 401/413/400 for deliveries that must never
// be retried as they are; 5xx for anything transient, so the gateway
// retries. It logs one line per delivery and never the body, the
// signature or any secret.
func (h *handler) handle(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	start := h.now()
	jobID := req.QueryStringParameters["job"]
	rc, err := h.recv.Receive(ctx, tracking.Delivery{
		JobID:    jobID,
		Headers:  webhook.HeaderMap(req.Headers),
		Body:     req.Body,
		IsBase64: req.IsBase64Encoded,
	})
	resp, outcome, reason := respond(rc, err)
	if ferr := h.metrics.Flush(); ferr != nil {
		// Metrics are best effort; the delivery's outcome stands.
		h.log.WarnContext(ctx, "flush metrics", "error", ferr.Error())
	}
	level := slog.LevelInfo
	if resp.StatusCode >= 500 {
		level = slog.LevelError
	} else if resp.StatusCode >= 400 {
		level = slog.LevelWarn
	}
	if !tracking.ValidJobID(jobID) {
		jobID = "" // caller-controlled text stays out of the log
	}
	h.log.LogAttrs(ctx, level, "webhook delivery",
		slog.String("jobId", jobID),
		slog.String("state", string(rc.State)),
		slog.String("outcome", outcome),
		slog.String("reason", reason),
		slog.String("eventType", clip(rc.EventType)),
		slog.Int("attempt", rc.Attempt),
		slog.Bool("reconciled", rc.Reconciled),
		slog.Int("status", resp.StatusCode),
		slog.Int64("durationMs", h.now().Sub(start).Milliseconds()),
	)
	return resp, nil
}

func respond(rc tracking.Receipt, err error) (resp events.APIGatewayV2HTTPResponse, outcome, reason string) {
	var rej *tracking.RejectError
	switch {
	case err == nil:
		return httpapi.JSON(http.StatusOK, map[string]string{"outcome": string(rc.Outcome)}), string(rc.Outcome), ""
	case errors.As(err, &rej) && rej.Reason == string(webhook.ReasonTooLarge):
		return httpapi.ErrorResponse(&httpapi.Error{Status: http.StatusRequestEntityTooLarge, Code: "payload_too_large",
			Message: "webhook body too large"}), "rejected", rej.Reason
	case errors.As(err, &rej):
		// The reason goes to the log and the metric, not to the caller.
		return httpapi.ErrorResponse(&httpapi.Error{Status: http.StatusUnauthorized, Code: "unauthorized",
			Message: "webhook delivery not authenticated"}), "rejected", rej.Reason
	case errors.Is(err, tracking.ErrMalformed):
		return httpapi.ErrorResponse(&httpapi.Error{Status: http.StatusBadRequest, Code: "malformed_payload",
			Message: "webhook payload is not a usable delivery"}), "malformed", err.Error()
	case errors.Is(err, tracking.ErrJobNotReady):
		return httpapi.ErrorResponse(&httpapi.Error{Status: http.StatusServiceUnavailable, Code: "not_ready",
			Message: "job not ready for deliveries; retry later"}), "retry", err.Error()
	}
	return httpapi.ErrorResponse(httpapi.Internal), "error", err.Error()
}

// clip bounds signed-but-untrusted text (the event type) in the log line.
func clip(s string) string {
	const maxLogged = 64
	if len(s) > maxLogged {
		return s[:maxLogged]
	}
	return s
}
