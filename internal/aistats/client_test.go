package aistats

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// errorRow is one row of provider-contract.md §2's error table (with the
// variants the contract names), and what the client must make of it.
type errorRow struct {
	name   string
	status int
	body   string
	header http.Header
	is     []error // sentinels the error must match
	isNot  []error // sentinels it must not match
	code   string
	reason string
	// getAttempts is how many requests an idempotent GET makes (1 = not
	// retried, 5 = first try + 4 retries).
	getAttempts int
	// ambiguous: on create, the job may exist (timeout/5xx/non-JSON).
	ambiguous bool
	// minWait is the least the first backoff must wait (server-requested).
	minWait time.Duration
}

func errorTable() []errorRow {
	final := []error{ErrTransient, ErrRateLimited, ErrFeatureOff}
	rows := []errorRow{}
	for _, code := range []string{"validation_error", "invalid_json", "model_required", "not_supported", "unsupported_model_or_endpoint"} {
		rows = append(rows, errorRow{name: "400 " + code, status: 400,
			body: `{"error":"` + code + `","status_code":400,"error_type":"user","error_origin":"gateway","reason":"r_` + code + `","description":"bad"}`,
			is:   []error{ErrInvalidRequest}, isNot: final, code: code, reason: "r_" + code, getAttempts: 1})
	}
	for _, reason := range []string{"missing_or_invalid_authorization_header", "invalid_key_format", "key_not_found_or_revoked", "key_expired", "invalid_secret"} {
		rows = append(rows, errorRow{name: "401 unauthorised " + reason, status: 401,
			body: `{"error":"unauthorised","status_code":401,"reason":"` + reason + `"}`,
			is:   []error{ErrUnauthorized}, isNot: final, code: "unauthorised", reason: reason, getAttempts: 1})
	}
	rows = append(rows,
		errorRow{name: "402 insufficient_funds", status: 402, body: `{"error":"insufficient_funds","reason":"wallet_balance_too_low"}`,
			is: []error{ErrInsufficientFunds}, isNot: final, code: "insufficient_funds", reason: "wallet_balance_too_low", getAttempts: 1},
		errorRow{name: "403 guardrail_blocked", status: 403, body: `{"error":"guardrail_blocked","reason":"prompt_blocked"}`,
			is: []error{ErrForbidden}, isNot: final, code: "guardrail_blocked", reason: "prompt_blocked", getAttempts: 1},
		errorRow{name: "403 capability not granted", status: 403, body: `{"error":"forbidden","reason":"capability_not_granted"}`,
			is: []error{ErrForbidden}, isNot: final, code: "forbidden", reason: "capability_not_granted", getAttempts: 1},
		errorRow{name: "404 not_found not owned", status: 404, body: `{"error":"not_found","reason":"video_not_found_or_not_owned"}`,
			is: []error{ErrNotFound}, isNot: append(final, ErrDeleted), code: "not_found", reason: "video_not_found_or_not_owned", getAttempts: 1},
		errorRow{name: "404 not_found deleted", status: 404, body: `{"error":"not_found","reason":"video_deleted"}`,
			is: []error{ErrNotFound, ErrDeleted}, isNot: final, code: "not_found", reason: "video_deleted", getAttempts: 1},
		errorRow{name: "409 not_ready", status: 409, body: `{"error":"not_ready","reason":"video_not_ready"}`,
			is: []error{ErrNotReady}, isNot: final, code: "not_ready", reason: "video_not_ready", getAttempts: 1},
		errorRow{name: "409 atlas_prediction_id_missing", status: 409, body: `{"error":"not_ready","reason":"atlas_prediction_id_missing"}`,
			is: []error{ErrNotReady}, isNot: final, code: "not_ready", reason: "atlas_prediction_id_missing", getAttempts: 1},
		errorRow{name: "426 websocket_upgrade_required", status: 426,
			body: `{"error":{"code":"websocket_upgrade_required","message":"upgrade"}}`, header: http.Header{"Upgrade": {"websocket"}},
			is: []error{ErrInvalidRequest}, isNot: final, code: "websocket_upgrade_required", getAttempts: 1},
		errorRow{name: "429 key_limit_exceeded resetting soon", status: 429,
			body: `{"error":"key_limit_exceeded","reason":"spend_limit","reset_at":"` + testNow.Add(5*time.Second).Format(time.RFC3339) + `"}`,
			is:   []error{ErrRateLimited}, isNot: []error{ErrFeatureOff, ErrTransient}, code: "key_limit_exceeded", reason: "spend_limit",
			getAttempts: 5, minWait: 5 * time.Second},
		errorRow{name: "429 key_limit_exceeded resetting tomorrow", status: 429,
			body: `{"error":"key_limit_exceeded","reason":"spend_limit","reset_at":` + fmt.Sprint(testNow.Add(8*time.Hour).Unix()) + `}`,
			is:   []error{ErrRateLimited}, isNot: []error{ErrFeatureOff}, code: "key_limit_exceeded", reason: "spend_limit", getAttempts: 1},
		errorRow{name: "429 provider passthrough", status: 429,
			body: `{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}`,
			is:   []error{ErrRateLimited}, isNot: []error{ErrFeatureOff}, code: "rate_limit_exceeded", getAttempts: 5},
		errorRow{name: "429 with Retry-After", status: 429, body: `{"error":"rate_limited"}`, header: http.Header{"Retry-After": {"3"}},
			is: []error{ErrRateLimited}, code: "rate_limited", getAttempts: 5, minWait: 3 * time.Second},
		errorRow{name: "500 gateway_error", status: 500, body: `{"error":"gateway_error","reason":"internal"}`,
			is: []error{ErrTransient}, isNot: []error{ErrFeatureOff}, code: "gateway_error", reason: "internal", getAttempts: 5, ambiguous: true},
		errorRow{name: "501 not_implemented_yet", status: 501,
			body: `{"error":"not_implemented_yet","reason":"video_api_temporarily_disabled"}`,
			is:   []error{ErrFeatureOff}, isNot: []error{ErrTransient, ErrRateLimited}, code: "not_implemented_yet", reason: "video_api_temporarily_disabled", getAttempts: 1},
		errorRow{name: "501 not_implemented (older docs)", status: 501, body: `{"error":"not_implemented"}`,
			is: []error{ErrFeatureOff}, isNot: []error{ErrTransient}, code: "not_implemented", getAttempts: 1},
		errorRow{name: "501 non-json", status: 501, body: `Not Implemented`,
			is: []error{ErrFeatureOff}, isNot: []error{ErrTransient}, getAttempts: 1},
		errorRow{name: "502 upstream_error", status: 502,
			body: `{"error":"upstream_error","reason":"google_vertex_operation_fetch_failed","upstream_status":500,"upstream_error":{"code":"INTERNAL","message":"x"}}`,
			is:   []error{ErrTransient}, isNot: []error{ErrRateLimited, ErrFeatureOff}, code: "upstream_error", reason: "google_vertex_operation_fetch_failed",
			getAttempts: 5, ambiguous: true},
		errorRow{name: "502 provider rate limited after failover", status: 502,
			body: `{"error":"upstream_error","reason":"all_providers_failed","failed_statuses":[429],"provider_failure_diagnostics":{"category":"rate_limited"}}`,
			is:   []error{ErrRateLimited, ErrTransient}, code: "upstream_error", reason: "all_providers_failed", getAttempts: 5, ambiguous: true},
		errorRow{name: "502 async_job_persistence_failed", status: 502,
			body: `{"error":"upstream_error","reason":"async_job_persistence_failed","native_video_id":"op-1","reservation_id":"res-1"}`,
			is:   []error{ErrTransient}, code: "upstream_error", reason: "async_job_persistence_failed", getAttempts: 5, ambiguous: true},
		errorRow{name: "502 video_generation_failed", status: 502, body: `{"error":"upstream_error","reason":"video_generation_failed"}`,
			is: []error{ErrTransient}, code: "upstream_error", reason: "video_generation_failed", getAttempts: 5, ambiguous: true},
		errorRow{name: "503 reservation_not_held", status: 503, body: `{"error":"reservation_not_held","reason":"reservation_not_held"}`,
			is: []error{ErrTransient}, code: "reservation_not_held", reason: "reservation_not_held", getAttempts: 5, ambiguous: true},
		errorRow{name: "502 non-json", status: 502, body: `<html>502 Bad Gateway</html>`,
			is: []error{ErrTransient}, getAttempts: 5, ambiguous: true},
		errorRow{name: "504 empty body", status: 504, body: ``,
			is: []error{ErrTransient}, getAttempts: 5, ambiguous: true},
		errorRow{name: "400 non-json (proxy page) is ambiguous on create", status: 400, body: `<html>Bad Request</html>`,
			is: []error{ErrInvalidRequest}, isNot: final, getAttempts: 1, ambiguous: true},
	)
	return rows
}

