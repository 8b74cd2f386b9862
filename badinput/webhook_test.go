package badinput

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/videojobs/videojobs/chaos"
	"github.com/videojobs/videojobs/internal/webhook"
)

// delivery is one webhook request: a query (the job parameter) and a body
// with its headers.
type delivery struct {
	query  string
	body   []byte
	header http.Header
}

// webhookCase builds one bad delivery; it runs after the fixtures exist.
type webhookCase struct {
	name  string
	build func() delivery
	want  want
}

var unauthorized = want{status: http.StatusUnauthorized, code: "unauthorized"}

func webhookCases() []webhookCase {
	master := sys.Stack.WebhookSecret
	secret := webhook.DeriveSecret([]byte(master), target.ID)
	q := "job=" + target.ID
	event := func(at time.Time) []byte {
		return chaos.ForgedPayload("evt_video_"+target.ProviderJobID+"_badinput", target.ProviderJobID, "failed", at)
	}
	// signedAt signs body for the target at ts with secret.
	signedAt := func(secret string, ts time.Time, body []byte) http.Header {
		return chaos.SignedHeaders(secret, ts, body, "evt_badinput", "video.failed")
	}
	good := func(mutate func(h http.Header, body []byte) []byte) func() delivery {
		return func() delivery {
			now := time.Now()
			body := event(now)
			h := signedAt(secret, now, body)
			if mutate != nil {
				body = mutate(h, body)
			}
			return delivery{query: q, body: body, header: h}
		}
	}
	signedBody := func(body string) func() delivery {
		return func() delivery {
			now := time.Now()
			return delivery{query: q, body: []byte(body), header: signedAt(secret, now, []byte(body))}
		}
	}
	at := func(offset time.Duration) func() delivery {
		return func() delivery {
			ts := time.Now().Add(offset)
			body := event(ts)
			return delivery{query: q, body: body, header: signedAt(secret, ts, body)}
		}
	}
	return []webhookCase{
		// Signature headers missing or garbled.
		{name: "unsigned", build: good(func(h http.Header, b []byte) []byte {
			h.Del("X-Ai-Stats-Signature")
			h.Del("X-Ai-Stats-Timestamp")
			return b
		}), want: unauthorized},
		{name: "signature missing", build: good(func(h http.Header, b []byte) []byte { h.Del("X-Ai-Stats-Signature"); return b }), want: unauthorized},
		{name: "timestamp missing", build: good(func(h http.Header, b []byte) []byte { h.Del("X-Ai-Stats-Timestamp"); return b }), want: unauthorized},
		{name: "signature empty", build: good(func(h http.Header, b []byte) []byte { h.Set("X-Ai-Stats-Signature", ""); return b }), want: unauthorized},
		{name: "signature not hex", build: good(func(h http.Header, b []byte) []byte {
			h.Set("X-Ai-Stats-Signature", strings.Repeat("zz", 32))
			return b
		}), want: unauthorized},
		{name: "signature truncated", build: good(func(h http.Header, b []byte) []byte {
			h.Set("X-Ai-Stats-Signature", h.Get("X-Ai-Stats-Signature")[:63])
			return b
		}), want: unauthorized},
		{name: "signature with a v1= prefix", build: good(func(h http.Header, b []byte) []byte {
			h.Set("X-Ai-Stats-Signature", "v1="+h.Get("X-Ai-Stats-Signature"))
			return b
		}), want: unauthorized},
		{name: "timestamp not a number", build: good(func(h http.Header, b []byte) []byte { h.Set("X-Ai-Stats-Timestamp", "yesterday"); return b }), want: unauthorized},
		{name: "timestamp changed after signing", build: good(func(h http.Header, b []byte) []byte {
			ts, _ := strconv.ParseInt(h.Get("X-Ai-Stats-Timestamp"), 10, 64)
			h.Set("X-Ai-Stats-Timestamp", strconv.FormatInt(ts+1, 10))
			return b
		}), want: unauthorized},
		{name: "body byte flipped after signing", build: good(func(h http.Header, b []byte) []byte {
			return []byte(strings.Replace(string(b), `"failed"`, `"failex"`, 1))
		}), want: unauthorized},
		// Repeated headers reach the function joined with "," (API Gateway
		// payload 2.0), so even one valid value among them must not pass.
		{name: "duplicated signature headers, one valid", build: good(func(h http.Header, b []byte) []byte {
			h["X-Ai-Stats-Signature"] = []string{h.Get("X-Ai-Stats-Signature"), strings.Repeat("0", 64)}
			return b
		}), want: unauthorized},
		{name: "duplicated timestamp headers", build: good(func(h http.Header, b []byte) []byte {
			h["X-Ai-Stats-Timestamp"] = []string{h.Get("X-Ai-Stats-Timestamp"), h.Get("X-Ai-Stats-Timestamp")}
			return b
		}), want: unauthorized},
		{name: "timestamp and signature from different header families", build: good(func(h http.Header, b []byte) []byte {
			h.Set("X-Phaseo-Signature", h.Get("X-Ai-Stats-Signature"))
			h.Del("X-Ai-Stats-Signature")
			return b
		}), want: unauthorized},
		// Replays outside the ±300 s window.
		{name: "replayed 301 s later", build: at(-301 * time.Second), want: unauthorized},
		{name: "replayed a day later", build: at(-24 * time.Hour), want: unauthorized},
		{name: "timestamp 301 s in the future", build: at(301 * time.Second), want: unauthorized},
		{name: "millisecond timestamp 301 s old", build: func() delivery {
			ts := time.Now().Add(-301 * time.Second)
			body := event(ts)
			t := strconv.FormatInt(ts.UnixMilli(), 10)
			h := signedAt(secret, ts, body)
			h.Set("X-Ai-Stats-Timestamp", t)
			h.Set("X-Ai-Stats-Signature", webhook.Sign(secret, t, body))
			return delivery{query: q, body: body, header: h}
		}, want: unauthorized},
		// Signed with the wrong secret.
		{name: "signed with another job's derived secret", build: func() delivery {
			now := time.Now()
			body := event(now)
			return delivery{query: q, body: body, header: signedAt(webhook.DeriveSecret([]byte(master), other.ID), now, body)}
		}, want: unauthorized},
		{name: "signed with the master secret itself", build: func() delivery {
			now := time.Now()
			body := event(now)
			return delivery{query: q, body: body, header: signedAt(master, now, body)}
		}, want: unauthorized},
		{name: "signed with a secret derived from another master", build: func() delivery {
			now := time.Now()
			body := event(now)
			return delivery{query: q, body: body, header: signedAt(webhook.DeriveSecret([]byte("whsec_not_ours"), target.ID), now, body)}
		}, want: unauthorized},
		// The job parameter.
		{name: "no job parameter", build: func() delivery {
			d := good(nil)()
			d.query = ""
			return d
		}, want: unauthorized},
		{name: "job parameter not a job id", build: func() delivery {
			d := good(nil)()
			d.query = "job=" + url.QueryEscape("../../JOB#x")
			return d
		}, want: unauthorized},
		{name: "job parameter twice", build: func() delivery {
			d := good(nil)()
			d.query = q + "&job=" + other.ID
			return d
		}, want: unauthorized},
		{name: "unknown job, signed with its derived secret", build: func() delivery {
			id := chaos.NewJobID()
			now := time.Now()
			body := event(now)
			return delivery{query: "job=" + id, body: body, header: signedAt(webhook.DeriveSecret([]byte(master), id), now, body)}
		}, want: unauthorized},
		{name: "signed for the job, naming another provider job", build: func() delivery {
			now := time.Now()
			body := chaos.ForgedPayload("evt_badinput_other", other.ProviderJobID, "failed", now)
			return delivery{query: q, body: body, header: signedAt(secret, now, body)}
		}, want: unauthorized},
		// Correctly signed, but not a usable delivery.
		{name: "signed body is not JSON", build: signedBody(`{"id":"evt_x","type":`), want: want{400, "malformed_payload", "", false}},
		{name: "signed body is a JSON array", build: signedBody(`[{"id":"evt_x"}]`), want: want{400, "malformed_payload", "", false}},
		{name: "signed body without data", build: signedBody(`{"id":"evt_x","type":"video.failed"}`), want: want{400, "malformed_payload", "", false}},
		{name: "signed empty body", build: signedBody(``), want: want{400, "malformed_payload", "", false}},
		{name: "signed body with invalid UTF-8", build: func() delivery {
			body := strings.Replace(string(event(time.Now())), `"failed"`, "\"fail\xffed\"", 1)
			return signedBody(body)()
		}, want: want{400, "malformed_payload", "", false}},
		// Size.
		{name: "unsigned body over 256 KiB", build: func() delivery {
			return delivery{query: q, body: []byte(`{"pad":"` + strings.Repeat("a", 300<<10) + `"}`), header: http.Header{}}
		}, want: want{413, "payload_too_large", "", false}},
		{name: "signed body over 256 KiB", build: signedBody(`{"pad":"` + strings.Repeat("a", 300<<10) + `"}`), want: want{413, "payload_too_large", "", false}},
		{name: "body over 10 MB", build: func() delivery {
			return delivery{query: q, body: []byte(strings.Repeat("a", 11<<20)), header: http.Header{}}
		}, want: want{413, "", "", true}},
	}
}

// TestWebhookBadInput: every forged, stale, garbled or oversize delivery is
// refused with its documented status (401 for anything not authentic, 400
// for an authentic but unusable body, 413 for size) and changes nothing:
// no item written, the job (state, counters, version) untouched.
func TestWebhookBadInput(t *testing.T) {
	s := requireSystem(t)
	for _, tc := range webhookCases() {
		t.Run(tc.name, func(t *testing.T) {
			before := takeSnapshot(t)
			d := tc.build()
			path := "/webhooks/ai-stats"
			if d.query != "" {
				path += "?" + d.query
			}
			if d.header.Get("Content-Type") == "" {
				d.header.Set("Content-Type", "application/json")
			}
			r, err := s.API.Do(t.Context(), http.MethodPost, path, d.body, d.header)
			if err != nil {
				t.Fatal(err)
			}
			check(t, r, tc.want)
			unchanged(t, before)
		})
	}
}
