package simulator

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func FuzzParseDirective(f *testing.F) {
	for _, s := range []string{
		"a cat", "[sim]", "[sim outcome=failed duration=180s size=1048576 faults=drop_webhooks]",
		"[sim queue=0 duration=2.5 faults=poll.429,truncate]", "[sim size=-1]", "[sim [sim outcome=x]]", "[sim =]",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, prompt string) {
		p, ok, err := ParseDirective(prompt)
		if err == nil && ok {
			if verr := p.validate(); verr != nil {
				t.Errorf("accepted an invalid plan %+v: %v", p, verr)
			}
		}
		if !ok && (err != nil || !strings.Contains(prompt, "[sim") && p.Outcome != "") {
			t.Errorf("no directive but err=%v plan=%+v", err, p)
		}
	})
}

// FuzzCreateBody checks the strict create parser answers every body with
// 202 or a JSON 400 envelope, never a panic or another status.
func FuzzCreateBody(f *testing.F) {
	for _, s := range []string{
		`{"model":"m/x","prompt":"p"}`, `{"model":"m/x","prompt":"p","size":"1x1","resolution":"720p"}`,
		`{"model":"m/x","prompt":"p","webhook":{"url":"https://[::1]/h","events":["job.completed"]}}`,
		`{"model":"m/x","prompt":"p","input_references":[{"type":"image_url","image_url":{"url":"u"}}]}`,
		`[]`, `{`, `null`, `{"model":1}`, `{"model":"m/x","prompt":"p","duration":1e400}`,
	} {
		f.Add(s)
	}
	sim := New(Config{Sweep: -1})
	f.Cleanup(func() { _ = sim.Close() })
	f.Fuzz(func(t *testing.T, body string) {
		if strings.Contains(body, "fault") {
			// A directive may ask for create faults (5xx, a cut
			// connection) on purpose; those are tested elsewhere.
			return
		}
		r := httptest.NewRequest("POST", "/v1/videos", strings.NewReader(body))
		r.Header.Set("Authorization", "Bearer "+DefaultAPIKey)
		w := httptest.NewRecorder()
		sim.ServeHTTP(w, r)
		switch w.Code {
		case http.StatusAccepted:
		case http.StatusBadRequest:
			var env map[string]any
			if err := json.Unmarshal(w.Body.Bytes(), &env); err != nil || env["error"] == nil {
				t.Errorf("400 without an envelope: %s", w.Body)
			}
		default:
			t.Errorf("status %d for %q", w.Code, body)
		}
	})
}