func checkSentinels(t *testing.T, err error, row errorRow) {
	t.Helper()
	for _, s := range row.is {
		if !errors.Is(err, s) {
			t.Errorf("error %v does not match %v", err, s)
		}
	}
	for _, s := range row.isNot {
		if errors.Is(err, s) {
			t.Errorf("error %v matches %v, it must not", err, s)
		}
	}
	var ae *APIError
	if !errors.As(err, &ae) {
		t.Fatalf("error %v is not an *APIError", err)
	}
	if ae.HTTPStatus != row.status || ae.Code != row.code || ae.Reason != row.reason {
		t.Errorf("APIError = %d %q %q, want %d %q %q", ae.HTTPStatus, ae.Code, ae.Reason, row.status, row.code, row.reason)
	}
	if strings.Contains(err.Error(), testKey) {
		t.Errorf("error leaks the API key: %v", err)
	}
}

func serveRow(row errorRow) func(w http.ResponseWriter, r *http.Request, n int) {
	return func(w http.ResponseWriter, r *http.Request, n int) {
		for k, v := range row.header {
			w.Header()[k] = v
		}
		if strings.HasPrefix(row.body, "{") {
			w.Header().Set("Content-Type", "application/json")
		} else {
			w.Header().Set("Content-Type", "text/html")
		}
		w.WriteHeader(row.status)
		io.WriteString(w, row.body)
	}
}

