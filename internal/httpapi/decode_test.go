package httpapi

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/google/go-cmp/cmp"
)

type ref struct {
	URL string `json:"url"`
}

type sample struct {
	Prompt   string          `json:"prompt"`
	Duration int             `json:"duration,omitempty"`
	Audio    *bool           `json:"generate_audio,omitempty"`
	Refs     []ref           `json:"refs,omitempty"`
	Params   map[string]any  `json:"params,omitempty"`
	Raw      json.RawMessage `json:"raw,omitempty"`
	Skipped  string          `json:"-"`
	Embedded
}

type Embedded struct {
	Extra string `json:"extra,omitempty"`
}

func TestDecode(t *testing.T) {
	tests := []struct {
		name      string
		body      string
		wantErr   *Error // nil: success
		wantValue sample
	}{
		{name: "ok", body: `{"prompt":"a cat","duration":5,"refs":[{"url":"u"}],"params":{"A":1,"a":2},"raw":{"X":1},"extra":"e"}`,
			wantValue: sample{Prompt: "a cat", Duration: 5, Refs: []ref{{URL: "u"}}, Params: map[string]any{"A": json.Number("1"), "a": json.Number("2")}, Raw: json.RawMessage(`{"X":1}`), Embedded: Embedded{Extra: "e"}}},
		{name: "surrounding whitespace", body: " \n{\"prompt\":\"x\"}\n ", wantValue: sample{Prompt: "x"}},
		{name: "empty", body: "", wantErr: &Error{Status: 400, Code: CodeBodyRequired}},
		{name: "whitespace only", body: "  \n", wantErr: &Error{Status: 400, Code: CodeBodyRequired}},
		{name: "not an object", body: `["prompt"]`, wantErr: &Error{Status: 400, Code: CodeInvalidJSON}},
		{name: "null", body: `null`, wantErr: &Error{Status: 400, Code: CodeInvalidJSON}},
		{name: "syntax", body: `{"prompt":}`, wantErr: &Error{Status: 400, Code: CodeInvalidJSON}},
		{name: "truncated", body: `{"prompt":"x"`, wantErr: &Error{Status: 400, Code: CodeInvalidJSON}},
		{name: "two values", body: `{"prompt":"x"}{"prompt":"y"}`, wantErr: &Error{Status: 400, Code: CodeInvalidJSON}},
		{name: "trailing garbage", body: `{"prompt":"x"} x`, wantErr: &Error{Status: 400, Code: CodeInvalidJSON}},
		{name: "unknown field", body: `{"prompt":"x","seconds":4}`, wantErr: &Error{Status: 400, Code: CodeUnknownField, Field: "seconds"}},
		{name: "case mismatch is unknown", body: `{"PROMPT":"x"}`, wantErr: &Error{Status: 400, Code: CodeUnknownField, Field: "PROMPT"}},
		{name: "dash field is unknown", body: `{"Skipped":"x"}`, wantErr: &Error{Status: 400, Code: CodeUnknownField, Field: "Skipped"}},
		{name: "nested unknown", body: `{"refs":[{"url":"u"},{"uri":"u"}]}`, wantErr: &Error{Status: 400, Code: CodeUnknownField, Field: "refs[1].uri"}},
		{name: "duplicate", body: `{"prompt":"x","prompt":"y"}`, wantErr: &Error{Status: 400, Code: CodeDuplicateField, Field: "prompt"}},
		{name: "duplicate in free-form map", body: `{"params":{"a":1,"a":2}}`, wantErr: &Error{Status: 400, Code: CodeDuplicateField, Field: "params.a"}},
		{name: "wrong type", body: `{"prompt":5}`, wantErr: &Error{Status: 400, Code: CodeInvalidType, Field: "prompt"}},
		{name: "float for int", body: `{"duration":1.5}`, wantErr: &Error{Status: 400, Code: CodeInvalidType, Field: "duration"}},
		{name: "string for bool", body: `{"generate_audio":"yes"}`, wantErr: &Error{Status: 400, Code: CodeInvalidType, Field: "generate_audio"}},
		{name: "nested wrong type", body: `{"refs":[{"url":1}]}`, wantErr: &Error{Status: 400, Code: CodeInvalidType, Field: "refs[0].url"}},
		{name: "wrong type in a later element", body: `{"refs":[{"url":"a"},{"url":"b"},{"url":true}]}`, wantErr: &Error{Status: 400, Code: CodeInvalidType, Field: "refs[2].url"}},
		{name: "object where a string belongs", body: `{"prompt":{"a":1}}`, wantErr: &Error{Status: 400, Code: CodeInvalidType, Field: "prompt"}},
		{name: "array where an object belongs", body: `{"refs":[[1]]}`, wantErr: &Error{Status: 400, Code: CodeInvalidType, Field: "refs[0]"}},
		{name: "invalid utf8", body: "{\"prompt\":\"\xff\"}", wantErr: &Error{Status: 400, Code: CodeInvalidEncoding}},
		{name: "too large", body: `{"prompt":"` + strings.Repeat("a", MaxBodyBytes) + `"}`, wantErr: &Error{Status: 413, Code: CodeBodyTooLarge}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got sample
			err := Decode([]byte(tt.body), &got)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("Decode: %v", err)
				}
				if diff := cmp.Diff(got, tt.wantValue); diff != "" {
					t.Errorf("decoded value (-got +want):\n%s", diff)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Decode error = %v, want *Error", err)
			}
			if e.Status != tt.wantErr.Status || e.Code != tt.wantErr.Code || e.Field != tt.wantErr.Field {
				t.Errorf("Decode error = {%d %s %q}, want {%d %s %q}", e.Status, e.Code, e.Field, tt.wantErr.Status, tt.wantErr.Code, tt.wantErr.Field)
			}
			if e.Message == "" {
				t.Error("error message is empty")
			}
		})
	}
}

