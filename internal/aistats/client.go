package aistats

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultBaseURL is the production gateway.
const DefaultBaseURL = "https://api.phaseo.app"

const (
	defaultTimeout          = 30 * time.Second
	defaultContentFirstByte = 3 * time.Minute
	// maxJSONBody bounds a JSON reply held in memory (a 200-item list is
	// well under this); video bytes never go through this path.
	maxJSONBody = 16 << 20
	// maxErrorBody bounds the bytes of an error reply read for parsing.
	maxErrorBody = 1 << 20
)

// RetryPolicy governs retries of idempotent calls (provider-contract.md §7).
// Create is never retried whatever the policy says.
type RetryPolicy struct {
	// MaxRetries is the number of retries after the first attempt; 0
	// disables retries.
	MaxRetries int
	// BaseDelay and MaxDelay shape the full-jitter backoff: retry n sleeps
	// rand(0, min(BaseDelay·2^n, MaxDelay)).
	BaseDelay time.Duration
	MaxDelay  time.Duration
	// MaxServerWait is the longest Retry-After / reset_at pause honoured
	// inside one call. A longer requested pause ends the call with the
	// error so the caller (a workflow wait, not a Lambda) can sleep it.
	MaxServerWait time.Duration
}

// DefaultRetryPolicy is the contract's schedule: at most 4 retries,
// rand(0, min(1s·2^n, 8s)), honouring server pauses up to 20 s (one poll
// interval).
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{MaxRetries: 4, BaseDelay: time.Second, MaxDelay: 8 * time.Second, MaxServerWait: 20 * time.Second}
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient sets the HTTP client. Its Timeout, if any, also bounds
// Content bodies, so leave it zero and rely on WithTimeout and contexts.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) {
		if hc != nil {
			c.hc = hc
		}
	}
}

// WithTimeout bounds each attempt of a JSON call, reading the reply
// included (default 30 s). The caller's context bounds the whole call.
func WithTimeout(d time.Duration) Option {
	return func(c *Client) {
		if d > 0 {
			c.timeout = d
		}
	}
}

// WithContentFirstByteTimeout bounds the wait for the response headers of
// Content and ContentURL (default 3 min: the gateway buffers the whole file
// before the first byte). The body itself has no client deadline beyond
// the caller's context.
func WithContentFirstByteTimeout(d time.Duration) Option {
	return func(c *Client) {
		if d > 0 {
			c.firstByte = d
		}
	}
}

// WithRetryPolicy replaces the retry policy. Zero delays take the defaults;
// MaxRetries is taken as given.
func WithRetryPolicy(p RetryPolicy) Option {
	return func(c *Client) {
		d := DefaultRetryPolicy()
		if p.BaseDelay <= 0 {
			p.BaseDelay = d.BaseDelay
		}
		if p.MaxDelay <= 0 {
			p.MaxDelay = d.MaxDelay
		}
		if p.MaxServerWait <= 0 {
			p.MaxServerWait = d.MaxServerWait
		}
		p.MaxRetries = max(p.MaxRetries, 0)
		c.retry = p
	}
}

// WithSleep replaces the backoff sleep (tests record waits instead of
// sleeping). It must return early with ctx.Err() when ctx ends.
func WithSleep(sleep func(ctx context.Context, d time.Duration) error) Option {
	return func(c *Client) {
		if sleep != nil {
			c.sleep = sleep
		}
	}
}

// WithRand sets the jitter source, for reproducible backoff.
func WithRand(r *rand.Rand) Option {
	return func(c *Client) {
		if r != nil {
			c.rnd = r
		}
	}
}

// WithClock sets the clock used for HTTP-date Retry-After and reset_at.
func WithClock(now func() time.Time) Option {
	return func(c *Client) {
		if now != nil {
			c.now = now
		}
	}
}

// WithUserAgent sets the User-Agent header.
func WithUserAgent(ua string) Option {
	return func(c *Client) {
		if ua != "" {
			c.userAgent = ua
		}
	}
}