// TestErrorTableGet runs every §2 row against an idempotent call: definite
// errors are returned after one request, transient ones after the first try
// plus 4 retries with capped full-jitter backoff, 501 never retried.
func TestErrorTableGet(t *testing.T) {
	for _, row := range errorTable() {
		t.Run(row.name, func(t *testing.T) {
			g := newGateway(t, serveRow(row))
			_, err := g.client().Get(t.Context(), "G-1")
			checkSentinels(t, err, row)
			if got := len(g.requests()); got != row.getAttempts {
				t.Errorf("requests = %d, want %d", got, row.getAttempts)
			}
			waits := g.waits()
			if len(waits) != row.getAttempts-1 {
				t.Fatalf("backoff waits = %v, want %d", waits, row.getAttempts-1)
			}
			for n, w := range waits {
				ceiling := min(time.Second<<n, 8*time.Second)
				if w < row.minWait || w > max(ceiling, row.minWait) {
					t.Errorf("wait %d = %v, want within [%v, %v]", n, w, row.minWait, max(ceiling, row.minWait))
				}
			}
		})
	}
}

// TestErrorTableCreate runs every §2 row against create, which is sent
// exactly once whatever happens; 5xx (not 501) and non-JSON replies are
// ambiguous, 4xx envelopes and 501 are definite.
func TestErrorTableCreate(t *testing.T) {
	for _, row := range errorTable() {
		t.Run(row.name, func(t *testing.T) {
			g := newGateway(t, serveRow(row))
			_, err := g.client().Create(t.Context(), CreateRequest{Model: "m", Prompt: "p"})
			checkSentinels(t, err, row)
			if got := errors.Is(err, ErrAmbiguousCreate); got != row.ambiguous {
				t.Errorf("errors.Is(err, ErrAmbiguousCreate) = %v, want %v (err %v)", got, row.ambiguous, err)
			}
			if row.ambiguous && Temporary(err) {
				t.Errorf("Temporary(ambiguous create) = true: it must be reconciled, not retried")
			}
			if got := len(g.requests()); got != 1 {
				t.Errorf("create requests reaching the server = %d, want exactly 1", got)
			}
		})
	}
}

