package webhook

import (
	"bytes"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func clockAt(unix int64) func() time.Time {
	return func() time.Time { return time.Unix(unix, 0) }
}

// signedHeaders returns the headers the gateway sends for a delivery.
func signedHeaders(ts, sig string) HeaderMap {
	return HeaderMap{
		"x-ai-stats-timestamp":    ts,
		"x-ai-stats-signature":    sig,
		"x-ai-stats-event-id":     "evt_from_header",
		"x-ai-stats-event-type":   "video.completed",
		"x-ai-stats-delivery-key": "video.completed",
		"x-ai-stats-attempt":      "1",
		"content-type":            "application/json",
		"user-agent":              "AI-Stats-Async-Webhook/1.0",
	}
}

func TestVerifyKnownAnswers(t *testing.T) {
	for _, v := range vectors {
		t.Run(v.name, func(t *testing.T) {
			got, err := NewVerifier(clockAt(v.now)).Verify(signedHeaders(v.timestamp, v.signature), []byte(v.body), []string{v.secret})
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if got.Family != FamilyAIStats || got.SecretIndex != 0 {
				t.Errorf("family, secret index = %s, %d; want %s, 0", got.Family, got.SecretIndex, FamilyAIStats)
			}
		})
	}
}

func TestVerifySentAt(t *testing.T) {
	v1, v4 := vectors[0], vectors[3]
	for _, tc := range []struct {
		name string
		vec  vector
		want time.Time
	}{
		{"seconds", v1, time.Unix(1781712000, 0)},
		{"milliseconds", v4, time.UnixMilli(1781712000123)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := NewVerifier(clockAt(tc.vec.now)).Verify(signedHeaders(tc.vec.timestamp, tc.vec.signature), []byte(tc.vec.body), []string{tc.vec.secret})
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if !got.SentAt.Equal(tc.want) {
				t.Errorf("SentAt = %v, want %v", got.SentAt, tc.want)
			}
		})
	}
}

