package aistats

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var testNow = time.Date(2026, 6, 17, 16, 0, 0, 0, time.UTC)

func TestParseAPIErrorShapes(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		header  http.Header
		fixture string
		body    string
		want    *APIError
	}{
		{
			name: "gateway envelope with validation details", status: 400, fixture: "errors/validation.json",
			want: &APIError{HTTPStatus: 400, Code: "validation_error", Reason: "invalid_request_body", Message: "Invalid request",
				Type: "user", Origin: "gateway", GenerationID: "gen_9", RequestID: "req_9",
				Details: []ValidationDetail{
					{Message: "size conflicts with resolution", Path: []string{"size"}, Keyword: "custom"},
					{Message: "bad", Path: []string{"input_references", "0", "role"}, Keyword: "enum"},
				}},
		},
		{
			name: "key limit with reset_at", status: 429, fixture: "errors/key_limit.json",
			want: &APIError{HTTPStatus: 429, Code: "key_limit_exceeded", Reason: "daily_spend_limit", Message: "Key spend limit reached",
				ResetAt: time.Date(2026, 6, 18, 0, 0, 0, 0, time.UTC), LimitWindow: "day", LimitMetric: "cost"},
		},
		{
			name: "provider 429 behind a 502", status: 502, fixture: "errors/upstream_rate_limited.json",
			want: &APIError{HTTPStatus: 502, Code: "upstream_error", Reason: "all_providers_failed", Type: "system", Origin: "upstream",
				UpstreamStatus: 429, UpstreamCode: "rate_limit", UpstreamMessage: "slow down", AttemptCount: 2,
				FailedProviders: []string{"openai", "azure"}, FailedStatuses: []int{429, 429}, FailureCategory: "rate_limited"},
		},
		{
			name: "openai-compatible passthrough", status: 429, fixture: "errors/openai.json",
			want: &APIError{HTTPStatus: 429, Code: "rate_limit_exceeded", Type: "requests", Message: "Rate limit reached for requests"},
		},
		{
			name: "openai-compatible without code falls back to type", status: 400,
			body: `{"error":{"message":"bad size","type":"invalid_request_error","code":null}}`,
			want: &APIError{HTTPStatus: 400, Code: "invalid_request_error", Type: "invalid_request_error", Message: "bad size"},
		},
		{
			name: "websocket 426 nested object", status: 426, fixture: "errors/websocket_426.json",
			want: &APIError{HTTPStatus: 426, Code: "websocket_upgrade_required", Message: "Upgrade: websocket required"},
		},
		{
			name: "persistence failure carries provider ids", status: 502, fixture: "errors/persistence_failed.json",
			want: &APIError{HTTPStatus: 502, Code: "upstream_error", Reason: "async_job_persistence_failed",
				Message: "job submitted but not tracked", NativeVideoID: "op-77", ReservationID: "res_77"},
		},
		{
			name: "non-json infrastructure body", status: 502, fixture: "errors/nonjson.html",
			header: http.Header{"Retry-After": {"7"}},
			want: &APIError{HTTPStatus: 502, NonJSON: true, RetryAfter: 7 * time.Second,
				Message: "<html><head><title>502 Bad Gateway</title></head><body>upstream connect error</body></html>"},
		},
		{
			name: "empty body", status: 503,
			want: &APIError{HTTPStatus: 503, NonJSON: true},
		},
		{
			name: "numeric code rendered as text", status: 400, body: `{"error":{"code":400,"message":"x"}}`,
			want: &APIError{HTTPStatus: 400, Code: "400", Message: "x"},
		},
		{
			name: "diagnostics as a list", status: 502,
			body: `{"error":"upstream_error","provider_failure_diagnostics":[{"category":"timeout"},{"category":"rate_limited"}]}`,
			want: &APIError{HTTPStatus: 502, Code: "upstream_error", FailureCategory: "rate_limited"},
		},
		{
			name: "upstream_error as a string", status: 502, body: `{"error":"upstream_error","upstream_error":"boom"}`,
			want: &APIError{HTTPStatus: 502, Code: "upstream_error", UpstreamMessage: "boom"},
		},
		{
			name: "secrets scrubbed from messages", status: 401,
			body: `{"error":"unauthorised","reason":"invalid_secret","description":"key aistats_v1_sk_kid_s3cr3t rejected; sent Bearer abc.def"}`,
			want: &APIError{HTTPStatus: 401, Code: "unauthorised", Reason: "invalid_secret", Message: "key [redacted] rejected; sent [redacted]"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := []byte(tt.body)
			if tt.fixture != "" {
				body = readFixture(t, tt.fixture)
			}
			got := ParseAPIError(tt.status, tt.header, body, testNow)
			if diff := cmp.Diff(got, tt.want, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("ParseAPIError (-got +want):\n%s", diff)
			}
		})
	}
}