func TestCreateSuccess(t *testing.T) {
	g := newGateway(t, func(w http.ResponseWriter, r *http.Request, n int) {
		reply(w, 202, `{"id":"G-01J","polling_url":"/v1/videos/G-01J","status":"pending"}`)
	})
	req := CreateRequest{Model: "google/veo-3.1-lite", Prompt: "a cat", Duration: 8,
		Webhook: &WebhookConfig{URL: "https://hooks.example/w?job=vj_1", Secret: "s3", Events: []string{"job.completed"}}}
	v, err := g.client().Create(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	if v.ID != "G-01J" || v.Status != StatusQueued || v.PollingURL != g.srv.URL+"/v1/videos/G-01J" {
		t.Errorf("video = %+v", v)
	}
	reqs := g.requests()
	if len(reqs) != 1 {
		t.Fatalf("requests = %d", len(reqs))
	}
	got := reqs[0]
	want, _ := json.Marshal(req)
	if got.Method != "POST" || got.Path != "/v1/videos" || got.Auth != "Bearer "+testKey || got.ContentType != "application/json" || got.Body != string(want) {
		t.Errorf("request = %+v", got)
	}
	if got.Header.Get("Idempotency-Key") != "" || got.Header.Get("X-Idempotency-Key") != "" {
		t.Errorf("idempotency header sent; it would let Go's transport replay the POST")
	}
}

func TestCreateAmbiguousTransport(t *testing.T) {
	tests := []struct {
		name    string
		handler func(t *testing.T) func(w http.ResponseWriter, r *http.Request, n int)
		extraIs error
	}{
		{"timeout", func(t *testing.T) func(http.ResponseWriter, *http.Request, int) {
			return func(w http.ResponseWriter, r *http.Request, n int) { hang(r) }
		}, ErrTransient},
		{"connection reset", func(t *testing.T) func(http.ResponseWriter, *http.Request, int) {
			return func(w http.ResponseWriter, r *http.Request, n int) { resetConnection(t, w) }
		}, ErrTransient},
		{"202 with non-json body", func(t *testing.T) func(http.ResponseWriter, *http.Request, int) {
			return func(w http.ResponseWriter, r *http.Request, n int) { w.WriteHeader(202); io.WriteString(w, "accepted") }
		}, ErrProtocol},
		{"202 without id", func(t *testing.T) func(http.ResponseWriter, *http.Request, int) {
			return func(w http.ResponseWriter, r *http.Request, n int) { reply(w, 202, `{"status":"pending"}`) }
		}, ErrProtocol},
		{"body cut mid-reply", func(t *testing.T) func(http.ResponseWriter, *http.Request, int) {
			return func(w http.ResponseWriter, r *http.Request, n int) {
				w.Header().Set("Content-Length", "100")
				w.WriteHeader(202)
				io.WriteString(w, `{"id":"G-`)
				w.(http.Flusher).Flush()
				resetConnection(t, w)
			}
		}, ErrTransient},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newGateway(t, tt.handler(t))
			_, err := g.client(WithTimeout(200*time.Millisecond)).Create(t.Context(), CreateRequest{Model: "m", Prompt: "p"})
			if !errors.Is(err, ErrAmbiguousCreate) || !errors.Is(err, tt.extraIs) {
				t.Errorf("err = %v, want ErrAmbiguousCreate and %v", err, tt.extraIs)
			}
			if got := len(g.requests()); got != 1 {
				t.Errorf("create requests reaching the server = %d, want exactly 1", got)
			}
			if got := len(g.waits()); got != 0 {
				t.Errorf("create backed off %d times; it must never retry", got)
			}
		})
	}
}

func TestCreateCallerCancelIsAmbiguous(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	g := newGateway(t, func(w http.ResponseWriter, r *http.Request, n int) {
		cancel()
		hang(r)
	})
	_, err := g.client().Create(ctx, CreateRequest{Model: "m", Prompt: "p"})
	if !errors.Is(err, ErrAmbiguousCreate) || !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want ErrAmbiguousCreate wrapping context.Canceled", err)
	}
}

func TestCreateDialFailureIsDefinite(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	_, err = New("http://"+addr, testKey).Create(t.Context(), CreateRequest{Model: "m", Prompt: "p"})
	if err == nil || errors.Is(err, ErrAmbiguousCreate) || !errors.Is(err, ErrTransient) {
		t.Errorf("err = %v, want a transient error that is not ambiguous (nothing was sent)", err)
	}
}

func TestCreateValidationSendsNothing(t *testing.T) {
	g := newGateway(t, func(w http.ResponseWriter, r *http.Request, n int) { reply(w, 202, `{"id":"G-1"}`) })
	_, err := g.client().Create(t.Context(), CreateRequest{Model: "m", Prompt: "p", Size: "1280x720", Resolution: "720p"})
	var ve *ValidationError
	if !errors.As(err, &ve) || ve.Field != "size" {
		t.Errorf("err = %v, want *ValidationError on size", err)
	}
	if got := len(g.requests()); got != 0 {
		t.Errorf("requests = %d, want 0", got)
	}
}

