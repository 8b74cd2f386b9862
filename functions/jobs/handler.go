package main

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/videojobs/videojobs/internal/aistats"
	"github.com/videojobs/videojobs/internal/httpapi"
	"github.com/videojobs/videojobs/internal/intake"
	"github.com/videojobs/videojobs/internal/job"
	"github.com/videojobs/videojobs/internal/metrics"
)

// service is the intake calls this function makes.
type service interface {
	Get(ctx context.Context, id string) (*job.Job, error)
	List(ctx context.Context, q intake.ListQuery) (*intake.Page, error)
	DownloadURL(ctx context.Context, id string) (*intake.Download, error)
	Cancel(ctx context.Context, id string) (*job.Job, error)
}

// recorder collects the invocation's metrics; *metrics.Recorder writes
// them as EMF on Flush.
type recorder interface {
	Count(name string, dims ...metrics.Dimension)
	Flush() error
}

type handler struct {
	svc     service
	log     *slog.Logger
	metrics recorder
	now     func() time.Time
}

type jobResponse struct {
	Job intake.View `json:"job"`
}

type listResponse struct {
	Jobs       []intake.View `json:"jobs"`
	NextCursor string        `json:"nextCursor,omitempty"`
}

type downloadResponse struct {
	URL       string    `json:"url"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// route names the operation a request asks for.
type route struct {
	op string // "get", "list", "download", "cancel"; "" when unknown
	id string
	// allowed is set when the path exists but not for this method.
	allowed string
}

// routeOf resolves the operation from the HTTP method and path. It reads
// the path rather than routeKey so a catch-all route and the local front
// behave like the per-route integrations.
func routeOf(req events.APIGatewayV2HTTPRequest) route {
	method := req.RequestContext.HTTP.Method
	path := req.RawPath
	if path == "" {
		path = req.RequestContext.HTTP.Path
	}
	// A named stage prefixes the raw path.
	if st := req.RequestContext.Stage; st != "" && st != "$default" {
		path = strings.TrimPrefix(path, "/"+st)
	}
	seg := strings.Split(strings.Trim(path, "/"), "/")
	if len(seg) == 0 || seg[0] != "jobs" {
		return route{}
	}
	want := func(m, op, id string) route {
		if method != m {
			return route{allowed: m}
		}
		return route{op: op, id: id}
	}
	switch {
	case len(seg) == 1:
		return want(http.MethodGet, "list", "")
	case len(seg) == 2:
		return want(http.MethodGet, "get", seg[1])
	case len(seg) == 3 && seg[2] == "download-url":
		return want(http.MethodGet, "download", seg[1])
	case len(seg) == 3 && seg[2] == "cancel":
		return want(http.MethodPost, "cancel", seg[1])
	}
	return route{}
}

// handle serves the job read routes and cancel. It never returns a Go
// error, so every answer carries the JSON envelope.
func (h *handler) handle(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	start := h.now()
	r := routeOf(req)
	resp, j, err := h.serve(ctx, r, req)

	attrs := []any{slog.String("op", r.op), slog.Int("status", resp.StatusCode), slog.Int64("durationMs", h.now().Sub(start).Milliseconds())}
	if r.id != "" {
		attrs = append(attrs, slog.String("jobId", r.id))
	}
	if j != nil {
		attrs = append(attrs, slog.String("state", string(j.State)))
	}
	level := slog.LevelInfo
	if err != nil {
		attrs = append(attrs, slog.String("error", err.Error()))
		if resp.StatusCode >= 500 {
			level = slog.LevelError
		}
	}
	if r.op == "cancel" && err == nil {
		h.metrics.Count(metrics.JobsFailed, metrics.Reason("cancelled"))
	}
	var ae *aistats.APIError
	if errors.As(err, &ae) {
		h.metrics.Count(metrics.ProviderErrors, metrics.Status(strconv.Itoa(ae.HTTPStatus)))
	}
	if ferr := h.metrics.Flush(); ferr != nil {
		attrs = append(attrs, slog.String("metricsError", ferr.Error()))
	}
	h.log.Log(ctx, level, "jobs", attrs...)
	return resp, nil
}

func (h *handler) serve(ctx context.Context, r route, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, *job.Job, error) {
	switch r.op {
	case "get":
		j, err := h.svc.Get(ctx, r.id)
		if err != nil {
			return httpapi.ErrorResponse(apiError(err)), nil, err
		}
		return httpapi.JSON(http.StatusOK, jobResponse{Job: intake.ViewOf(j, true)}), j, nil
	case "list":
		q := req.QueryStringParameters
		p, err := h.svc.List(ctx, intake.ListQuery{State: q["state"], Limit: q["limit"], Cursor: q["cursor"]})
		if err != nil {
			return httpapi.ErrorResponse(apiError(err)), nil, err
		}
		out := listResponse{Jobs: make([]intake.View, len(p.Jobs)), NextCursor: p.Cursor}
		for i, j := range p.Jobs {
			out.Jobs[i] = intake.ViewOf(j, false)
		}
		return httpapi.JSON(http.StatusOK, out), nil, nil
	case "download":
		d, err := h.svc.DownloadURL(ctx, r.id)
		if err != nil {
			return httpapi.ErrorResponse(apiError(err)), nil, err
		}
		return httpapi.JSON(http.StatusOK, downloadResponse{URL: d.URL, ExpiresAt: d.ExpiresAt}), nil, nil
	case "cancel":
		// Cancel takes no parameters; an empty body or {} is fine, anything
		// else is refused like any other strict body.
		if body, err := httpapi.Body(req); err != nil || len(strings.TrimSpace(string(body))) > 0 {
			if err == nil {
				err = httpapi.Decode(body, &struct{}{})
			}
			if err != nil {
				return httpapi.ErrorResponse(apiError(err)), nil, err
			}
		}
		j, err := h.svc.Cancel(ctx, r.id)
		if err != nil {
			return httpapi.ErrorResponse(apiError(err)), nil, err
		}
		return httpapi.JSON(http.StatusOK, jobResponse{Job: intake.ViewOf(j, true)}), j, nil
	}
	if r.allowed != "" {
		resp := httpapi.ErrorResponse(&httpapi.Error{Status: http.StatusMethodNotAllowed, Code: "method_not_allowed", Message: "use " + r.allowed})
		resp.Headers["Allow"] = r.allowed
		return resp, nil, nil
	}
	return httpapi.ErrorResponse(&httpapi.Error{Status: http.StatusNotFound, Code: "not_found", Message: "no such route"}), nil, nil
}

// apiError maps a domain error to the client-facing error; 5xx answers say
// nothing internal.
func apiError(err error) *httpapi.Error {
	var (
		he *httpapi.Error
		fe *intake.FieldError
	)
	switch {
	case errors.As(err, &he):
		return he
	case errors.As(err, &fe):
		return &httpapi.Error{Status: http.StatusBadRequest, Code: "invalid_request", Field: fe.Field, Message: fe.Error()}
	case errors.Is(err, job.ErrNotFound):
		return &httpapi.Error{Status: http.StatusNotFound, Code: "not_found", Message: "no such job"}
	case errors.Is(err, intake.ErrNotStored):
		return &httpapi.Error{Status: http.StatusConflict, Code: "not_stored", Message: "the job's video is not stored yet; see the job's state"}
	case errors.Is(err, intake.ErrCancelNotSupported):
		return &httpapi.Error{Status: http.StatusConflict, Code: "cancel_not_supported", Message: "the provider running this job does not support cancelling it"}
	case errors.Is(err, intake.ErrJobTerminal):
		return &httpapi.Error{Status: http.StatusConflict, Code: "job_finished", Message: "the job has already finished and cannot be cancelled"}
	case errors.Is(err, intake.ErrProviderUnavailable):
		return &httpapi.Error{Status: http.StatusBadGateway, Code: "provider_unavailable", Message: "the video provider could not be reached; retry later"}
	}
	return httpapi.Internal
}
