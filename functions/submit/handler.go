package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/videojobs/videojobs/internal/httpapi"
	"github.com/videojobs/videojobs/internal/intake"
	"github.com/videojobs/videojobs/internal/metrics"
)

// submitter is the intake call this function makes.
type submitter interface {
	Submit(ctx context.Context, req *intake.SubmitRequest, idemKey string) (*intake.Submission, error)
}

// recorder collects the invocation's metrics; *metrics.Recorder writes
// them as EMF on Flush.
type recorder interface {
	Count(name string, dims ...metrics.Dimension)
	Flush() error
}

type handler struct {
	svc     submitter
	log     *slog.Logger
	metrics recorder
	now     func() time.Time
}

// jobResponse is the body of a successful POST /jobs.
type jobResponse struct {
	Job intake.View `json:"job"`
}

// handle serves POST /jobs: it decodes the body strictly, submits, and maps
// the outcome to a status. It never returns a Go error: API Gateway would
// turn that into a bare 500 without the envelope.
func (h *handler) handle(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	start := h.now()
	var (
		sub  *intake.Submission
		err  error
		body intake.SubmitRequest
	)
	if err = httpapi.DecodeRequest(req, &body); err == nil {
		sub, err = h.svc.Submit(ctx, &body, httpapi.Header(req, "Idempotency-Key"))
	}
	resp := h.respond(sub, err)

	attrs := []any{slog.Int("status", resp.StatusCode), slog.Int64("durationMs", h.now().Sub(start).Milliseconds())}
	if sub != nil && sub.Job != nil {
		attrs = append(attrs, slog.String("jobId", sub.Job.ID), slog.String("state", string(sub.Job.State)),
			slog.String("providerJobId", sub.Job.ProviderJobID), slog.Bool("replayed", sub.Replayed),
			slog.Bool("reconciled", sub.Reconciled), slog.Bool("unconfirmed", sub.Unconfirmed))
	}
	level := slog.LevelInfo
	if err != nil {
		// Errors carry ids, states and gateway codes only: request bodies,
		// secrets and keys never enter them.
		attrs = append(attrs, slog.String("error", err.Error()))
		if resp.StatusCode >= 500 {
			level = slog.LevelError
		}
	}
	h.record(sub, err, resp.StatusCode)
	if ferr := h.metrics.Flush(); ferr != nil {
		attrs = append(attrs, slog.String("metricsError", ferr.Error()))
	}
	h.log.Log(ctx, level, "submit", attrs...)
	return resp, nil
}

func (h *handler) respond(sub *intake.Submission, err error) events.APIGatewayV2HTTPResponse {
	if err == nil {
		status := http.StatusAccepted
		if sub.Replayed {
			status = http.StatusOK
		}
		resp := httpapi.JSON(status, jobResponse{Job: intake.ViewOf(sub.Job, false)})
		resp.Headers["Location"] = "/jobs/" + sub.Job.ID
		return resp
	}
	return httpapi.ErrorResponse(apiError(err))
}

// apiError maps a submit failure to the client-facing error. Only 4xx
// answers explain; 5xx answers say nothing internal.
func apiError(err error) *httpapi.Error {
	var (
		he  *httpapi.Error
		fe  *intake.FieldError
		rej *intake.RejectedError
	)
	switch {
	case errors.As(err, &he):
		return he
	case errors.As(err, &fe):
		return &httpapi.Error{Status: http.StatusBadRequest, Code: "invalid_request", Field: fe.Field, Message: fe.Error()}
	case errors.Is(err, intake.ErrIdempotencyKeyReused):
		return &httpapi.Error{Status: http.StatusConflict, Code: "idempotency_key_reused",
			Message: "this Idempotency-Key was already used with a different request body; use a new key for a new job"}
	case errors.As(err, &rej):
		return rejectedError(rej)
	case errors.Is(err, intake.ErrProviderUnavailable):
		return &httpapi.Error{Status: http.StatusBadGateway, Code: "provider_unavailable",
			Message: "the video provider could not be reached; retry with the same Idempotency-Key"}
	case errors.Is(err, intake.ErrReconcileConflict):
		return &httpapi.Error{Status: http.StatusBadGateway, Code: "provider_conflict",
			Message: "the provider job for this submission could not be confirmed; the job is held for review"}
	}
	return httpapi.Internal
}

// rejectedError explains a definite refusal by the gateway. The job exists,
// rejected, so the message names it.
func rejectedError(r *intake.RejectedError) *httpapi.Error {
	msg := func(what string) string {
		s := fmt.Sprintf("job %s rejected by the provider: %s", r.Job.ID, what)
		if r.Message != "" {
			s += ": " + r.Message
		}
		return s
	}
	switch r.HTTPStatus {
	case http.StatusPaymentRequired:
		return &httpapi.Error{Status: http.StatusPaymentRequired, Code: "insufficient_funds", Message: msg("insufficient funds")}
	case http.StatusForbidden:
		return &httpapi.Error{Status: http.StatusForbidden, Code: "provider_refused", Message: msg("refused (" + r.Code + ")")}
	case http.StatusTooManyRequests:
		return &httpapi.Error{Status: http.StatusTooManyRequests, Code: "provider_rate_limited", Message: msg("rate limited; submit again later")}
	case http.StatusUnauthorized, http.StatusNotFound, http.StatusNotImplemented:
		// Our credentials or the gateway's feature switch: nothing the
		// client can fix, and nothing internal to tell.
		return &httpapi.Error{Status: http.StatusBadGateway, Code: "provider_unavailable",
			Message: fmt.Sprintf("job %s could not be submitted: video generation is unavailable", r.Job.ID)}
	}
	return &httpapi.Error{Status: http.StatusUnprocessableEntity, Code: "provider_validation_error", Field: r.Field, Message: msg("invalid request")}
}

// record emits the submission metrics (docs/internals.md).
func (h *handler) record(sub *intake.Submission, err error, status int) {
	var rej *intake.RejectedError
	switch {
	case err == nil && !sub.Replayed:
		h.metrics.Count(metrics.JobsSubmitted)
	case errors.As(err, &rej):
		h.metrics.Count(metrics.JobsFailed, metrics.Reason("provider_rejected"))
		h.metrics.Count(metrics.ProviderErrors, metrics.Status(strconv.Itoa(rej.HTTPStatus)))
	case errors.Is(err, intake.ErrProviderUnavailable), errors.Is(err, intake.ErrReconcileConflict):
		h.metrics.Count(metrics.ProviderErrors, metrics.Status(strconv.Itoa(status)))
	}
}