func TestGetRetriesTransientFailuresThenSucceeds(t *testing.T) {
	g := newGateway(t, func(w http.ResponseWriter, r *http.Request, n int) {
		switch n {
		case 0:
			reply(w, 502, `{"error":"upstream_error"}`)
		case 1:
			hang(r) // per-attempt timeout
		case 2:
			resetConnection(t, w)
		case 3:
			w.WriteHeader(503)
			io.WriteString(w, "upstream connect error")
		default:
			reply(w, 200, `{"id":"G-1","status":"in_progress","progress":30}`)
		}
	})
	v, err := g.client(WithTimeout(200*time.Millisecond)).Get(t.Context(), "G-1")
	if err != nil {
		t.Fatal(err)
	}
	if v.Status != StatusProcessing || v.Progress == nil || *v.Progress != 30 {
		t.Errorf("video = %+v", v)
	}
	reqs := g.requests()
	if len(reqs) != 5 {
		t.Fatalf("requests = %d, want 5", len(reqs))
	}
	for _, r := range reqs {
		if r.Method != "GET" || r.Path != "/v1/videos/G-1" || r.Auth != "Bearer "+testKey {
			t.Errorf("request = %s %s with bearer %v", r.Method, r.Path, r.Auth != "")
		}
	}
	waits := g.waits()
	if len(waits) != 4 {
		t.Fatalf("waits = %v, want 4", waits)
	}
	for n, w := range waits {
		if ceiling := time.Second << n; w < 0 || w > ceiling {
			t.Errorf("wait %d = %v, want in [0, %v]", n, w, ceiling)
		}
	}
}

func TestRetryAfterHonoured(t *testing.T) {
	tests := []struct {
		name       string
		retryAfter string
		want       time.Duration
	}{
		{"delta seconds", "3", 3 * time.Second},
		{"http date", testNow.Add(7 * time.Second).Format(http.TimeFormat), 7 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newGateway(t, func(w http.ResponseWriter, r *http.Request, n int) {
				if n == 0 {
					w.Header().Set("Retry-After", tt.retryAfter)
					reply(w, 503, `{"error":"gateway_error"}`)
					return
				}
				reply(w, 200, `{"id":"G-1","status":"queued"}`)
			})
			if _, err := g.client().Get(t.Context(), "G-1"); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(g.waits(), []time.Duration{tt.want}); diff != "" {
				t.Errorf("waits (-got +want):\n%s", diff)
			}
		})
	}
}

func TestLongServerPauseEndsTheCall(t *testing.T) {
	g := newGateway(t, func(w http.ResponseWriter, r *http.Request, n int) {
		w.Header().Set("Retry-After", "120")
		reply(w, 429, `{"error":"rate_limited"}`)
	})
	_, err := g.client().Get(t.Context(), "G-1")
	if got, ok := RetryAfter(err, testNow); !ok || got != 120*time.Second {
		t.Errorf("RetryAfter(err) = %v, %v; want 2m0s", got, ok)
	}
	if len(g.requests()) != 1 || len(g.waits()) != 0 {
		t.Errorf("requests = %d, waits = %v; want 1 request and no in-call wait", len(g.requests()), g.waits())
	}
}

func TestRetriesStopAtContextDeadline(t *testing.T) {
	g := newGateway(t, func(w http.ResponseWriter, r *http.Request, n int) {
		w.Header().Set("Retry-After", "10")
		reply(w, 503, `{"error":"gateway_error"}`)
	})
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
	defer cancel()
	_, err := g.client().Get(ctx, "G-1")
	if !errors.Is(err, ErrTransient) {
		t.Errorf("err = %v, want the last transient error", err)
	}
	if len(g.requests()) != 1 || len(g.waits()) != 0 {
		t.Errorf("requests = %d, waits = %v; a wait past the deadline must not start", len(g.requests()), g.waits())
	}
}

func TestRetryPolicyCapAndDisable(t *testing.T) {
	fail := func(w http.ResponseWriter, r *http.Request, n int) { reply(w, 500, `{"error":"gateway_error"}`) }

	g := newGateway(t, fail)
	_, _ = g.client(WithRetryPolicy(RetryPolicy{MaxRetries: 7})).Get(t.Context(), "G-1")
	if len(g.requests()) != 8 {
		t.Errorf("requests = %d, want 8", len(g.requests()))
	}
	for n, w := range g.waits() {
		if w > 8*time.Second {
			t.Errorf("wait %d = %v exceeds the 8s cap", n, w)
		}
	}

	g = newGateway(t, fail)
	_, _ = g.client(WithRetryPolicy(RetryPolicy{MaxRetries: 0})).Get(t.Context(), "G-1")
	if len(g.requests()) != 1 {
		t.Errorf("requests with retries disabled = %d, want 1", len(g.requests()))
	}
}