func TestVerifyRejects(t *testing.T) {
	v1, v2, v4 := vectors[0], vectors[1], vectors[3]
	flipped := []byte(v1.body)
	flipped[len(flipped)/2] ^= 0x01
	tests := []struct {
		name    string
		h       Headers
		body    []byte
		secrets []string
		now     int64
		want    Reason
	}{
		{
			name: "V2 MAC computed with whsec_ stripped", h: signedHeaders(v2.timestamp, "96d54e6708cad38f5a560ea7e83d2162abc401fa4b1251b9208536ca2107319d"),
			body: []byte(v2.body), secrets: []string{v2.secret}, now: v2.now, want: ReasonMismatch,
		},
		{
			name: "V2 verified with whsec_ stripped from the secret", h: signedHeaders(v2.timestamp, v2.signature),
			body: []byte(v2.body), secrets: []string{strings.TrimPrefix(v2.secret, "whsec_")}, now: v2.now, want: ReasonMismatch,
		},
		{
			name: "V4 signed over the seconds value", h: signedHeaders(v4.timestamp, "e3b8d9d770d489d5d9ac7b143f394e1651be7594d3b4110bf522b1276de43449"),
			body: []byte(v4.body), secrets: []string{v4.secret}, now: v4.now, want: ReasonMismatch,
		},
		{
			name: "V1 stale: clock 301 s after", h: signedHeaders(v1.timestamp, v1.signature),
			body: []byte(v1.body), secrets: []string{v1.secret}, now: 1781712301, want: ReasonStale,
		},
		{
			name: "V1 from the future: clock 301 s before", h: signedHeaders(v1.timestamp, v1.signature),
			body: []byte(v1.body), secrets: []string{v1.secret}, now: 1781711699, want: ReasonStale,
		},
		{
			name: "V4 milliseconds stale", h: signedHeaders(v4.timestamp, v4.signature),
			body: []byte(v4.body), secrets: []string{v4.secret}, now: 1781712301, want: ReasonStale,
		},
		{
			name: "V1 one body byte flipped", h: signedHeaders(v1.timestamp, v1.signature),
			body: flipped, secrets: []string{v1.secret}, now: v1.now, want: ReasonMismatch,
		},
		{
			name: "V1 body re-serialised with a trailing newline", h: signedHeaders(v1.timestamp, v1.signature),
			body: []byte(v1.body + "\n"), secrets: []string{v1.secret}, now: v1.now, want: ReasonMismatch,
		},
		{
			name: "V1 signature header missing", h: HeaderMap{"x-ai-stats-timestamp": v1.timestamp},
			body: []byte(v1.body), secrets: []string{v1.secret}, now: v1.now, want: ReasonMissingHeader,
		},
		{
			name: "V1 timestamp header missing", h: HeaderMap{"x-ai-stats-signature": v1.signature},
			body: []byte(v1.body), secrets: []string{v1.secret}, now: v1.now, want: ReasonMissingHeader,
		},
		{
			name: "V1 signature header blank", h: signedHeaders(v1.timestamp, "  "),
			body: []byte(v1.body), secrets: []string{v1.secret}, now: v1.now, want: ReasonMissingHeader,
		},
		{
			// An OpenAI-style provider callback passed our URL as its
			// callback_url: Standard Webhooks headers, no gateway signature.
			name: "foreign unsigned callback",
			h: http.Header{
				"Content-Type":      {"application/json"},
				"Webhook-Id":        {"wh_123"},
				"Webhook-Timestamp": {"1781712000"},
				"Webhook-Signature": {"v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4="},
			},
			body:    []byte(`{"object":"event","type":"video.completed","data":{"id":"video_123"}}`),
			secrets: []string{v1.secret}, now: v1.now, want: ReasonMissingHeader,
		},
		{
			name: "timestamp not a number", h: signedHeaders("2026-06-17T16:00:00Z", v1.signature),
			body: []byte(v1.body), secrets: []string{v1.secret}, now: v1.now, want: ReasonBadTimestamp,
		},
		{
			name: "negative timestamp", h: signedHeaders("-1781712000", v1.signature),
			body: []byte(v1.body), secrets: []string{v1.secret}, now: v1.now, want: ReasonBadTimestamp,
		},
		{
			name: "fractional timestamp", h: signedHeaders("1781712000.5", v1.signature),
			body: []byte(v1.body), secrets: []string{v1.secret}, now: v1.now, want: ReasonBadTimestamp,
		},
		{
			name: "signature not hex", h: signedHeaders(v1.timestamp, strings.Repeat("zz", 32)),
			body: []byte(v1.body), secrets: []string{v1.secret}, now: v1.now, want: ReasonMismatch,
		},
		{
			name: "signature truncated", h: signedHeaders(v1.timestamp, v1.signature[:62]),
			body: []byte(v1.body), secrets: []string{v1.secret}, now: v1.now, want: ReasonMismatch,
		},
		{
			name: "signature with a scheme prefix", h: signedHeaders(v1.timestamp, "sha256="+v1.signature),
			body: []byte(v1.body), secrets: []string{v1.secret}, now: v1.now, want: ReasonMismatch,
		},
		{
			name: "wrong secret", h: signedHeaders(v1.timestamp, v1.signature),
			body: []byte(v1.body), secrets: []string{"another_secret"}, now: v1.now, want: ReasonMismatch,
		},
		{
			name: "no secrets", h: signedHeaders(v1.timestamp, v1.signature),
			body: []byte(v1.body), secrets: nil, now: v1.now, want: ReasonNoSecret,
		},
		{
			// An empty key would accept a MAC anyone can compute.
			name: "only empty secrets", h: signedHeaders(v1.timestamp, Sign("", v1.timestamp, []byte(v1.body))),
			body: []byte(v1.body), secrets: []string{"", ""}, now: v1.now, want: ReasonNoSecret,
		},
		{
			name: "body over MaxBodyBytes", h: signedHeaders(v1.timestamp, v1.signature),
			body: make([]byte, MaxBodyBytes+1), secrets: []string{v1.secret}, now: v1.now, want: ReasonTooLarge,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewVerifier(clockAt(tc.now)).Verify(tc.h, tc.body, tc.secrets)
			var rej *RejectError
			if !errors.As(err, &rej) {
				t.Fatalf("Verify error = %v, want a *RejectError", err)
			}
			if rej.Reason != tc.want {
				t.Errorf("reason = %s, want %s", rej.Reason, tc.want)
			}
			// Errors are logged as they are: nothing secret may be in them.
			msg := err.Error()
			for _, s := range append([]string{tc.h.Get("x-ai-stats-signature"), string(tc.body)}, tc.secrets...) {
				if len(s) >= 8 && strings.Contains(msg, s) {
					t.Errorf("error %q contains a secret, signature or body", msg)
				}
			}
		})
	}
}

