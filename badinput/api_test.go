package badinput

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/videojobs/videojobs/chaos"
	"github.com/videojobs/videojobs/internal/localapi"
)

// submitCase is one bad POST /jobs.
type submitCase struct {
	name   string
	body   string
	header http.Header
	want   want
}

func submitCases() []submitCase {
	valid := `{"prompt":"a lighthouse at dusk"}`
	key := func(k string) http.Header { return http.Header{"Idempotency-Key": {k}} }
	return []submitCase{
		// Malformed JSON.
		{name: "truncated object", body: `{"prompt":"a lighthouse"`, want: want{400, "invalid_json", "", false}},
		{name: "trailing comma", body: `{"prompt":"a lighthouse",}`, want: want{400, "invalid_json", "", false}},
		{name: "single quotes", body: `{'prompt':'a lighthouse'}`, want: want{400, "invalid_json", "", false}},
		{name: "two objects", body: valid + valid, want: want{400, "invalid_json", "", false}},
		{name: "trailing garbage", body: valid + ` x`, want: want{400, "invalid_json", "", false}},
		{name: "array, not object", body: `[` + valid + `]`, want: want{400, "invalid_json", "", false}},
		{name: "bare string", body: `"a lighthouse"`, want: want{400, "invalid_json", "", false}},
		{name: "null", body: `null`, want: want{400, "invalid_json", "", false}},
		{name: "empty body", body: ``, want: want{400, "body_required", "", false}},
		{name: "whitespace only", body: " \n\t ", want: want{400, "body_required", "", false}},
		// Wrong types.
		{name: "prompt is a number", body: `{"prompt":5}`, want: want{400, "invalid_type", "prompt", false}},
		{name: "prompt is null", body: `{"prompt":null}`, want: want{400, "invalid_request", "prompt", false}},
		{name: "duration is a string", body: `{"prompt":"a","duration":"8"}`, want: want{400, "invalid_type", "duration", false}},
		{name: "duration is fractional", body: `{"prompt":"a","duration":8.5}`, want: want{400, "invalid_type", "duration", false}},
		{name: "seed overflows int64", body: `{"prompt":"a","seed":99999999999999999999}`, want: want{400, "invalid_type", "seed", false}},
		{name: "generate_audio is a string", body: `{"prompt":"a","generate_audio":"yes"}`, want: want{400, "invalid_type", "generate_audio", false}},
		{name: "output is a string", body: `{"prompt":"a","output":"bytes"}`, want: want{400, "invalid_type", "output", false}},
		{name: "nested url is a number", body: `{"prompt":"a","input_references":[{"image_url":{"url":5}}]}`, want: want{400, "invalid_type", "input_references[0].image_url.url", false}},
		// Unknown and duplicate fields.
		{name: "unknown top-level field", body: `{"prompt":"a","webhook":{"url":"https://evil.example"}}`, want: want{400, "unknown_field", "webhook", false}},
		{name: "field name in another case", body: `{"PROMPT":"a"}`, want: want{400, "unknown_field", "PROMPT", false}},
		{name: "unknown nested field", body: `{"prompt":"a","output":{"access":"bytes","extra":1}}`, want: want{400, "unknown_field", "output.extra", false}},
		{name: "unknown field in array item", body: `{"prompt":"a","input_references":[{"image_url":{"url":"https://x.example/a.png"},"weight":1}]}`, want: want{400, "unknown_field", "input_references[0].weight", false}},
		{name: "duplicate field", body: `{"prompt":"a","prompt":"b"}`, want: want{400, "duplicate_field", "prompt", false}},
		// Values.
		{name: "blank prompt", body: `{"prompt":"   "}`, want: want{400, "invalid_request", "prompt", false}},
		{name: "prompt over 8000 characters", body: `{"prompt":"` + strings.Repeat("é", 8001) + `"}`, want: want{400, "invalid_request", "prompt", false}},
		{name: "duration out of range", body: `{"prompt":"a","duration":0}`, want: want{400, "invalid_request", "duration", false}},
		{name: "size and resolution together", body: `{"prompt":"a","size":"1280x720","resolution":"720p"}`, want: want{400, "invalid_request", "size", false}},
		{name: "bad model id", body: `{"prompt":"a","model":"../../etc/passwd"}`, want: want{400, "invalid_request", "model", false}},
		{name: "non-https image url", body: `{"prompt":"a","input_references":[{"image_url":{"url":"file:///etc/passwd"}}]}`, want: want{400, "invalid_request", "input_references[0].image_url.url", false}},
		// Size: the function's 64 KiB limit, then the HTTP API's 10 MB.
		{name: "body over 64 KiB", body: `{"prompt":"` + strings.Repeat("a", 70<<10) + `"}`, want: want{413, "body_too_large", "", false}},
		{name: "body over 10 MB", body: `{"prompt":"` + strings.Repeat("a", 11<<20) + `"}`, want: want{413, "", "", true}},
		// Encoding.
		{name: "invalid UTF-8", body: "{\"prompt\":\"a \xff\xfe lighthouse\"}", want: want{400, "invalid_encoding", "", false}},
		{name: "overlong UTF-8 encoding", body: "{\"prompt\":\"\xc0\xaf\"}", want: want{400, "invalid_encoding", "", false}},
		{name: "UTF-16 body", body: "\xff\xfe{\x00}\x00", want: want{400, "invalid_encoding", "", false}},
		// Idempotency-Key.
		{name: "key with percent-encoded CRLF", body: valid, header: key("abc%0D%0AX-Injected:%201"), want: want{400, "invalid_request", "Idempotency-Key", false}},
		{name: "key with a space", body: valid, header: key("abc def"), want: want{400, "invalid_request", "Idempotency-Key", false}},
		{name: "key with a tab", body: valid, header: key("abc\tdef"), want: want{400, "invalid_request", "Idempotency-Key", false}},
		{name: "non-ASCII key", body: valid, header: key("ключ-1"), want: want{400, "invalid_request", "Idempotency-Key", false}},
		{name: "key over 128 characters", body: valid, header: key(strings.Repeat("k", 129)), want: want{400, "invalid_request", "Idempotency-Key", false}},
		{name: "20 KB key", body: valid, header: key(strings.Repeat("k", 20<<10)), want: want{400, "invalid_request", "Idempotency-Key", false}},
		// Two Idempotency-Key headers reach the function as "a,b" (as API
		// Gateway joins repeated headers), which no single key matches.
		{name: "duplicated key header", body: valid, header: http.Header{"Idempotency-Key": {"key-a", "key-b"}}, want: want{400, "invalid_request", "Idempotency-Key", false}},
		// Headers past the HTTP server's 1 MB limit never reach a function.
		{name: "headers over 1 MB", body: valid, header: http.Header{"X-Padding": {strings.Repeat("p", 1100<<10)}}, want: want{431, "", "", true}},
	}
}

