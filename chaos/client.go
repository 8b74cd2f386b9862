package chaos

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/videojobs/videojobs/internal/intake"
)

// Client talks to the local HTTP API as a client (or the gateway) would.
type Client struct {
	Base string
	HTTP *http.Client
}

// NewClient returns a client for the API at base.
func NewClient(base string) *Client {
	return &Client{Base: base, HTTP: &http.Client{Timeout: 60 * time.Second}}
}

// Response is one HTTP exchange's answer.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r Response) String() string { return fmt.Sprintf("%d %s", r.Status, clipBytes(r.Body, 300)) }

// APIError is the API's error envelope {"error":{"code","message","field"?}}.
type APIError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

// Envelope decodes the error envelope; ok is false when the body is not one
// (no code or no message, or other keys beside "error").
func (r Response) Envelope() (APIError, bool) {
	var env map[string]json.RawMessage
	if json.Unmarshal(r.Body, &env) != nil || len(env) != 1 || env["error"] == nil {
		return APIError{}, false
	}
	dec := json.NewDecoder(bytes.NewReader(env["error"]))
	dec.DisallowUnknownFields()
	var e APIError
	if dec.Decode(&e) != nil || e.Code == "" || e.Message == "" {
		return APIError{}, false
	}
	return e, true
}

// Do sends one request. header values replace the defaults; a nil body
// sends none.
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

// Job reads GET /jobs/{id}.
func (c *Client) Job(ctx context.Context, id string) (intake.View, error) {
	r, err := c.Do(ctx, http.MethodGet, "/jobs/"+id, nil, nil)
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

func clipBytes(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}