func TestBackoffFullJitter(t *testing.T) {
	c := New("", testKey, WithRand(rand.New(rand.NewPCG(7, 8))))
	for n := range 8 {
		ceiling := min(time.Second<<n, 8*time.Second)
		var top time.Duration
		for range 500 {
			d := c.backoff(n)
			if d < 0 || d > ceiling {
				t.Fatalf("backoff(%d) = %v, want in [0, %v]", n, d, ceiling)
			}
			top = max(top, d)
		}
		// Full jitter spreads over the whole range, not just near zero.
		if top < ceiling/2 {
			t.Errorf("backoff(%d) never exceeded %v in 500 draws (max %v)", n, ceiling/2, top)
		}
	}
}

func TestCallerCancelStopsRetries(t *testing.T) {
	g := newGateway(t, func(w http.ResponseWriter, r *http.Request, n int) { reply(w, 502, `{"error":"upstream_error"}`) })
	ctx, cancel := context.WithCancel(t.Context())
	c := g.client(WithSleep(func(ctx context.Context, d time.Duration) error {
		cancel()
		return context.Canceled
	}))
	_, err := c.Get(ctx, "G-1")
	if err == nil || len(g.requests()) != 1 {
		t.Errorf("err = %v, requests = %d; want an error after 1 request", err, len(g.requests()))
	}
}

func TestList(t *testing.T) {
	g := newGateway(t, func(w http.ResponseWriter, r *http.Request, n int) {
		reply(w, 200, string(readFixture(t, "videos/list.json")))
	})
	l, err := g.client().List(t.Context(), ListOptions{Limit: 50, Statuses: []Status{StatusQueued, StatusProcessing}})
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Data) != 3 {
		t.Errorf("items = %d, want 3", len(l.Data))
	}
	r := g.requests()[0]
	if r.Path != "/v1/videos" || r.RawQuery != "limit=50&status=queued%2Cprocessing" || r.Auth != "Bearer "+testKey {
		t.Errorf("request = %s?%s", r.Path, r.RawQuery)
	}
}

func TestDelete(t *testing.T) {
	tests := []struct {
		name     string
		replies  []errorRow
		wantErr  error
		requests int
	}{
		{"deleted", []errorRow{{status: 200, body: `{"id":"G-1","object":"video","deleted":true}`}}, nil, 1},
		{"already deleted counts as done", []errorRow{{status: 404, body: `{"error":"not_found","reason":"video_deleted"}`}}, nil, 1},
		{"retried after 502 then deleted", []errorRow{{status: 502, body: `{"error":"upstream_error"}`},
			{status: 404, body: `{"error":"not_found","reason":"video_deleted"}`}}, nil, 2},
		{"unknown video", []errorRow{{status: 404, body: `{"error":"not_found","reason":"video_not_found_or_not_owned"}`}}, ErrNotFound, 1},
		{"not terminal", []errorRow{{status: 400, body: `{"error":"validation_error","reason":"video_delete_requires_terminal_status"}`}}, ErrInvalidRequest, 1},
		{"feature off", []errorRow{{status: 501, body: `{"error":"not_implemented_yet"}`}}, ErrFeatureOff, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newGateway(t, func(w http.ResponseWriter, r *http.Request, n int) {
				row := tt.replies[min(n, len(tt.replies)-1)]
				reply(w, row.status, row.body)
			})
			err := g.client().Delete(t.Context(), "G-1")
			if tt.wantErr == nil && err != nil || tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("Delete() = %v, want %v", err, tt.wantErr)
			}
			reqs := g.requests()
			if len(reqs) != tt.requests || reqs[0].Method != "DELETE" || reqs[0].Path != "/v1/videos/G-1" {
				t.Errorf("requests = %+v, want %d DELETE /v1/videos/G-1", reqs, tt.requests)
			}
		})
	}
}