// Client talks to the gateway. It is safe for concurrent use.
type Client struct {
	base      *url.URL
	baseErr   error
	apiKey    string                                // fixed key (New)
	keyFunc   func(context.Context) (string, error) // resolved per request (NewWithKeyFunc)
	hc        *http.Client
	timeout   time.Duration
	firstByte time.Duration
	retry     RetryPolicy
	sleep     func(context.Context, time.Duration) error
	now       func() time.Time
	userAgent string

	rndMu sync.Mutex
	rnd   *rand.Rand
}

// New returns a client for the gateway at baseURL (DefaultBaseURL when
// empty) authenticating with apiKey. A malformed baseURL is reported by
// every call, so configuration errors surface on first use; check it at
// init with Client.Err.
func New(baseURL, apiKey string, opts ...Option) *Client {
	c := newClient(baseURL, opts)
	c.apiKey = apiKey
	return c
}

// NewWithKeyFunc is New with an API key that key resolves when a request
// needs it (a Lambda reads it from Secrets Manager on first use, through
// a cache, instead of during its cold start). An error from key fails the
// call with ErrAPIKey; it is never retried.
func NewWithKeyFunc(baseURL string, key func(context.Context) (string, error), opts ...Option) *Client {
	c := newClient(baseURL, opts)
	c.keyFunc = key
	return c
}

// ErrAPIKey wraps the failure to resolve the API key.
var ErrAPIKey = errors.New("aistats: api key unavailable")

func (c *Client) key(ctx context.Context) (string, error) {
	if c.keyFunc == nil {
		return c.apiKey, nil
	}
	k, err := c.keyFunc(ctx)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrAPIKey, err)
	}
	if strings.TrimSpace(k) == "" {
		return "", fmt.Errorf("%w: the secret is empty", ErrAPIKey)
	}
	return k, nil
}

func newClient(baseURL string, opts []Option) *Client {
	c := &Client{
		hc:        &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()},
		timeout:   defaultTimeout,
		firstByte: defaultContentFirstByte,
		retry:     DefaultRetryPolicy(),
		sleep:     sleepCtx,
		now:       time.Now,
		userAgent: "videojobs-aistats/1",
	}
	if baseURL == "" {
		baseURL = DefaultBaseURL
	}
	c.base, c.baseErr = parseBaseURL(baseURL)
	for _, o := range opts {
		o(c)
	}
	return c
}

func parseBaseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimRight(strings.TrimSpace(raw), "/"))
	if err != nil {
		return nil, fmt.Errorf("aistats: parse base url: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("aistats: base url %q: must be absolute http(s)", u.Redacted())
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("aistats: base url %q: must not carry credentials, query or fragment", u.Redacted())
	}
	return u, nil
}

// Err reports a configuration problem (a malformed base URL or an empty
// fixed API key) that would make every call fail. A key resolved per
// request (NewWithKeyFunc) is checked when a request needs it.
func (c *Client) Err() error {
	if c.baseErr != nil {
		return c.baseErr
	}
	if c.keyFunc == nil && strings.TrimSpace(c.apiKey) == "" {
		return errors.New("aistats: api key is empty")
	}
	return nil
}

// String identifies the client without its API key, so printing or logging
// a Client never leaks it.
func (c *Client) String() string {
	if c.base == nil {
		return "aistats.Client{invalid base url}"
	}
	return "aistats.Client{" + c.base.String() + "}"
}

// GoString keeps %#v from printing the API key.
func (c *Client) GoString() string { return c.String() }

