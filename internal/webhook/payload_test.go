package webhook

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

// completedPayload returns a realistic video.completed body of exactly size
// bytes: the whole data shape of provider-contract.md §6.2 with the
// gateway's list of recent delivery attempts (its bulk in real deliveries),
// padded through the last attempt's response preview. Unknown keys abound on
// purpose: Parse must step over them.
func completedPayload(size int) []byte {
	const head = `{"id":"evt_video_G-01JZ8Q3V4X5Y6Z7A8B9C0D1E2F_video_completed","type":"video.completed","created_at":1781712000,` +
		`"delivery":{"key":"video.completed","attempt":2,"max_attempts":4},` +
		`"data":{"id":"G-01JZ8Q3V4X5Y6Z7A8B9C0D1E2F","object":"video","kind":"video","status":"completed","lifecycle_status":"completed",` +
		`"request_id":"req_01JZ8Q3V4X5Y6Z7A8B9C0D1E2F","native_id":"projects/p/locations/us-central1/operations/1234567890","session_id":null,"app_id":null,` +
		`"progress":100,"provider":"google-vertex","model":"google/veo-3.1-lite",` +
		`"polling_url":"https://api.phaseo.app/v1/videos/G-01JZ8Q3V4X5Y6Z7A8B9C0D1E2F",` +
		`"websocket_url":"wss://api.phaseo.app/v1/async/video/G-01JZ8Q3V4X5Y6Z7A8B9C0D1E2F/ws","cancel_url":null,` +
		`"content_url":"https://api.phaseo.app/v1/videos/G-01JZ8Q3V4X5Y6Z7A8B9C0D1E2F/content",` +
		`"download_url":"https://api.phaseo.app/v1/videos/G-01JZ8Q3V4X5Y6Z7A8B9C0D1E2F/content?download_token=dt_abc&download_sig=0f1e2d3c4b5a&expires_at=1781712900",` +
		`"expires_at":1781712900,"duration_seconds":8,"resolution":"720p","quality":"standard","output_access":"both",` +
		`"latency_ms":1234,"generation_ms":45678,"total_duration_ms":46912,"duration_ms":46912,` +
		`"key_source":"gateway","byok_key_id":null,"reservation_id":"res_123","reservation_status":"settled",` +
		`"pricing_breakdown":{"total_nanos":400000000,"total_usd_str":"0.40"},` +
		`"billing":{"currency":"usd","estimated_user_cost":"0.40","settled_user_cost":"0.40","state":"settled","billable":true,"total_nanos":400000000},` +
		`"upstream_error":null,` +
		`"finalized_at":"2026-06-17T15:59:58.120Z","last_polled_at":"2026-06-17T15:59:58.000Z","polled_status":"completed",` +
		`"last_reconciled_at":null,"created_at":"2026-06-17T15:58:00.000Z","updated_at":"2026-06-17T15:59:58.120Z",` +
		`"next_webhook_retry_at":null,"last_webhook_progress":100,"last_webhook_progress_at":"2026-06-17T15:59:58.120Z",` +
		`"last_webhook_dispatched_at":"2026-06-17T16:00:00.000Z",` +
		`"webhook":{"url":"https://hooks.example.com/webhooks/ai-stats?job=vj_01jz8q3v4x5y6z7a8b9c0d1e2f",` +
		`"events":["job.completed","job.failed","job.cancelled","job.expired"],"has_secret":true,` +
		`"delivery":{"total_attempts":2,"delivered_events":0,"delivered_event_types":[],"pending_retries":1,` +
		`"next_retry_at":"2026-06-17T16:05:00.000Z","last_attempt_at":"2026-06-17T15:59:00.000Z","last_attempt_status":"scheduled_retry",` +
		`"last_response_status":503,"last_delivered_at":null,"last_failure_at":"2026-06-17T15:59:00.000Z",` +
		`"last_error_message":"HTTP 503: upstream \"busy\"\n"},` +
		`"attempts":[`
	const attempt = `{"id":"video.completed:1:2026-06-17T15:59:00.000Z","delivery_key":"video.completed","event_type":"video.completed",` +
		`"status":"scheduled_retry","attempt_number":1,"max_attempts":4,"tried_at":"2026-06-17T15:59:00.000Z","delivered_at":null,` +
		`"next_retry_at":"2026-06-17T16:00:00.000Z","response_status":503,"error_message":"HTTP 503","response_body_preview":"`
	const tail = `"}]}}}`
	var b strings.Builder
	b.WriteString(head)
	for b.Len()+2*len(attempt)+len(tail)+2 < size {
		b.WriteString(attempt)
		b.WriteString(`busy"},`)
	}
	b.WriteString(attempt)
	if pad := size - b.Len() - len(tail); pad > 0 {
		b.WriteString(strings.Repeat("x", pad))
	}
	b.WriteString(tail)
	return []byte(b.String())
}