func TestVerifyAccepts(t *testing.T) {
	v1 := vectors[0]
	body := []byte(v1.body)
	tests := []struct {
		name       string
		h          Headers
		secrets    []string
		now        int64
		wantFamily Family
		wantIndex  int
	}{
		{
			// Documented choice: both sides are hex-decoded, so case does not matter.
			name: "uppercase signature", h: signedHeaders(v1.timestamp, strings.ToUpper(v1.signature)),
			secrets: []string{v1.secret}, now: v1.now, wantFamily: FamilyAIStats,
		},
		{
			name: "signature with surrounding whitespace", h: signedHeaders(v1.timestamp, " "+v1.signature+"\t"),
			secrets: []string{v1.secret}, now: v1.now, wantFamily: FamilyAIStats,
		},
		{
			name: "clock exactly 300 s after", h: signedHeaders(v1.timestamp, v1.signature),
			secrets: []string{v1.secret}, now: 1781712300, wantFamily: FamilyAIStats,
		},
		{
			name: "clock exactly 300 s before", h: signedHeaders(v1.timestamp, v1.signature),
			secrets: []string{v1.secret}, now: 1781711700, wantFamily: FamilyAIStats,
		},
		{
			name: "phaseo header family",
			h: HeaderMap{
				"x-phaseo-timestamp": v1.timestamp,
				"x-phaseo-signature": v1.signature,
				"user-agent":         "Phaseo-Async-Webhook/1.0",
			},
			secrets: []string{v1.secret}, now: v1.now, wantFamily: FamilyPhaseo,
		},
		{
			name: "x-ai-stats preferred when both families are present",
			h: HeaderMap{
				"x-ai-stats-timestamp": v1.timestamp,
				"x-ai-stats-signature": v1.signature,
				"x-phaseo-timestamp":   "1",
				"x-phaseo-signature":   "00",
			},
			secrets: []string{v1.secret}, now: v1.now, wantFamily: FamilyAIStats,
		},
		{
			name: "incomplete x-ai-stats pair falls through to x-phaseo",
			h: HeaderMap{
				"x-ai-stats-timestamp": v1.timestamp,
				"x-phaseo-timestamp":   v1.timestamp,
				"x-phaseo-signature":   v1.signature,
			},
			secrets: []string{v1.secret}, now: v1.now, wantFamily: FamilyPhaseo,
		},
		{
			name: "rotation: previous secret first, current second", h: signedHeaders(v1.timestamp, v1.signature),
			secrets: []string{"previous_master_derived", v1.secret}, now: v1.now, wantFamily: FamilyAIStats, wantIndex: 1,
		},
		{
			name: "rotation: empty slot skipped", h: signedHeaders(v1.timestamp, v1.signature),
			secrets: []string{"", v1.secret}, now: v1.now, wantFamily: FamilyAIStats, wantIndex: 1,
		},
		{
			name: "rotation: stops at the first match", h: signedHeaders(v1.timestamp, v1.signature),
			secrets: []string{v1.secret, v1.secret}, now: v1.now, wantFamily: FamilyAIStats, wantIndex: 0,
		},
		{
			name: "net/http header", h: http.Header{
				"X-Ai-Stats-Timestamp": {v1.timestamp},
				"X-Ai-Stats-Signature": {v1.signature},
			},
			secrets: []string{v1.secret}, now: v1.now, wantFamily: FamilyAIStats,
		},
		{
			name: "hand-built map with mixed-case names", h: HeaderMap{
				"X-AI-Stats-Timestamp": v1.timestamp,
				"X-AI-Stats-Signature": v1.signature,
			},
			secrets: []string{v1.secret}, now: v1.now, wantFamily: FamilyAIStats,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := NewVerifier(clockAt(tc.now)).Verify(tc.h, body, tc.secrets)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if got.Family != tc.wantFamily || got.SecretIndex != tc.wantIndex {
				t.Errorf("family, secret index = %s, %d; want %s, %d", got.Family, got.SecretIndex, tc.wantFamily, tc.wantIndex)
			}
		})
	}
}

func TestVerifyTimestampAsReceived(t *testing.T) {
	// The MAC covers the header value as received; whitespace around the
	// value is ignored only when reading the time. A gateway never sends
	// any, so a MAC over the padded value is the only one that verifies.
	v1 := vectors[0]
	padded := " " + v1.timestamp
	ver := NewVerifier(clockAt(v1.now))
	if _, err := ver.Verify(signedHeaders(padded, Sign(v1.secret, padded, []byte(v1.body))), []byte(v1.body), []string{v1.secret}); err != nil {
		t.Errorf("MAC over the padded header: %v", err)
	}
	if _, err := ver.Verify(signedHeaders(padded, v1.signature), []byte(v1.body), []string{v1.secret}); err == nil {
		t.Error("MAC over the trimmed header verified against a padded header")
	}
}