// TestSubmitBadInput: every bad POST /jobs gets its documented error and
// writes nothing.
func TestSubmitBadInput(t *testing.T) {
	s := requireSystem(t)
	for _, tc := range submitCases() {
		t.Run(tc.name, func(t *testing.T) {
			before := takeSnapshot(t)
			var body []byte
			if tc.body != "" {
				body = []byte(tc.body)
			}
			r, err := s.API.Do(t.Context(), http.MethodPost, "/jobs", body, tc.header)
			if err != nil {
				t.Fatal(err)
			}
			check(t, r, tc.want)
			unchanged(t, before)
		})
	}
}

// TestSubmitHeaderInjection sends CR and LF inside an Idempotency-Key on
// the raw wire (Go's client refuses to): the HTTP layer must refuse the
// request before any function runs, and nothing is written.
func TestSubmitHeaderInjection(t *testing.T) {
	s := requireSystem(t)
	u, err := url.Parse(s.API.Base)
	if err != nil {
		t.Fatal(err)
	}
	body := `{"prompt":"a lighthouse at dusk"}`
	for _, tc := range []struct {
		name, key string
	}{
		{"bare CR", "abc\rX-Injected: 1"},
		{"NUL", "abc\x00def"},
		{"obsolete line folding", "abc\r\n def"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := takeSnapshot(t)
			raw := fmt.Sprintf("POST /jobs HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nIdempotency-Key: %s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
				u.Host, tc.key, len(body), body)
			status, got := rawExchange(t, u.Host, raw)
			if status != http.StatusBadRequest {
				t.Errorf("got %d %s, want 400 from the HTTP layer", status, got)
			}
			unchanged(t, before)
		})
	}
}

// rawExchange writes raw to addr and reads one response.
func rawExchange(t *testing.T, addr, raw string) (int, string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	return resp.StatusCode, string(b)
}

// TestIdempotencyKeyReuse: the same key with another body is refused with
// a clear message, and the refusal writes nothing.
func TestIdempotencyKeyReuse(t *testing.T) {
	s := requireSystem(t)
	h := http.Header{"Idempotency-Key": {"badinput-reuse-" + chaos.NewJobID()}}
	first, err := s.API.Do(t.Context(), http.MethodPost, "/jobs", []byte(`{"prompt":"first body [sim queue=0 duration=30s]"}`), h)
	if err != nil {
		t.Fatal(err)
	}
	if first.Status != http.StatusAccepted {
		t.Fatalf("first POST /jobs: got %s, want 202", first)
	}
	v, err := localapi.DecodeJob(first)
	if err != nil {
		t.Fatal(err)
	}
	// Let the first job finish, so only the second request could write.
	waitSettled(t, v.ID)
	before := takeSnapshot(t)
	firstJob, err := s.Jobs.GetJob(t.Context(), v.ID)
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.API.Do(t.Context(), http.MethodPost, "/jobs", []byte(`{"prompt":"another body"}`), h)
	if err != nil {
		t.Fatal(err)
	}
	check(t, r, want{status: http.StatusConflict, code: "idempotency_key_reused"})
	if e, _ := r.Envelope(); !strings.Contains(e.Message, "Idempotency-Key") {
		t.Errorf("message %q does not say which header was reused", e.Message)
	}
	unchanged(t, before)
	after, err := s.Jobs.GetJob(t.Context(), v.ID)
	if err != nil {
		t.Fatal(err)
	}
	if after.Version != firstJob.Version || after.State != firstJob.State {
		t.Errorf("the refused request changed the first job: version %d → %d, state %s → %s", firstJob.Version, after.Version, firstJob.State, after.State)
	}
}

// waitSettled waits until the job is terminal and the gateway has nothing
// left to deliver.
func waitSettled(t *testing.T, id string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		j, err := sys.Jobs.GetJob(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		if j.State.Terminal() && sys.Sim.Pending() == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s still %s (gateway deliveries pending: %d)", id, j.State, sys.Sim.Pending())
		}
		time.Sleep(200 * time.Millisecond)
	}
}