func TestCompletedPayloadSize(t *testing.T) {
	if got := len(completedPayload(4096)); got != 4096 {
		t.Errorf("fixture is %d bytes, want 4096", got)
	}
}

func intp(n int) *int { return &n }

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		body string
		want *Delivery
	}{
		{
			name: vectors[0].name, body: vectors[0].body,
			want: &Delivery{
				ID: "evt_video_G-01JZ8Q3V4X5Y6Z7A8B9C0D1E2F_video_completed", Type: "video.completed", CreatedAt: 1781712000,
				Delivery: DeliveryInfo{Key: "video.completed", Attempt: 1, MaxAttempts: 4},
				Data:     Data{ID: "G-01JZ8Q3V4X5Y6Z7A8B9C0D1E2F", Object: "video", Status: "completed", LifecycleStatus: "completed"},
			},
		},
		{
			name: vectors[1].name, body: vectors[1].body,
			want: &Delivery{
				ID: "evt_video_G-01JZ8Q3V4X5Y6Z7A8B9C0D1E2F_video_progress_50", Type: "video.progress", CreatedAt: 1781712060,
				Delivery: DeliveryInfo{Key: "video.progress:50", Attempt: 2, MaxAttempts: 4},
				Data:     Data{ID: "G-01JZ8Q3V4X5Y6Z7A8B9C0D1E2F", Status: "processing", Progress: intp(50)},
			},
		},
		{
			name: vectors[2].name, body: vectors[2].body,
			want: &Delivery{
				ID: "evt_video_G-01JZ8Q3V4X5Y6Z7A8B9C0D1E2F_video_failed", Type: "video.failed",
				Data: Data{Status: "failed", UpstreamError: &UpstreamError{Message: "Contenu refus\u00e9 \u2014 \u5185\u5bb9\u88ab\u62d2\u7edd \u2717"}},
			},
		},
		{
			name: vectors[3].name, body: vectors[3].body,
			want: &Delivery{ID: "evt_video_G-01JZ8Q3V4X5Y6Z7A8B9C0D1E2F_video_created", Type: "video.created"},
		},
		{
			name: "full 4 KiB completed payload", body: string(completedPayload(4096)),
			want: &Delivery{
				ID: "evt_video_G-01JZ8Q3V4X5Y6Z7A8B9C0D1E2F_video_completed", Type: "video.completed", CreatedAt: 1781712000,
				Delivery: DeliveryInfo{Key: "video.completed", Attempt: 2, MaxAttempts: 4},
				Data: Data{
					ID: "G-01JZ8Q3V4X5Y6Z7A8B9C0D1E2F", Object: "video", Status: "completed", LifecycleStatus: "completed",
					NativeID: "projects/p/locations/us-central1/operations/1234567890", Progress: intp(100),
					Provider: "google-vertex", Model: "google/veo-3.1-lite",
					ContentURL:  "https://api.phaseo.app/v1/videos/G-01JZ8Q3V4X5Y6Z7A8B9C0D1E2F/content",
					DownloadURL: "https://api.phaseo.app/v1/videos/G-01JZ8Q3V4X5Y6Z7A8B9C0D1E2F/content?download_token=dt_abc&download_sig=0f1e2d3c4b5a&expires_at=1781712900",
					ExpiresAt:   1781712900,
					Webhook: WebhookState{
						URL: "https://hooks.example.com/webhooks/ai-stats?job=vj_01jz8q3v4x5y6z7a8b9c0d1e2f",
						Delivery: DeliverySummary{
							TotalAttempts: 2, PendingRetries: 1, NextRetryAt: "2026-06-17T16:05:00.000Z",
							LastAttemptAt: "2026-06-17T15:59:00.000Z", LastAttemptStatus: "scheduled_retry", LastResponseStatus: 503,
							LastFailureAt: "2026-06-17T15:59:00.000Z", LastErrorMessage: "HTTP 503: upstream \"busy\"\n",
						},
					},
					UpdatedAt: "2026-06-17T15:59:58.120Z", FinalizedAt: "2026-06-17T15:59:58.120Z",
				},
			},
		},
		{
			name: "status_changed (phaseo variant)",
			body: `{"id":"evt_1","type":"job.status_changed","data":{"status":"in_progress","status_change":{"previous_status":"queued","status":"in_progress"}}}`,
			want: &Delivery{
				ID: "evt_1", Type: "job.status_changed",
				Data: Data{Status: "in_progress", StatusChange: &StatusChange{PreviousStatus: "queued", Status: "in_progress"}},
			},
		},
		{
			name: "upstream_error with numeric code and status",
			body: `{"id":"e","type":"video.failed","data":{"upstream_error":{"code":400,"type":"invalid_request_error","message":"bad","description":null,"param":"prompt","status":"INVALID_ARGUMENT"}}}`,
			want: &Delivery{ID: "e", Type: "video.failed", Data: Data{UpstreamError: &UpstreamError{
				Code: "400", Type: "invalid_request_error", Message: "bad", Param: "prompt", Status: "INVALID_ARGUMENT",
			}}},
		},
		{
			name: "whitespace and unknown keys of every kind",
			body: " \r\n\t{ \"x\" : [1, -2.5e+3, true, false, null, {\"y\": [[], {}]}, \"s\"] , \"id\" : \"e\" ,\n\"type\":\"video.created\", \"z\":{} } \n",
			want: &Delivery{ID: "e", Type: "video.created"},
		},
		{
			name: "escapes decoded, in keys too",
			body: `{"\u0069d":"e\"1\\\/\u00e9\ud83d\ude00","type":"video.created","data":{"cancel_url":"https:\/\/api.phaseo.app\/v1\/videos\/G-1\/cancel"}}`,
			want: &Delivery{ID: "e\"1\\/\u00e9\U0001F600", Type: "video.created", Data: Data{CancelURL: "https://api.phaseo.app/v1/videos/G-1/cancel"}},
		},
		{
			name: "nulls and wrong types leave zero values",
			body: `{"id":"e","type":"video.progress","created_at":"1781712000","delivery":[1],` +
				`"data":{"status":7,"progress":null,"expires_at":1.5e9,"webhook":{"delivery":{"total_attempts":"2","last_response_status":null}},` +
				`"upstream_error":"boom","status_change":null,"updated_at":true}}`,
			want: &Delivery{ID: "e", Type: "video.progress"},
		},
		{
			name: "non-integer and out-of-range numbers are absent",
			body: `{"id":"e","type":"video.progress","created_at":99999999999999999999,"data":{"progress":50.5}}`,
			want: &Delivery{ID: "e", Type: "video.progress"},
		},
		{
			name: "repeated key: the last value wins whole",
			body: `{"id":"a","type":"video.progress","id":"b","data":{"status":"queued","progress":5},"data":{"progress":10}}`,
			want: &Delivery{ID: "b", Type: "video.progress", Data: Data{Progress: intp(10)}},
		},
		{
			name: "keys are case-sensitive",
			body: `{"id":"e","type":"video.created","ID":"other","Type":"video.failed"}`,
			want: &Delivery{ID: "e", Type: "video.created"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse([]byte(tc.body))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if diff := cmp.Diff(got, tc.want); diff != "" {
				t.Errorf("Parse (-got +want):\n%s", diff)
			}
		})
	}
}