func TestVerifyUnsignedHeadersForLoggingOnly(t *testing.T) {
	v1 := vectors[0]
	h := HeaderMap{
		"x-phaseo-timestamp":    v1.timestamp,
		"x-phaseo-signature":    v1.signature,
		"x-phaseo-event-id":     "evt_forged",
		"x-phaseo-event-type":   "video.failed",
		"x-phaseo-delivery-key": "video.failed",
		"x-phaseo-attempt":      "9",
		"x-ai-stats-event-id":   "evt_other_family",
	}
	got, err := NewVerifier(clockAt(v1.now)).Verify(h, []byte(v1.body), []string{v1.secret})
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	want := Signed{
		Family: FamilyPhaseo, SentAt: time.Unix(1781712000, 0),
		EventID: "evt_forged", EventType: "video.failed", DeliveryKey: "video.failed", Attempt: "9",
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("Signed (-got +want):\n%s", diff)
	}
	// The body, not the altered headers, says what happened.
	d, err := Parse([]byte(v1.body))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if d.Type != "video.completed" || d.Delivery.Attempt != 1 {
		t.Errorf("body type, attempt = %s, %d; want video.completed, 1", d.Type, d.Delivery.Attempt)
	}
}

func TestSignedLogValue(t *testing.T) {
	v1 := vectors[0]
	h := signedHeaders(v1.timestamp, v1.signature)
	h["x-ai-stats-event-id"] = strings.Repeat("e", 10_000)
	s, err := NewVerifier(clockAt(v1.now)).Verify(h, []byte(v1.body), []string{v1.secret})
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("delivery", "webhook", s)
	line := buf.String()
	for _, secret := range []string{v1.signature, v1.secret, v1.body} {
		if strings.Contains(line, secret) {
			t.Errorf("log line contains a signature, secret or body: %s", line)
		}
	}
	if !strings.Contains(line, `"eventId":"`+strings.Repeat("e", 160)+`"`) || strings.Contains(line, strings.Repeat("e", 161)) {
		t.Errorf("log line does not carry the event id clipped to 160 bytes: %.300s", line)
	}
}

func TestRawBody(t *testing.T) {
	v3 := vectors[2] // non-ASCII: API Gateway may base64-encode it
	tests := []struct {
		name     string
		body     string
		isBase64 bool
		want     []byte
		wantErr  error
	}{
		{name: "plain", body: v3.body, want: []byte(v3.body)},
		{name: "base64", body: base64.StdEncoding.EncodeToString([]byte(v3.body)), isBase64: true, want: []byte(v3.body)},
		{name: "empty base64", body: "", isBase64: true, want: []byte{}},
		{name: "invalid base64", body: "not base64!", isBase64: true, wantErr: ErrMalformed},
		{
			name: "base64 over the limit", body: strings.Repeat("A", base64.StdEncoding.EncodedLen(MaxBodyBytes)+4),
			isBase64: true, wantErr: &RejectError{Reason: ReasonTooLarge},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := RawBody(tc.body, tc.isBase64)
			switch want := tc.wantErr.(type) {
			case nil:
				if err != nil {
					t.Fatalf("RawBody: %v", err)
				}
			case *RejectError:
				var rej *RejectError
				if !errors.As(err, &rej) || rej.Reason != want.Reason {
					t.Fatalf("RawBody error = %v, want reason %s", err, want.Reason)
				}
			default:
				if !errors.Is(err, want) {
					t.Fatalf("RawBody error = %v, want %v", err, want)
				}
			}
			if !bytes.Equal(got, tc.want) {
				t.Errorf("RawBody = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestVerifyBase64EncodedEvent(t *testing.T) {
	// The API Gateway path end to end: decode first, then verify the bytes.
	v3 := vectors[2]
	raw, err := RawBody(base64.StdEncoding.EncodeToString([]byte(v3.body)), true)
	if err != nil {
		t.Fatalf("RawBody: %v", err)
	}
	if _, err := NewVerifier(clockAt(v3.now)).Verify(signedHeaders(v3.timestamp, v3.signature), raw, []string{v3.secret}); err != nil {
		t.Errorf("Verify of the decoded body: %v", err)
	}
}

func TestNewVerifierDefaultsToWallClock(t *testing.T) {
	body := []byte(`{"id":"evt_1","type":"video.created"}`)
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	if _, err := NewVerifier(nil).Verify(signedHeaders(ts, Sign("k", ts, body)), body, []string{"k"}); err != nil {
		t.Errorf("Verify with the wall clock: %v", err)
	}
}