// BaseURL returns the gateway base URL the client resolves against.
func (c *Client) BaseURL() string {
	if c.base == nil {
		return ""
	}
	return c.base.String()
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// backoff returns the full-jitter delay before retry n (0-based).
func (c *Client) backoff(n int) time.Duration {
	ceiling := c.retry.MaxDelay
	if n < 30 {
		ceiling = min(c.retry.BaseDelay<<n, c.retry.MaxDelay)
	}
	if ceiling <= 0 {
		return 0
	}
	if c.rnd == nil {
		return time.Duration(rand.Int64N(int64(ceiling) + 1))
	}
	c.rndMu.Lock()
	defer c.rndMu.Unlock()
	return time.Duration(c.rnd.Int64N(int64(ceiling) + 1))
}

// retryable is the §7 rule for idempotent calls: 429, 5xx except 501, and
// transport failures. 4xx and protocol errors are definite.
func retryable(err error) bool {
	if errors.Is(err, ErrFeatureOff) {
		return false
	}
	return errors.Is(err, ErrTransient) || errors.Is(err, ErrRateLimited)
}

// withRetries runs attempt until it succeeds, fails definitely, or the
// policy, the server's requested pause or ctx ends the call. The last error
// is returned as is.
func (c *Client) withRetries(ctx context.Context, attempt func() error) error {
	for n := 0; ; n++ {
		err := attempt()
		if err == nil || n >= c.retry.MaxRetries || !retryable(err) || ctx.Err() != nil {
			return err
		}
		wait := c.backoff(n)
		if ra, ok := RetryAfter(err, c.now()); ok {
			if ra > c.retry.MaxServerWait {
				return err
			}
			wait = max(wait, ra)
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			return err
		}
		if c.sleep(ctx, wait) != nil {
			return err
		}
	}
}

// call describes one logical request.
type call struct {
	method string
	url    string
	body   []byte // JSON; nil for none
	bearer bool
}

func (c *Client) newRequest(ctx context.Context, k call, accept string) (*http.Request, error) {
	var body io.Reader
	if k.body != nil {
		body = bytes.NewReader(k.body)
	}
	req, err := http.NewRequestWithContext(ctx, k.method, k.url, body)
	if err != nil {
		return nil, fmt.Errorf("build request: %w", redactURLError(err))
	}
	if k.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", accept)
	req.Header.Set("User-Agent", c.userAgent)
	// No Idempotency-Key header, ever: the gateway ignores it, and Go's
	// transport treats a POST carrying one as replayable and may resend it
	// on a dropped connection, which could create a second billed job.
	if k.bearer {
		key, err := c.key(ctx)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Authorization", "Bearer "+key)
	}
	return req, nil
}

// attemptJSON sends one request under the per-attempt timeout and returns
// the 2xx body, or an *APIError, a transient transport error, or the
// caller's context error.
func (c *Client) attemptJSON(ctx context.Context, k call) ([]byte, error) {
	actx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := c.newRequest(actx, k, "application/json")
	if err != nil {
		return nil, err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, c.transportErr(ctx, actx, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, c.apiError(ctx, actx, resp)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJSONBody+1))
	if err != nil {
		return nil, c.transportErr(ctx, actx, err)
	}
	if len(body) > maxJSONBody {
		return nil, fmt.Errorf("%w: reply larger than %d bytes", ErrProtocol, maxJSONBody)
	}
	return body, nil
}

// doJSON is attemptJSON under the retry policy.
func (c *Client) doJSON(ctx context.Context, k call) ([]byte, error) {
	if c.baseErr != nil {
		return nil, c.baseErr
	}
	var body []byte
	err := c.withRetries(ctx, func() error {
		var err error
		body, err = c.attemptJSON(ctx, k)
		return err
	})
	return body, err
}

// apiError reads and parses a non-2xx reply. A body cut short on a 5xx is
// still a 5xx (transient); the status is what matters.
func (c *Client) apiError(ctx, actx context.Context, resp *http.Response) error {
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	if err != nil && ctx.Err() != nil {
		return ctx.Err()
	}
	e := ParseAPIError(resp.StatusCode, resp.Header, body, c.now())
	// Redact the key this request sent, if any (a signed URL sends none):
	// resolving it again could mean another Secrets Manager read.
	if key, ok := strings.CutPrefix(resp.Request.Header.Get("Authorization"), "Bearer "); ok && key != "" {
		e.Message = strings.ReplaceAll(e.Message, key, "[redacted]")
		e.UpstreamMessage = strings.ReplaceAll(e.UpstreamMessage, key, "[redacted]")
	}
	return e
}

// transportErr classifies a failure below HTTP. The caller's own
// cancellation is returned as the context error (not retried); anything
// else, including the per-attempt timeout, is transient.
func (c *Client) transportErr(ctx, actx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%w (%w)", ctx.Err(), redactURLError(err))
	}
	err = redactURLError(err)
	if errors.Is(actx.Err(), context.DeadlineExceeded) {
		err = fmt.Errorf("attempt timed out after %s: %w", c.timeout, err)
	}
	return &transportError{err: err}
}