func TestParseMalformed(t *testing.T) {
	// Every body carries the marker; no error may quote it.
	const marker = "SECRETMARKER"
	tests := []struct {
		name string
		body string
	}{
		{"V5 empty object: no id", `{}`},
		{"empty body", ``},
		{"not json", `SECRETMARKER=1`},
		{"array", `["SECRETMARKER"]`},
		{"string", `"SECRETMARKER"`},
		{"null", `null`},
		{"missing type", `{"id":"SECRETMARKER"}`},
		{"missing id", `{"type":"SECRETMARKER"}`},
		{"empty id", `{"id":"","type":"SECRETMARKER"}`},
		{"numeric id", `{"id":1,"type":"SECRETMARKER"}`},
		{"null type", `{"id":"SECRETMARKER","type":null}`},
		{"truncated", `{"id":"e","type":"SECRETMARKER"`},
		{"truncated in a string", `{"id":"e","type":"SECRETMARKER`},
		{"trailing comma", `{"id":"e","type":"SECRETMARKER",}`},
		{"trailing data", `{"id":"e","type":"SECRETMARKER"} {}`},
		{"two documents", `{"id":"e","type":"SECRETMARKER"}{"id":"f","type":"t"}`},
		{"single quotes", `{'id':'e','type':'SECRETMARKER'}`},
		{"unquoted key", `{id:"e","type":"SECRETMARKER"}`},
		{"missing colon", `{"id" "e","type":"SECRETMARKER"}`},
		{"control character in a string", "{\"id\":\"e\n\",\"type\":\"SECRETMARKER\"}"},
		{"bad escape", `{"id":"e\x","type":"SECRETMARKER"}`},
		{"short unicode escape", `{"id":"e\u12","type":"SECRETMARKER"}`},
		{"leading zero", `{"id":"e","type":"SECRETMARKER","created_at":01}`},
		{"bare minus", `{"id":"e","type":"SECRETMARKER","created_at":-}`},
		{"fraction without digits", `{"id":"e","type":"SECRETMARKER","created_at":1.}`},
		{"exponent without digits", `{"id":"e","type":"SECRETMARKER","created_at":1e+}`},
		{"plus sign", `{"id":"e","type":"SECRETMARKER","created_at":+1}`},
		{"bad literal", `{"id":"e","type":"SECRETMARKER","x":nul}`},
		{"unclosed array in an unknown key", `{"id":"e","type":"SECRETMARKER","x":[1,2}`},
		{"byte order mark", "\uFEFF{\"id\":\"e\",\"type\":\"SECRETMARKER\"}"},
		{"nesting beyond encoding/json's limit", `{"id":"e","type":"SECRETMARKER","x":` + strings.Repeat("[", maxDepth) + strings.Repeat("]", maxDepth) + `}`},
		{"over MaxBodyBytes", `{"id":"e","type":"SECRETMARKER","x":"` + strings.Repeat("a", MaxBodyBytes) + `"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse([]byte(tc.body))
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("Parse = %+v, %v; want an error wrapping ErrMalformed", got, err)
			}
			if strings.Contains(err.Error(), marker) {
				t.Errorf("error %q quotes the body", err)
			}
		})
	}
}

func TestParseDepthLimitMatchesEncodingJSON(t *testing.T) {
	nested := func(levels int) []byte {
		// levels counts the payload object itself.
		return []byte(`{"id":"e","type":"t","x":` + strings.Repeat("[", levels-1) + strings.Repeat("]", levels-1) + `}`)
	}
	for _, tc := range []struct {
		levels int
		valid  bool
	}{{maxDepth, true}, {maxDepth + 1, false}} {
		body := nested(tc.levels)
		if json.Valid(body) != tc.valid {
			t.Fatalf("json.Valid at %d levels = %t; the limit moved", tc.levels, !tc.valid)
		}
		if _, err := Parse(body); (err == nil) != tc.valid {
			t.Errorf("Parse at %d levels: error %v, want valid=%t like encoding/json", tc.levels, err, tc.valid)
		}
	}
}

func TestEventPhase(t *testing.T) {
	tests := []struct {
		typ  string
		want Phase
	}{
		{"video.created", PhaseCreated},
		{"job.created", PhaseCreated},
		{"video.progress", PhaseProgress},
		{"video.completed", PhaseCompleted},
		{"job.completed", PhaseCompleted},
		{"VIDEO.Completed", PhaseCompleted},
		{"video.failed", PhaseFailed},
		{"job.failed", PhaseFailed},
		{"video.cancelled", PhaseCancelled},
		{"job.canceled", PhaseCancelled},
		{"video.expired", PhaseExpired},
		{"job.status_changed", PhaseStatusChanged},
		{"video.status_changed", PhaseStatusChanged},
		{"batch.completed", PhaseUnknown},
		{"completed", PhaseUnknown},
		{"video.", PhaseUnknown},
		{"video.deleted", PhaseUnknown},
		{"video.unknown", PhaseUnknown},
		{"", PhaseUnknown},
	}
	for _, tc := range tests {
		t.Run(tc.typ, func(t *testing.T) {
			d := &Delivery{Type: tc.typ}
			if got := d.EventPhase(); got != tc.want {
				t.Errorf("EventPhase(%q) = %s, want %s", tc.typ, got, tc.want)
			}
		})
	}
}

func TestParseStringsDecodeLikeEncodingJSON(t *testing.T) {
	literals := []string{
		`"plain"`,
		`"caf\u00e9 \n\t\b\f\r\/\\\""`,
		`"\ud83d\ude00 pair"`,
		`"\ud83d lone high surrogate"`,
		`"\ude00 lone low surrogate"`,
		`"\ud83d\u0041 high then not low"`,
		`"\u0000 nul"`,
		"\"raw \xe2\x9c\x97 and escaped \\u2717\"",
		`"exactly8"`,
		`"seven77"`,
		`"a quote at byte eight: 1234567\" then more"`,
	}
	for _, lit := range literals {
		t.Run(lit, func(t *testing.T) {
			var want string
			if err := json.Unmarshal([]byte(lit), &want); err != nil {
				t.Fatalf("encoding/json rejects %s: %v", lit, err)
			}
			got, err := Parse([]byte(`{"id":` + lit + `,"type":"t"}`))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got.ID != want {
				t.Errorf("id = %q, want %q", got.ID, want)
			}
		})
	}
}

func TestParseIntegerBounds(t *testing.T) {
	tests := []struct {
		lit  string
		want int64 // created_at; 0 when out of range
	}{
		{"0", 0},
		{"-0", 0},
		{"1781712000", 1781712000},
		{"-1781712000", -1781712000},
		{"9223372036854775807", 9223372036854775807},
		{"-9223372036854775808", -9223372036854775808},
		{"9223372036854775808", 0},
		{"-9223372036854775809", 0},
		{"18446744073709551616", 0},
		{"1e3", 0},
		{"1.0", 0},
	}
	for _, tc := range tests {
		t.Run(tc.lit, func(t *testing.T) {
			got, err := Parse([]byte(`{"id":"e","type":"t","created_at":` + tc.lit + `}`))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got.CreatedAt != tc.want {
				t.Errorf("created_at = %d, want %d", got.CreatedAt, tc.want)
			}
		})
	}
}

// A signed body that is not UTF-8 is malformed (400), not decoded with
// replacement characters.
func TestParseRejectsInvalidUTF8(t *testing.T) {
	body := []byte("{\"id\":\"evt_1\",\"type\":\"video.failed\",\"data\":{\"lifecycle_status\":\"fail\xffed\"}}")
	if _, err := Parse(body); !errors.Is(err, ErrMalformed) {
		t.Fatalf("Parse = %v, want ErrMalformed", err)
	}
}

// The inside of an object or array Parse does not read is checked only for
// delimiting (see Parse): these bodies are not JSON, yet they are
// accepted, and read as if the skipped value were well formed.
func TestParseSkippedValuesCheckedForDelimitingOnly(t *testing.T) {
	for _, tc := range []struct {
		name, skipped string
	}{
		{"missing comma", `[1 2]`},
		{"missing colon", `{"a" 1}`},
		{"bad literal", `[tru, nul]`},
		{"bad number", `[01, 1., -]`},
		{"control character in a string", "[\"a\x01b\"]"},
		{"non-string key", `{1:2}`},
		{"quoted brackets, missing comma", `[{"a":"]}"} "["]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, body := range []string{
				`{"id":"e","type":"video.completed","x":` + tc.skipped + `,"delivery":{"attempt":2}}`,
				// A known key with a value of another type is skipped too.
				`{"id":"e","type":"video.completed","data":{"status":` + tc.skipped + `},"delivery":{"attempt":2}}`,
			} {
				if json.Valid([]byte(body)) {
					t.Fatalf("json.Valid accepts %s; the case tests nothing", body)
				}
				got, err := Parse([]byte(body))
				if err != nil {
					t.Fatalf("Parse(%s): %v", body, err)
				}
				want := &Delivery{ID: "e", Type: "video.completed", Delivery: DeliveryInfo{Attempt: 2}}
				if diff := cmp.Diff(got, want); diff != "" {
					t.Errorf("Parse(%s) (-got +want):\n%s", body, diff)
				}
			}
		})
	}
}

