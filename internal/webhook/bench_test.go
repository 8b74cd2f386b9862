package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"slices"
	"testing"
	"time"
)

// The webhook λ must answer within 1 s at p99 (design.md guarantee 5), and
// verifying plus parsing is the part of that path this package owns. It is
// measured against a bare HMAC-SHA256 over the same 4 KiB, the floor any
// verifier pays (target: at most 1.5×):
//
//	go test -run '^$' -bench '^Benchmark(HMACBaseline|VerifyAndParse)4KiB$' -benchmem -benchtime 2s ./internal/webhook/
//
// The baseline is one hmac.New, Write and Sum over the body. The measured
// path is Verify, with the current and the previous secret configured (the
// current one matches), then Parse of the same body; x-hmac is the ratio
// of their medians over alternating rounds (verifyParseRatio).
//
// Result, on 2 shared AMD EPYC cores with SHA-NI (the HMAC runs at about
// 1.2-1.4 GB/s): x-hmac is about 2.0, down from 2.5-3.3; the target is not
// met. Verify costs about 1.07× the baseline: the same HMAC plus header
// lookups, with one allocation more. Parse costs about 0.9×, with two
// allocations. It steps over the gateway's list of delivery attempts
// without reading its tokens (see Parse), but the rest of a delivery has
// to be read member by member, and in portable Go merely finding the ends
// of its 120 or so strings, eight bytes at a time, costs about 0.4× the
// HMAC: roughly 10 ns a string, most of it a mispredicted exit from the
// scanning loop. That alone is the whole budget Parse would have for 1.5×.
// With other processes busy on the same cores the ratio is noisier and
// higher (up to about 2.7 in the same runs).

const benchSecret = "3f6c2d0b9a8e7f61c5d4b3a29180f7e6d5c4b3a29180f7e6d5c4b3a29180f7e6"

func benchDelivery(b *testing.B) (body []byte, h HeaderMap, v *Verifier) {
	body = completedPayload(4096)
	const ts = "1781712000"
	return body, signedHeaders(ts, Sign(benchSecret, ts, body)), NewVerifier(clockAt(1781712000))
}

// BenchmarkHMACBaseline4KiB is the floor: one HMAC-SHA256 over the body,
// with no header handling, no comparison and no parsing.
func BenchmarkHMACBaseline4KiB(b *testing.B) {
	body, _, _ := benchDelivery(b)
	key := []byte(benchSecret)
	var sum [sha256.Size]byte
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		m := hmac.New(sha256.New, key)
		m.Write(body)
		m.Sum(sum[:0])
	}
}

// BenchmarkVerifyAndParse4KiB is the real path: verify with the current and
// previous secret configured (the current one matches), then parse. Its
// x-hmac metric is the ratio to BenchmarkHMACBaseline4KiB's work measured
// in this same run (see verifyParseRatio).
func BenchmarkVerifyAndParse4KiB(b *testing.B) {
	body, h, v := benchDelivery(b)
	secrets := []string{benchSecret, "previous-" + benchSecret}
	verifyAndParse := func() {
		if _, err := v.Verify(h, body, secrets); err != nil {
			b.Fatal(err)
		}
		if _, err := Parse(body); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		verifyAndParse()
	}
	b.ReportMetric(verifyParseRatio(body, verifyAndParse), "x-hmac")
}

// verifyParseRatio alternates the bare HMAC and fn round by round and
// compares the medians, so load from other processes on the machine, which
// drifts over seconds, weighs on both sides alike.
func verifyParseRatio(body []byte, fn func()) float64 {
	const rounds = 20_001
	key := []byte(benchSecret)
	var sum [sha256.Size]byte
	base, real := make([]time.Duration, rounds), make([]time.Duration, rounds)
	for i := range rounds {
		t0 := time.Now()
		m := hmac.New(sha256.New, key)
		m.Write(body)
		m.Sum(sum[:0])
		t1 := time.Now()
		fn()
		base[i], real[i] = t1.Sub(t0), time.Since(t1)
	}
	slices.Sort(base)
	slices.Sort(real)
	return float64(real[rounds/2]) / float64(base[rounds/2])
}

// BenchmarkParse4KiB and BenchmarkEncodingJSON4KiB show why Parse does not
// use encoding/json: the same fields, decoded by reflection.
func BenchmarkParse4KiB(b *testing.B) {
	body, _, _ := benchDelivery(b)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodingJSON4KiB(b *testing.B) {
	body, _, _ := benchDelivery(b)
	var d struct {
		ID        string `json:"id"`
		Type      string `json:"type"`
		CreatedAt int64  `json:"created_at"`
		Delivery  struct {
			Key         string `json:"key"`
			Attempt     int    `json:"attempt"`
			MaxAttempts int    `json:"max_attempts"`
		} `json:"delivery"`
		Data struct {
			ID              string `json:"id"`
			Object          string `json:"object"`
			Status          string `json:"status"`
			LifecycleStatus string `json:"lifecycle_status"`
			NativeID        string `json:"native_id"`
			Progress        *int   `json:"progress"`
			Provider        string `json:"provider"`
			Model           string `json:"model"`
			CancelURL       string `json:"cancel_url"`
			ContentURL      string `json:"content_url"`
			DownloadURL     string `json:"download_url"`
			ExpiresAt       int64  `json:"expires_at"`
			Webhook         struct {
				URL      string `json:"url"`
				Delivery struct {
					TotalAttempts      int    `json:"total_attempts"`
					LastResponseStatus int    `json:"last_response_status"`
					LastErrorMessage   string `json:"last_error_message"`
				} `json:"delivery"`
			} `json:"webhook"`
			UpdatedAt string `json:"updated_at"`
		} `json:"data"`
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if err := json.Unmarshal(body, &d); err != nil {
			b.Fatal(err)
		}
	}
}