// redactURLError drops the query from the URL a *url.Error carries: signed
// download URLs hold a credential there.
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		if u, perr := url.Parse(ue.URL); perr == nil && u.RawQuery != "" {
			u.RawQuery = "[redacted]"
			ue.URL = u.String()
		} else if perr != nil {
			ue.URL = "[unparseable url]"
		}
	}
	return err
}

// sentNothing reports a failure that certainly happened before the request
// left this host (dialling failed), so a create cannot have been received.
func sentNothing(err error) bool {
	var op *net.OpError
	return errors.Is(err, ErrAPIKey) || errors.As(err, &op) && op.Op == "dial"
}

// videoURL validates id and builds <base>/v1/videos/<id>[/rest].
func (c *Client) videoURL(id string, rest ...string) (string, error) {
	if c.baseErr != nil {
		return "", c.baseErr
	}
	if strings.TrimSpace(id) == "" {
		return "", &ValidationError{Field: "id", Problem: "required"}
	}
	return videoURL(c.base, id, rest...), nil
}

// Create submits a job (POST /v1/videos). It is sent exactly once.
//
// A 4xx JSON envelope (and any 501) means no job was created and is returned
// as an *APIError. A timeout, a connection failure after dialling, a 5xx, a
// non-JSON reply or a 2xx without a usable id may or may not have created
// (and billed) a job: the error then matches ErrAmbiguousCreate and the
// caller must reconcile (provider-contract.md §3.3), not resend.
func (c *Client) Create(ctx context.Context, r CreateRequest) (*Video, error) {
	if c.baseErr != nil {
		return nil, fmt.Errorf("create video: %w", c.baseErr)
	}
	if err := r.Validate(); err != nil {
		return nil, fmt.Errorf("create video: %w", err)
	}
	body, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("create video: encode request: %w", err)
	}
	reply, err := c.attemptJSON(ctx, call{method: http.MethodPost, url: c.base.String() + "/v1/videos", body: body, bearer: true})
	if err != nil {
		if createDefinite(err) {
			return nil, fmt.Errorf("create video: %w", err)
		}
		return nil, fmt.Errorf("create video: %w", &ambiguousError{cause: err})
	}
	v, err := DecodeVideo(reply, c.base)
	if err != nil {
		return nil, fmt.Errorf("create video: %w", &ambiguousError{cause: err})
	}
	return v, nil
}

// createDefinite reports create failures that certainly created no job.
func createDefinite(err error) bool {
	var ae *APIError
	if errors.As(err, &ae) {
		if ae.HTTPStatus == http.StatusNotImplemented {
			return true
		}
		return ae.HTTPStatus >= 400 && ae.HTTPStatus < 500 && !ae.NonJSON
	}
	return sentNothing(err)
}

// Get polls a job (GET /v1/videos/{id}). The gateway queries the provider
// live, so 502s and slow replies are normal; they are retried.
func (c *Client) Get(ctx context.Context, id string) (*Video, error) {
	u, err := c.videoURL(id)
	if err != nil {
		return nil, fmt.Errorf("get video %s: %w", id, err)
	}
	body, err := c.doJSON(ctx, call{method: http.MethodGet, url: u, bearer: true})
	if err != nil {
		return nil, fmt.Errorf("get video %s: %w", id, err)
	}
	v, err := DecodeVideo(body, c.base)
	if err != nil {
		return nil, fmt.Errorf("get video %s: %w", id, err)
	}
	return v, nil
}

