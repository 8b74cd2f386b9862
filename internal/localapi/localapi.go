// Package localapi is a client of the videojobs HTTP API as a user (or the
// gateway, for the webhook route) reaches it: it sends a request to the
// API's base URL and keeps the whole answer, decodes the JSON error envelope
// {"error":{"code","message","field"?}} and the {"job":{…}} body into the
// API's own intake.View, submits jobs with an optional Idempotency-Key, and
// polls a job until it is terminal. The chaos harness, the end-to-end suite
// and the demo drive the local stack with it.
package localapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/videojobs/videojobs/internal/intake"
)

// Client talks to the HTTP API at Base.
type Client struct {
	Base string
	HTTP *http.Client
}

// New returns a client for the API at base. A request that takes over a
// minute counts as failed: the slowest route (a submit whose provider create
// hangs) answers well within that.
func New(base string) *Client {
	return &Client{Base: base, HTTP: &http.Client{Timeout: 60 * time.Second}}
}

// Response is one HTTP exchange's answer.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// String is the status and the start of the body, for error messages.
func (r Response) String() string { return fmt.Sprintf("%d %s", r.Status, clip(r.Body, 300)) }

// APIError is the body of the API's error envelope.
type APIError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

// Envelope decodes the error envelope; ok is false when the body is not one
// (no code or no message, or other keys beside "error" or inside it).
func (r Response) Envelope() (e APIError, ok bool) {
	var env map[string]json.RawMessage
	if json.Unmarshal(r.Body, &env) != nil || len(env) != 1 || env["error"] == nil {
		return APIError{}, false
	}
	dec := json.NewDecoder(bytes.NewReader(env["error"]))
	dec.DisallowUnknownFields()
	if dec.Decode(&e) != nil || e.Code == "" || e.Message == "" {
		return APIError{}, false
	}
	return e, true
}

// Do sends one request to Base+path and reads the whole answer, whatever
// its status. header values replace the defaults; a nil body sends none,
// any other is sent as JSON.
func (c *Client) Do(ctx context.Context, method, path string, body []byte, header http.Header) (Response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.Base+path, rd)
	if err != nil {
		return Response{}, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, vs := range header {
		req.Header[http.CanonicalHeaderKey(k)] = vs
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return Response{}, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return Response{}, fmt.Errorf("%s %s: read body: %w", method, path, err)
	}
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: b}, nil
}

// Submit posts body to POST /jobs, with an Idempotency-Key header when key
// is not empty. The answer is returned as is: callers differ on which
// statuses they accept, and [DecodeJob] reads the job from a 2xx.
func (c *Client) Submit(ctx context.Context, body []byte, key string) (Response, error) {
	var h http.Header
	if key != "" {
		h = http.Header{"Idempotency-Key": {key}}
	}
	return c.Do(ctx, http.MethodPost, "/jobs", body, h)
}

// Job reads GET /jobs/{id}; any status but 200 is an error.
func (c *Client) Job(ctx context.Context, id string) (intake.View, error) {
	r, err := c.Do(ctx, http.MethodGet, "/jobs/"+url.PathEscape(id), nil, nil)
	if err != nil {
		return intake.View{}, err
	}
	if r.Status != http.StatusOK {
		return intake.View{}, fmt.Errorf("GET /jobs/%s: %s", id, r)
	}
	return DecodeJob(r)
}

// DecodeJob reads the {"job":{…}} body of a job response.
func DecodeJob(r Response) (intake.View, error) {
	var env struct {
		Job intake.View `json:"job"`
	}
	if err := json.Unmarshal(r.Body, &env); err != nil || env.Job.ID == "" {
		return intake.View{}, fmt.Errorf("job response %s: no job in it (%v)", r, err)
	}
	return env.Job, nil
}

// WaitTerminal reads the job every poll until it is in a terminal state, and
// returns that read. A failed read is retried at the next poll. onRead, if
// not nil, sees every successful read in order, so a caller can check how
// the job moved. When ctx ends first, WaitTerminal returns the last view it
// read and an error naming its state and the last read error.
func (c *Client) WaitTerminal(ctx context.Context, id string, poll time.Duration, onRead func(intake.View)) (intake.View, error) {
	var last intake.View
	var lastErr error
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return last, fmt.Errorf("job %s not terminal: last state %q, last error %v: %w", id, last.State, lastErr, ctx.Err())
		case <-t.C:
		}
		v, err := c.Job(ctx, id)
		lastErr = err
		if err == nil {
			last = v
			if onRead != nil {
				onRead(v)
			}
			if v.State.Terminal() {
				return v, nil
			}
		}
		t.Reset(poll)
	}
}

func clip(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}