func TestCancel(t *testing.T) {
	tests := []struct {
		name, body string
		status     int
		wantErr    error
		requests   int
	}{
		{"cancelled", `{"id":"G-1","status":"cancelled","cancel_url":null}`, 200, nil, 1},
		{"provider unsupported is final", `{"error":"not_implemented_yet","reason":"video_cancel_provider_not_supported"}`, 501, ErrFeatureOff, 1},
		{"already terminal", `{"error":"validation_error","reason":"video_cancel_requires_non_terminal_status"}`, 400, ErrInvalidRequest, 1},
		{"transient retried", `{"error":"gateway_error"}`, 500, ErrTransient, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newGateway(t, func(w http.ResponseWriter, r *http.Request, n int) { reply(w, tt.status, tt.body) })
			v, err := g.client().Cancel(t.Context(), "G-1")
			if tt.wantErr == nil {
				if err != nil || v.Status != StatusCancelled {
					t.Errorf("Cancel() = %+v, %v", v, err)
				}
			} else if !errors.Is(err, tt.wantErr) {
				t.Errorf("Cancel() error = %v, want %v", err, tt.wantErr)
			}
			reqs := g.requests()
			if len(reqs) != tt.requests || reqs[0].Method != "POST" || reqs[0].Path != "/v1/videos/G-1/cancel" {
				t.Errorf("requests = %d %s %s", len(reqs), reqs[0].Method, reqs[0].Path)
			}
		})
	}
}

func TestDownloadURLThenSignedContent(t *testing.T) {
	g := newGateway(t, func(w http.ResponseWriter, r *http.Request, n int) {
		switch r.URL.Path {
		case "/v1/videos/G-1/download_url":
			reply(w, 200, `{"download_url":"/v1/videos/G-1/content?download_token=tok&download_sig=sig&expires_at=1781712900&index=1","expires_at":1781712900}`)
		case "/v1/videos/G-1/content":
			w.Header().Set("Content-Type", "video/mp4")
			io.WriteString(w, "mp4bytes")
		default:
			reply(w, 404, `{"error":"not_found"}`)
		}
	})
	c := g.client()
	d, err := c.DownloadURL(t.Context(), "G-1", DownloadURLRequest{Index: 1, TTLSeconds: 900})
	if err != nil {
		t.Fatal(err)
	}
	wantURL := g.srv.URL + "/v1/videos/G-1/content?download_token=tok&download_sig=sig&expires_at=1781712900&index=1"
	if d.URL != wantURL || !d.ExpiresAt.Equal(time.Unix(1781712900, 0)) {
		t.Errorf("DownloadURL = %+v", d)
	}
	ct, err := c.ContentURL(t.Context(), d.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer ct.Body.Close()
	body, err := io.ReadAll(ct.Body)
	if err != nil || string(body) != "mp4bytes" || ct.ContentType != "video/mp4" || ct.Length != 8 {
		t.Errorf("content = %q %q %d, %v", body, ct.ContentType, ct.Length, err)
	}
	reqs := g.requests()
	if reqs[0].Method != "POST" || reqs[0].Body != `{"index":1,"ttl_seconds":900}` || reqs[0].Auth != "Bearer "+testKey {
		t.Errorf("download_url request = %+v", reqs[0])
	}
	if reqs[1].Auth != "" || reqs[1].RawQuery != "download_token=tok&download_sig=sig&expires_at=1781712900&index=1" {
		t.Errorf("signed fetch auth %q query %q: the API key must not be sent", reqs[1].Auth, reqs[1].RawQuery)
	}
}

func TestSignedURLKeptOutOfErrors(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	c := New("http://"+addr, testKey, WithRetryPolicy(RetryPolicy{MaxRetries: 0}))
	_, err = c.ContentURL(t.Context(), "http://"+addr+"/v1/videos/G-1/content?download_token=tok&download_sig=SIGSECRET")
	if err == nil || strings.Contains(err.Error(), "SIGSECRET") {
		t.Errorf("err = %v, want an error without the signature", err)
	}
}

func TestAPIKeyNeverInErrorsOrPrints(t *testing.T) {
	g := newGateway(t, func(w http.ResponseWriter, r *http.Request, n int) {
		// A misbehaving gateway echoing our credentials back.
		if n%2 == 0 {
			reply(w, 401, `{"error":"unauthorised","reason":"invalid_secret","description":"bad header `+r.Header.Get("Authorization")+`","upstream_error":{"message":"`+testKey+`"}}`)
			return
		}
		w.WriteHeader(400)
		io.WriteString(w, "key="+testKey)
	})
	c := g.client()
	_, err1 := c.Get(t.Context(), "G-1")
	_, err2 := c.Get(t.Context(), "G-1")
	for _, s := range []string{err1.Error(), err2.Error(), fmt.Sprintf("%v %+v %#v %s", c, c, c, c)} {
		if strings.Contains(s, "verysecretpart") {
			t.Errorf("%q leaks the API key", s)
		}
	}
	var ae *APIError
	if errors.As(err1, &ae) && strings.Contains(ae.UpstreamMessage, "verysecretpart") {
		t.Errorf("UpstreamMessage %q leaks the API key", ae.UpstreamMessage)
	}
}

func TestFindByWebhookURL(t *testing.T) {
	const want = "https://hooks.example/webhooks/ai-stats?job=vj_1"
	item := func(id, url string, extra string) string {
		return `{"id":"` + id + `","status":"queued","webhook":{"url":"` + url + `"}` + extra + `}`
	}
	tests := []struct {
		name    string
		items   []string
		wantID  string
		wantErr error
	}{
		{"one match", []string{item("G-2", want+"x", ""), item("G-1", want, "")}, "G-1", nil},
		{"tombstone skipped", []string{item("G-9", want, `,"deleted":true`), item("G-1", want, "")}, "G-1", nil},
		{"none", []string{item("G-2", "https://hooks.example/webhooks/ai-stats?job=vj_2", ""), `{"id":"G-3","status":"queued"}`}, "", ErrNotFound},
		{"only a tombstone", []string{item("G-9", want, `,"status":"deleted"`)}, "", ErrNotFound},
		{"several", []string{item("G-1", want, ""), item("G-2", want, "")}, "", ErrMultipleMatches},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newGateway(t, func(w http.ResponseWriter, r *http.Request, n int) {
				reply(w, 200, `{"object":"list","data":[`+strings.Join(tt.items, ",")+`],"has_more":false}`)
			})
			v, err := g.client().FindByWebhookURL(t.Context(), want)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Errorf("err = %v, want %v", err, tt.wantErr)
				}
			} else if err != nil || v.ID != tt.wantID {
				t.Errorf("FindByWebhookURL = %+v, %v; want %s", v, err, tt.wantID)
			}
			if r := g.requests()[0]; r.Path != "/v1/videos" || r.RawQuery != "limit=50" {
				t.Errorf("request = %s?%s, want /v1/videos?limit=50", r.Path, r.RawQuery)
			}
		})
	}
	t.Run("several lists the ids", func(t *testing.T) {
		g := newGateway(t, func(w http.ResponseWriter, r *http.Request, n int) {
			reply(w, 200, `{"data":[`+item("G-1", want, "")+`,`+item("G-2", want, "")+`]}`)
		})
		_, err := g.client().FindByWebhookURL(t.Context(), want)
		var me *MultipleMatchesError
		if !errors.As(err, &me) || !cmp.Equal(me.IDs, []string{"G-1", "G-2"}) {
			t.Errorf("err = %v, want *MultipleMatchesError{G-1 G-2}", err)
		}
	})
}