// List returns stored jobs, newest first (GET /v1/videos). Items are not
// live-polled and may include tombstones (Video.Deleted).
func (c *Client) List(ctx context.Context, opts ListOptions) (*VideoList, error) {
	if c.baseErr != nil {
		return nil, fmt.Errorf("list videos: %w", c.baseErr)
	}
	if opts.Limit < 0 {
		return nil, fmt.Errorf("list videos: %w", &ValidationError{Field: "limit", Problem: "must not be negative"})
	}
	q := url.Values{}
	if opts.Limit > 0 {
		q.Set("limit", strconv.Itoa(min(opts.Limit, 200)))
	}
	if len(opts.Statuses) > 0 {
		s := make([]string, len(opts.Statuses))
		for i, st := range opts.Statuses {
			s[i] = string(st)
		}
		q.Set("status", strings.Join(s, ","))
	}
	u := c.base.String() + "/v1/videos"
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	body, err := c.doJSON(ctx, call{method: http.MethodGet, url: u, bearer: true})
	if err != nil {
		return nil, fmt.Errorf("list videos: %w", err)
	}
	l, err := DecodeVideoList(body, c.base)
	if err != nil {
		return nil, fmt.Errorf("list videos: %w", err)
	}
	return l, nil
}

// DownloadURL mints a signed, key-less URL for one output (POST
// /v1/videos/{id}/download_url). Fetch it with ContentURL.
func (c *Client) DownloadURL(ctx context.Context, id string, r DownloadURLRequest) (*DownloadURL, error) {
	u, err := c.videoURL(id, "download_url")
	if err != nil {
		return nil, fmt.Errorf("download url for video %s: %w", id, err)
	}
	if r.Index < 0 || r.TTLSeconds < 0 {
		return nil, fmt.Errorf("download url for video %s: %w", id, &ValidationError{Field: "index/ttl_seconds", Problem: "must not be negative"})
	}
	body, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("download url for video %s: encode request: %w", id, err)
	}
	reply, err := c.doJSON(ctx, call{method: http.MethodPost, url: u, body: body, bearer: true})
	if err != nil {
		return nil, fmt.Errorf("download url for video %s: %w", id, err)
	}
	d, err := decodeDownloadURL(reply, c.base)
	if err != nil {
		return nil, fmt.Errorf("download url for video %s: %w", id, err)
	}
	return d, nil
}

// Delete tombstones a terminal job (DELETE /v1/videos/{id}). A 404
// video_deleted means an earlier attempt already succeeded and returns nil.
func (c *Client) Delete(ctx context.Context, id string) error {
	u, err := c.videoURL(id)
	if err != nil {
		return fmt.Errorf("delete video %s: %w", id, err)
	}
	_, err = c.doJSON(ctx, call{method: http.MethodDelete, url: u, bearer: true})
	if err != nil && !errors.Is(err, ErrDeleted) {
		return fmt.Errorf("delete video %s: %w", id, err)
	}
	return nil
}

// Cancel asks the provider to cancel a job (POST /v1/videos/{id}/cancel).
// Call it only while Video.CancelURL is set; a 501 (ErrFeatureOff) is final.
// A repeat on an already cancelled job returns it.
func (c *Client) Cancel(ctx context.Context, id string) (*Video, error) {
	u, err := c.videoURL(id, "cancel")
	if err != nil {
		return nil, fmt.Errorf("cancel video %s: %w", id, err)
	}
	body, err := c.doJSON(ctx, call{method: http.MethodPost, url: u, bearer: true})
	if err != nil {
		return nil, fmt.Errorf("cancel video %s: %w", id, err)
	}
	v, err := DecodeVideo(body, c.base)
	if err != nil {
		return nil, fmt.Errorf("cancel video %s: %w", id, err)
	}
	return v, nil
}