func TestDecodeTargetMustBePointer(t *testing.T) {
	var s sample
	err := Decode([]byte(`{}`), s)
	var e *Error
	if err == nil || errors.As(err, &e) {
		t.Fatalf("Decode(non-pointer) = %v, want a programming error that is not an *Error", err)
	}
}

func TestBody(t *testing.T) {
	big := strings.Repeat("a", MaxBodyBytes+1)
	tests := []struct {
		name       string
		req        events.APIGatewayV2HTTPRequest
		want       string
		wantStatus int
	}{
		{name: "plain", req: events.APIGatewayV2HTTPRequest{Body: `{"a":1}`}, want: `{"a":1}`},
		{name: "base64", req: events.APIGatewayV2HTTPRequest{Body: base64.StdEncoding.EncodeToString([]byte(`{"a":"é"}`)), IsBase64Encoded: true}, want: `{"a":"é"}`},
		{name: "bad base64", req: events.APIGatewayV2HTTPRequest{Body: "!!!", IsBase64Encoded: true}, wantStatus: 400},
		{name: "plain too large", req: events.APIGatewayV2HTTPRequest{Body: big}, wantStatus: 413},
		{name: "base64 too large", req: events.APIGatewayV2HTTPRequest{Body: base64.StdEncoding.EncodeToString([]byte(big)), IsBase64Encoded: true}, wantStatus: 413},
		{name: "base64 exactly at limit", req: events.APIGatewayV2HTTPRequest{Body: base64.StdEncoding.EncodeToString([]byte(big[1:])), IsBase64Encoded: true}, want: big[1:]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Body(tt.req)
			if tt.wantStatus != 0 {
				var e *Error
				if !errors.As(err, &e) || e.Status != tt.wantStatus {
					t.Fatalf("Body error = %v, want status %d", err, tt.wantStatus)
				}
				return
			}
			if err != nil {
				t.Fatalf("Body: %v", err)
			}
			if string(got) != tt.want {
				t.Errorf("Body = %.40q, want %.40q", got, tt.want)
			}
		})
	}
}