func TestBaseURL(t *testing.T) {
	g := newGateway(t, func(w http.ResponseWriter, r *http.Request, n int) { reply(w, 200, `{"id":"G 1"}`) })
	c := New(g.srv.URL+"/prefix/", testKey)
	if _, err := c.Get(t.Context(), "G 1"); err != nil {
		t.Fatal(err)
	}
	if got := g.requests()[0].Path; got != "/prefix/v1/videos/G%201" {
		t.Errorf("path = %q, want /prefix/v1/videos/G%%201", got)
	}
	if _, err := c.Get(t.Context(), ""); !errors.Is(err, ErrInvalidRequest) {
		t.Errorf("empty id: err = %v, want ErrInvalidRequest", err)
	}
	for _, bad := range []string{"ftp://x", "not a url", "https://user:pw@x", "https://x?q=1", "/relative"} {
		c := New(bad, testKey)
		if c.Err() == nil {
			t.Errorf("New(%q).Err() = nil, want an error", bad)
		}
		if _, err := c.Get(t.Context(), "G-1"); err == nil {
			t.Errorf("Get on New(%q) succeeded", bad)
		}
	}
	if err := New("", testKey).Err(); err != nil {
		t.Errorf("default base url: %v", err)
	}
	if err := New("", "").Err(); err == nil {
		t.Errorf("empty key: Err() = nil")
	}
}