func TestAPIErrorRateLimited(t *testing.T) {
	tests := []struct {
		name string
		e    APIError
		want bool
	}{
		{"429 any body", APIError{HTTPStatus: 429}, true},
		{"502 with 429 in failed_statuses", APIError{HTTPStatus: 502, FailedStatuses: []int{500, 429}}, true},
		{"502 with category rate_limited", APIError{HTTPStatus: 502, FailureCategory: "rate_limited"}, true},
		{"502 with upstream_status 429", APIError{HTTPStatus: 502, UpstreamStatus: 429}, true},
		{"502 plain", APIError{HTTPStatus: 502, FailedStatuses: []int{500}}, false},
		{"400 mentioning 429 is still a 400", APIError{HTTPStatus: 400, FailedStatuses: []int{429}}, false},
		{"501 never rate limited", APIError{HTTPStatus: 501, FailureCategory: "rate_limited"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.e.RateLimited(); got != tt.want {
				t.Errorf("RateLimited() = %v, want %v", got, tt.want)
			}
			if got := errors.Is(&tt.e, ErrRateLimited); got != tt.want {
				t.Errorf("errors.Is(ErrRateLimited) = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestAPIErrorWait(t *testing.T) {
	tests := []struct {
		name string
		e    APIError
		want time.Duration
	}{
		{"nothing asked", APIError{HTTPStatus: 503}, 0},
		{"retry-after", APIError{HTTPStatus: 429, RetryAfter: 3 * time.Second}, 3 * time.Second},
		{"reset_at later than retry-after", APIError{HTTPStatus: 429, RetryAfter: time.Second, ResetAt: testNow.Add(time.Minute)}, time.Minute},
		{"reset_at in the past", APIError{HTTPStatus: 429, ResetAt: testNow.Add(-time.Minute)}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.e.Wait(testNow); got != tt.want {
				t.Errorf("Wait() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestParseRetryAfter(t *testing.T) {
	tests := []struct {
		in     string
		want   time.Duration
		wantOK bool
	}{
		{"0", 0, true},
		{"5", 5 * time.Second, true},
		{" 120 ", 120 * time.Second, true},
		{"99999999999999", 365 * 24 * time.Hour, true},
		{testNow.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{"Wed, 17 Jun 2026 16:00:30 GMT", 30 * time.Second, true},
		{"Wednesday, 17-Jun-26 16:00:30 GMT", 30 * time.Second, true}, // RFC 850, still legal
		{"Wed Jun 17 16:00:30 2026", 30 * time.Second, true},          // ANSI C asctime
		{testNow.Add(-time.Hour).Format(http.TimeFormat), 0, true},
		{"", 0, false},
		{"-5", 0, false},
		{"1.5", 0, false},
		{"soon", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, ok := ParseRetryAfter(tt.in, testNow)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("ParseRetryAfter(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestAPIErrorStringHasNoSecrets(t *testing.T) {
	e := ParseAPIError(400, nil, []byte(`{"error":"aistats_v1_sk_kid_secret","reason":"Bearer xyz","description":"d"}`), testNow)
	got := e.Error()
	if strings.Contains(got, "secret") || strings.Contains(got, "xyz") {
		t.Errorf("Error() = %q leaks a credential", got)
	}
}

func TestTemporary(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"502", &APIError{HTTPStatus: 502}, true},
		{"429", &APIError{HTTPStatus: 429}, true},
		{"409 not ready", &APIError{HTTPStatus: 409, Code: "not_ready"}, true},
		{"501", &APIError{HTTPStatus: 501}, false},
		{"404", &APIError{HTTPStatus: 404}, false},
		{"transport", &transportError{err: errors.New("reset")}, true},
		{"ambiguous create", &ambiguousError{cause: &APIError{HTTPStatus: 502}}, false},
		{"validation", &ValidationError{Field: "model", Problem: "required"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Temporary(tt.err); got != tt.want {
				t.Errorf("Temporary(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}