// What keeps the rest of the body well delimited is still checked inside
// skipped values, and a skipped value with a backslash is checked whole.
func TestParseSkippedValuesStillRejected(t *testing.T) {
	for _, tc := range []struct {
		name, skipped string
	}{
		{"bracket closed by a brace", `[1,2}`},
		{"brace closed by a bracket", `{"a":[1}]`},
		{"unclosed", `[[1]`},
		{"unterminated string", `["abc]`},
		{"invalid UTF-8", "[\"\xff\"]"},
		{"bad escape", `["\q"]`},
		{"bad escape beside a control character", "[\"\\u12\", \"\x01\"]"},
		{"control character, checked with the escape", "[\"\\n\", \"\x01\"]"},
		{"syntax error, checked with the escape", `["\n" 1]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := `{"id":"e","type":"video.completed","x":` + tc.skipped + `}`
			if got, err := Parse([]byte(body)); !errors.Is(err, ErrMalformed) {
				t.Errorf("Parse(%s) = %+v, %v; want an error wrapping ErrMalformed", body, got, err)
			}
		})
	}
}

// Every byte, at every offset of the 8-byte words the string scanner reads,
// is accepted or refused in a string Parse returns exactly as JSON says.
func TestParseEveryByteInAString(t *testing.T) {
	for c := range 256 {
		for at := range 17 {
			s := []byte(strings.Repeat("a", 20))
			s[at] = byte(c)
			body := []byte(`{"id":"` + string(s) + `","type":"t"}`)
			want := json.Valid(body) && utf8.Valid(body)
			if _, err := Parse(body); (err == nil) != want {
				t.Errorf("byte %#02x at %d: Parse error %v, want valid=%t", c, at, err, want)
			}
		}
	}
}

// Parse gathers the strings it returns into one allocation; long strings,
// many strings and repeated keys must still come out as encoding/json
// reads them.
func TestParseManyAndLongStrings(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"id":"` + strings.Repeat("i", 3000) + `","type":"video.progress"`)
	for i := range 40 {
		fmt.Fprintf(&b, `,"data":{"status":"s%d","model":"m\u00e9%d","webhook":{"url":"u%d","delivery":{"last_error_message":"e\n%d"}}}`, i, i, i, i)
	}
	b.WriteString(`,"data":{"status":"last","webhook":{"delivery":{"next_retry_at":"` + strings.Repeat("n", 1500) + `"}}}`)
	b.WriteString(`,"delivery":{"key":"k1"},"delivery":{"attempt":3},"delivery":{"key":"` + strings.Repeat("k", 1020) + `"}}`)
	body := []byte(b.String())

	want, ok := referenceParse(body)
	if !ok {
		t.Fatal("encoding/json rejects the body")
	}
	got, err := Parse(body)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("Parse (-got +want):\n%s", diff)
	}
}
