package aistats

import (
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// addFixtures seeds f with every file under testdata/<dir>.
func addFixtures(f *testing.F, dir string, add func(b []byte)) {
	f.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", dir, "*"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no fixtures in testdata/%s: %v", dir, err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		add(b)
	}
}

var canonical = map[Status]bool{StatusQueued: true, StatusProcessing: true, StatusCompleted: true,
	StatusFailed: true, StatusCancelled: true, StatusExpired: true}

func FuzzDecodeVideo(f *testing.F) {
	addFixtures(f, "videos", func(b []byte) { f.Add(b) })
	for _, s := range []string{
		`{"id":"G-1","status":"pending","created_at":"2026-06-17 16:00:00+00","progress":"55.5"}`,
		`{"video_id":"G-1","lifecycle_status":"running","polling_url":"::bad::","cancel_url":"%zz"}`,
		`{"id":"G-1","created_at":1e300,"progress":-1e300,"poll_after_seconds":"NaN","seconds":"Inf"}`,
		`{"id":"G-1","outputs":[null,1,{"index":-5},{"index":9e99}],"asset":{"bytes":"-1"}}`,
		`{"id":"G-1","error":{"message":null},"webhook":{"delivery":[],"attempts":{}}}`,
		`{"id":  "  "}`, `{"id":{"x":1}}`, `[`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		v, err := DecodeVideo(body, testBase)
		if err != nil {
			if !errors.Is(err, ErrProtocol) {
				t.Fatalf("error %v is not ErrProtocol", err)
			}
			return
		}
		if strings.TrimSpace(v.ID) == "" {
			t.Fatalf("decoded a video without id")
		}
		if !canonical[v.Status] {
			t.Fatalf("status %q is not canonical", v.Status)
		}
		if v.Progress != nil && (*v.Progress < 0 || *v.Progress > 100) {
			t.Fatalf("progress %d out of range", *v.Progress)
		}
		if v.PollingURL == "" {
			t.Fatalf("no polling url")
		}
	})
}

func FuzzDecodeVideoList(f *testing.F) {
	f.Add(readFixtureF(f, "videos/list.json"))
	f.Add([]byte(`{"data":[1,"x",null,{"id":"G-1"}],"has_more":"true"}`))
	f.Add([]byte(`{"data":{}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		l, err := DecodeVideoList(body, testBase)
		if err != nil {
			if !errors.Is(err, ErrProtocol) {
				t.Fatalf("error %v is not ErrProtocol", err)
			}
			return
		}
		for _, v := range l.Data {
			if v.ID == "" || !canonical[v.Status] {
				t.Fatalf("bad item %+v", v)
			}
		}
	})
}

func FuzzParseAPIError(f *testing.F) {
	addFixtures(f, "errors", func(b []byte) { f.Add(502, "", b) })
	f.Add(429, "3", []byte(`{"error":"key_limit_exceeded","reset_at":"not a time"}`))
	f.Add(503, "Wed, 17 Jun 2026 16:00:30 GMT", []byte(`{"error":{"code":{"nested":true}}}`))
	f.Add(401, "", []byte(`{"error":"unauthorised","description":"Bearer aistats_v1_sk_a_b"}`))
	f.Add(0, "-1", []byte("\xff\xfe\x00"))
	f.Add(400, "", []byte(`{"details":[{"path":[1,true,null,"x"]},"y",null]}`))
	f.Fuzz(func(t *testing.T, status int, retryAfter string, body []byte) {
		e := ParseAPIError(status, http.Header{"Retry-After": {retryAfter}}, body, testNow)
		if e.HTTPStatus != status {
			t.Fatalf("HTTPStatus = %d, want %d", e.HTTPStatus, status)
		}
		if e.RetryAfter < 0 {
			t.Fatalf("negative RetryAfter %v", e.RetryAfter)
		}
		msg := e.Error()
		if msg == "" {
			t.Fatalf("empty Error()")
		}
		if strings.Contains(strings.ToLower(msg), "aistats_v1_sk_") {
			t.Fatalf("Error() %q carries a key-shaped string", msg)
		}
		// Class sentinels are mutually consistent.
		if errors.Is(e, ErrFeatureOff) && (errors.Is(e, ErrTransient) || errors.Is(e, ErrRateLimited)) {
			t.Fatalf("501 classified as retryable")
		}
		if status >= 400 && status < 500 && status != 429 && retryable(e) {
			t.Fatalf("definite %d classified as retryable", status)
		}
	})
}

func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"0", "5", "120", "-1", "1.5", "Wed, 17 Jun 2026 16:00:30 GMT",
		"Wednesday, 17-Jun-26 16:00:30 GMT", "Wed Jun 17 16:00:30 2026", "9223372036854775807", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		d, ok := ParseRetryAfter(v, testNow)
		if d < 0 || (!ok && d != 0) {
			t.Fatalf("ParseRetryAfter(%q) = %v, %v", v, d, ok)
		}
		if ok && d > 366*24*time.Hour && !strings.Contains(v, " ") {
			t.Fatalf("delta-seconds %q not capped: %v", v, d)
		}
	})
}

func FuzzParseStatus(f *testing.F) {
	for w := range statusWords {
		f.Add(w)
	}
	f.Add("")
	f.Add("Deleted")
	f.Fuzz(func(t *testing.T, word string) {
		s, ok := ParseStatus(word)
		if !canonical[s] {
			t.Fatalf("ParseStatus(%q) = %q, not canonical", word, s)
		}
		if !ok && s != StatusQueued {
			t.Fatalf("unknown %q mapped to %q, want queued", word, s)
		}
	})
}

func readFixtureF(f *testing.F, name string) []byte {
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		f.Fatal(err)
	}
	return b
}