func TestDecodeRequestBase64UnknownField(t *testing.T) {
	req := events.APIGatewayV2HTTPRequest{Body: base64.StdEncoding.EncodeToString([]byte(`{"prompt":"x","bogus":true}`)), IsBase64Encoded: true}
	var s sample
	err := DecodeRequest(req, &s)
	var e *Error
	if !errors.As(err, &e) || e.Field != "bogus" {
		t.Fatalf("DecodeRequest = %v, want unknown field bogus", err)
	}
}

func TestErrorResponse(t *testing.T) {
	tests := []struct {
		name       string
		err        *Error
		wantStatus int
		wantBody   string
	}{
		{name: "with field", err: &Error{Status: 400, Code: "unknown_field", Message: `unknown field "x"`, Field: "x"},
			wantStatus: 400, wantBody: `{"error":{"code":"unknown_field","message":"unknown field \"x\"","field":"x"}}`},
		{name: "without field", err: &Error{Status: 409, Code: "idempotency_key_reused", Message: "m"},
			wantStatus: 409, wantBody: `{"error":{"code":"idempotency_key_reused","message":"m"}}`},
		{name: "internal", err: Internal, wantStatus: 500, wantBody: `{"error":{"code":"internal_error","message":"internal error; retry later"}}`},
		{name: "non-error status becomes 500", err: &Error{Status: 200, Code: "c", Message: "m"}, wantStatus: 500, wantBody: `{"error":{"code":"c","message":"m"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ErrorResponse(tt.err)
			if got.StatusCode != tt.wantStatus {
				t.Errorf("status = %d, want %d", got.StatusCode, tt.wantStatus)
			}
			if got.Body != tt.wantBody {
				t.Errorf("body = %s, want %s", got.Body, tt.wantBody)
			}
			if ct := got.Headers["Content-Type"]; !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type = %q, want application/json", ct)
			}
		})
	}
}

func TestJSONUnencodable(t *testing.T) {
	got := JSON(http.StatusOK, map[string]any{"f": func() {}})
	if got.StatusCode != http.StatusInternalServerError {
		t.Errorf("status = %d, want 500", got.StatusCode)
	}
}

func TestHeader(t *testing.T) {
	req := events.APIGatewayV2HTTPRequest{Headers: map[string]string{"idempotency-key": "a", "X-Mixed": "b"}}
	for _, tc := range []struct{ name, want string }{{"Idempotency-Key", "a"}, {"x-mixed", "b"}, {"absent", ""}} {
		if got := Header(req, tc.name); got != tc.want {
			t.Errorf("Header(%q) = %q, want %q", tc.name, got, tc.want)
		}
	}
}

// FuzzDecode checks that no input panics the decoder, that every rejection
// is a client error with a status and code, and that an accepted body
// re-encodes to something the decoder accepts again.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"prompt":"a cat","duration":5}`, `{"refs":[{"url":"u"}]}`, `{"params":{"a":[1,{"b":null}]}}`,
		`{"prompt":"x","prompt":"y"}`, `{"PROMPT":1}`, `[]`, `null`, "", "{\"prompt\":\"\xff\"}", `{"raw":{"a":1}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var s sample
		err := Decode(body, &s)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Decode error %v is not an *Error", err)
			}
			if e.Status != 400 && e.Status != 413 || e.Code == "" || e.Message == "" {
				t.Fatalf("Decode error %+v lacks status/code/message", e)
			}
			return
		}
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		var again sample
		if err := Decode(b, &again); err != nil {
			t.Fatalf("re-decode of %s: %v", b, err)
		}
	})
}

// The strict decoder makes two passes; these report its cost against a
// plain encoding/json decode of the same body (compare ns/op).
var benchBody = []byte(`{"prompt":"A red fox trotting through fresh snow at dawn, cinematic","duration":8,"refs":[{"url":"https://x.test/a.png"}],"params":{"a":1,"b":[1,2,3]},"generate_audio":true}`)

func BenchmarkDecodeStrict(b *testing.B) {
	for b.Loop() {
		var s sample
		if err := Decode(benchBody, &s); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodePlainBaseline(b *testing.B) {
	for b.Loop() {
		var s sample
		if err := json.Unmarshal(benchBody, &s); err != nil {
			b.Fatal(err)
		}
	}
}