// Content is a streaming video body. The caller must Close Body.
type Content struct {
	Body io.ReadCloser
	// Length is Content-Length, or -1 when unknown. A body shorter than
	// Length fails its last Read with io.ErrUnexpectedEOF.
	Length      int64
	ContentType string
}

// Content streams output index of a completed job (GET
// /v1/videos/{id}/content?index=N). Nothing is buffered: the reply body is
// handed over as is. Failures before the body (5xx, 429, timeouts) are
// retried; a body cut mid-stream is the caller's to restart from byte 0,
// since the gateway ignores Range.
func (c *Client) Content(ctx context.Context, id string, index int) (*Content, error) {
	u, err := c.videoURL(id, "content")
	if err != nil {
		return nil, fmt.Errorf("content of video %s: %w", id, err)
	}
	if index < 0 {
		return nil, fmt.Errorf("content of video %s: %w", id, &ValidationError{Field: "index", Problem: "must not be negative"})
	}
	ct, err := c.stream(ctx, call{method: http.MethodGet, url: u + "?index=" + strconv.Itoa(index), bearer: true})
	if err != nil {
		return nil, fmt.Errorf("content of video %s: %w", id, err)
	}
	return ct, nil
}

// ContentURL streams a signed download URL from DownloadURL or a video's
// download_url. No API key is sent: the URL is its own credential (and is
// kept out of error messages).
func (c *Client) ContentURL(ctx context.Context, signedURL string) (*Content, error) {
	if c.baseErr != nil {
		return nil, fmt.Errorf("content from signed url: %w", c.baseErr)
	}
	u := resolveURL(c.base, signedURL)
	if pu, err := url.Parse(u); err != nil || (pu.Scheme != "http" && pu.Scheme != "https") {
		return nil, fmt.Errorf("content from signed url: %w", &ValidationError{Field: "url", Problem: "must be an http(s) url"})
	}
	ct, err := c.stream(ctx, call{method: http.MethodGet, url: u})
	if err != nil {
		return nil, fmt.Errorf("content from signed url: %w", err)
	}
	return ct, nil
}

func (c *Client) stream(ctx context.Context, k call) (*Content, error) {
	var out *Content
	err := c.withRetries(ctx, func() error {
		var err error
		out, err = c.attemptStream(ctx, k)
		return err
	})
	return out, err
}

// attemptStream waits at most firstByte for the response headers, then
// hands the body over with no deadline but the caller's context.
func (c *Client) attemptStream(ctx context.Context, k call) (*Content, error) {
	sctx, cancel := context.WithCancel(ctx)
	var timedOut atomic.Bool
	timer := time.AfterFunc(c.firstByte, func() {
		timedOut.Store(true)
		cancel()
	})
	req, err := c.newRequest(sctx, k, "*/*")
	if err != nil {
		timer.Stop()
		cancel()
		return nil, err
	}
	resp, err := c.hc.Do(req)
	timer.Stop()
	if err != nil {
		cancel()
		if ctx.Err() == nil && timedOut.Load() {
			return nil, &transportError{err: fmt.Errorf("no response headers within %s: %w", c.firstByte, redactURLError(err))}
		}
		return nil, c.transportErr(ctx, sctx, err)
	}
	if timedOut.Load() {
		// The timer fired just as the headers arrived; the body is already
		// cancelled, so treat it as the timeout it nearly was.
		resp.Body.Close()
		cancel()
		return nil, &transportError{err: fmt.Errorf("no response headers within %s", c.firstByte)}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		err := c.apiError(ctx, sctx, resp)
		resp.Body.Close()
		cancel()
		return nil, err
	}
	return &Content{
		Body:        &cancelOnClose{ReadCloser: resp.Body, cancel: cancel},
		Length:      resp.ContentLength,
		ContentType: resp.Header.Get("Content-Type"),
	}, nil
}

// cancelOnClose releases the request context when the body is closed.
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelOnClose) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}
