package webhook

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

// referenceVerify is the verifier printed in provider-contract.md §6.1,
// copied as is: FuzzVerify holds Verifier to it.
func referenceVerify(secret, tsHdr, sigHdr string, body []byte, now time.Time) bool {
	ts, sig := strings.TrimSpace(tsHdr), strings.TrimSpace(sigHdr)
	n, err := strconv.ParseUint(ts, 10, 63)
	if secret == "" || sig == "" || err != nil {
		return false
	}
	sec := int64(n)
	if len(ts) >= 13 {
		sec /= 1000
	}
	if d := now.Unix() - sec; d > 300 || d < -300 {
		return false
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(tsHdr))
	m.Write([]byte{'.'})
	m.Write(body) // header value as received
	got, err := hex.DecodeString(sig)
	return err == nil && hmac.Equal(got, m.Sum(nil))
}

func FuzzVerify(f *testing.F) {
	for _, v := range vectors {
		f.Add(v.secret, v.timestamp, v.signature, []byte(v.body), false)
		f.Add(v.secret, v.timestamp, strings.ToUpper(v.signature), []byte(v.body), true)
	}
	f.Add("test_secret_123", "1781712000123", "e3b8d9d770d489d5d9ac7b143f394e1651be7594d3b4110bf522b1276de43449", []byte(vectors[3].body), false)
	f.Add("", "", "", []byte(nil), false)
	f.Add("k", " 1781712000 ", " 00 ", []byte("{}"), true)

	const now = 1781712000
	ver := NewVerifier(clockAt(now))
	f.Fuzz(func(t *testing.T, secret, ts, sig string, body []byte, phaseo bool) {
		fam := FamilyAIStats
		if phaseo {
			fam = FamilyPhaseo
		}
		h := HeaderMap{string(fam) + "-timestamp": ts, string(fam) + "-signature": sig}

		got, err := ver.Verify(h, body, []string{secret})
		if err != nil {
			var rej *RejectError
			if !errors.As(err, &rej) {
				t.Fatalf("Verify error %v is not a *RejectError", err)
			}
			switch rej.Reason {
			case ReasonTooLarge, ReasonMissingHeader, ReasonBadTimestamp, ReasonStale, ReasonNoSecret, ReasonMismatch:
			default:
				t.Fatalf("unknown reason %q", rej.Reason)
			}
		} else if got.Family != fam || got.SecretIndex != 0 {
			t.Fatalf("Signed = %+v, want family %s, index 0", got, fam)
		}
		if want := len(body) <= MaxBodyBytes && referenceVerify(secret, ts, sig, body, time.Unix(now, 0)); (err == nil) != want {
			t.Fatalf("Verify error = %v, but the contract's reference verifier says valid=%t", err, want)
		}

		// Whatever the secret and body, the gateway's own signature over a
		// fresh timestamp verifies.
		if secret != "" && len(body) <= MaxBodyBytes {
			const fresh = "1781712000"
			h := HeaderMap{string(fam) + "-timestamp": fresh, string(fam) + "-signature": Sign(secret, fresh, body)}
			if _, err := ver.Verify(h, body, []string{"not-" + secret, secret}); err != nil {
				t.Fatalf("Verify of a genuine signature: %v", err)
			}
		}
	})
}

// FuzzParse holds Parse to its documented contract:
//
//   - with every value checked by the full grammar (strict), Parse accepts
//     exactly the bodies referenceParse (encoding/json) accepts, and reads
//     the same fields;
//   - as it runs (skipped objects and arrays only checked for delimiting),
//     it accepts every body encoding/json accepts and reads the same fields;
//     when it accepts a body encoding/json rejects, the faults all lie
//     inside the objects and arrays it skipped: with their insides blanked
//     out, encoding/json accepts the body and reads the same fields.
func FuzzParse(f *testing.F) {
	for _, v := range vectors {
		f.Add([]byte(v.body))
	}
	f.Add(completedPayload(4096))
	f.Add([]byte(`{"\u0069d":"e\"\ud83d\ude00","type":"job.status_changed","data":{"status_change":{"previous_status":"a","status":"b"},"upstream_error":{"code":4e2,"status":400}}}`))
	f.Add([]byte(`{"id":"a","type":"t","id":"b","data":{"progress":5},"data":{"progress":1.5},"delivery":{"attempt":-0}}`))
	f.Add([]byte("{\"id\":\"\xff\",\"type\":\"t\",\"x\":[[{}],\"\\u12\"]}"))
	f.Add([]byte(`[]`))
	// Faults inside skipped values, and a backslash that makes Parse check
	// one by the full grammar.
	f.Add([]byte(`{"id":"a","type":"t","x":[1 2,,tru,{"k"}],"data":{"webhook":{"attempts":[{"a":"]"}],"delivery":{"total_attempts":3}}}}`))
	f.Add([]byte(`{"id":"a","type":"t","x":{"s":"\q"},"y":[}`))
	f.Add([]byte("{\"id\":\"a\",\"type\":\"t\",\"delivery\":[\"\x01\"],\"x\":[[[]]]}"))

	f.Fuzz(func(t *testing.T, body []byte) {
		want, wantOK := referenceParse(body)

		strict, err := parse(body, true, nil)
		if err != nil && !errors.Is(err, ErrMalformed) {
			t.Fatalf("strict parse error %v does not wrap ErrMalformed", err)
		}
		switch {
		case err != nil && wantOK:
			t.Fatalf("strict parse error %v, but encoding/json reads %+v", err, want)
		case err == nil && !wantOK:
			t.Fatalf("strict parse = %+v, but the body is not a valid delivery for encoding/json", strict)
		case err == nil:
			if diff := cmp.Diff(strict, want); diff != "" {
				t.Fatalf("strict parse disagrees with encoding/json (-got +want):\n%s", diff)
			}
		}

		var skipped []span
		got, err := parse(body, false, &skipped)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("Parse error %v does not wrap ErrMalformed", err)
			}
			if wantOK {
				t.Fatalf("Parse error %v, but encoding/json reads %+v", err, want)
			}
			return
		}
		if !wantOK {
			// Accepted although invalid: only faults inside skipped
			// objects and arrays may be overlooked.
			body = blankInsides(body, skipped)
			if want, wantOK = referenceParse(body); !wantOK {
				t.Fatalf("Parse = %+v, but the body is not a valid delivery even with the insides of its skipped values %v blanked", got, skipped)
			}
		}
		if diff := cmp.Diff(got, want); diff != "" {
			t.Fatalf("Parse disagrees with encoding/json (-got +want):\n%s", diff)
		}
	})
}

// blankInsides returns body with the inside of every span (an object or an
// array) replaced by spaces: the same value type, well formed, at the same
// offsets.
func blankInsides(body []byte, spans []span) []byte {
	out := bytes.Clone(body)
	for _, s := range spans {
		for i := s.start + 1; i < s.end-1; i++ {
			out[i] = ' '
		}
	}
	return out
}

// referenceParse is Parse's documented behaviour written plainly on top of
// encoding/json: validity, string decoding and duplicate keys (last wins)
// come from encoding/json itself.
func referenceParse(body []byte) (*Delivery, bool) {
	if len(body) > MaxBodyBytes || !json.Valid(body) || !utf8.Valid(body) {
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, false
	}
	top, ok := v.(map[string]any)
	if !ok {
		return nil, false
	}
	str := func(v any) string { s, _ := v.(string); return s }
	text := func(v any) string {
		if n, ok := v.(json.Number); ok {
			return string(n)
		}
		return str(v)
	}
	integer := func(v any) (int, bool) {
		n, ok := v.(json.Number)
		if !ok {
			return 0, false
		}
		i, err := strconv.ParseInt(string(n), 10, 0)
		return int(i), err == nil
	}
	num := func(v any) int { i, _ := integer(v); return i }
	obj := func(v any) map[string]any { m, _ := v.(map[string]any); return m }

	d := &Delivery{ID: str(top["id"]), Type: str(top["type"]), CreatedAt: int64(num(top["created_at"]))}
	if d.ID == "" || d.Type == "" {
		return nil, false
	}
	del := obj(top["delivery"])
	d.Delivery = DeliveryInfo{Key: str(del["key"]), Attempt: num(del["attempt"]), MaxAttempts: num(del["max_attempts"])}

	data := obj(top["data"])
	d.Data = Data{
		ID: str(data["id"]), Object: str(data["object"]), Status: str(data["status"]),
		LifecycleStatus: str(data["lifecycle_status"]), NativeID: str(data["native_id"]),
		Provider: str(data["provider"]), Model: str(data["model"]),
		CancelURL: str(data["cancel_url"]), ContentURL: str(data["content_url"]), DownloadURL: str(data["download_url"]),
		ExpiresAt: int64(num(data["expires_at"])),
		UpdatedAt: text(data["updated_at"]), FinalizedAt: text(data["finalized_at"]),
	}
	if p, ok := integer(data["progress"]); ok {
		d.Data.Progress = &p
	}
	wh := obj(data["webhook"])
	s := obj(wh["delivery"])
	d.Data.Webhook = WebhookState{URL: str(wh["url"]), Delivery: DeliverySummary{
		TotalAttempts: num(s["total_attempts"]), DeliveredEvents: num(s["delivered_events"]),
		PendingRetries: num(s["pending_retries"]), NextRetryAt: text(s["next_retry_at"]),
		LastAttemptAt: text(s["last_attempt_at"]), LastAttemptStatus: str(s["last_attempt_status"]),
		LastResponseStatus: num(s["last_response_status"]), LastDeliveredAt: text(s["last_delivered_at"]),
		LastFailureAt: text(s["last_failure_at"]), LastErrorMessage: str(s["last_error_message"]),
	}}
	if ue := obj(data["upstream_error"]); ue != nil {
		d.Data.UpstreamError = &UpstreamError{
			Code: text(ue["code"]), Type: text(ue["type"]), Message: text(ue["message"]),
			Description: text(ue["description"]), Param: text(ue["param"]), Status: text(ue["status"]),
		}
	}
	if sc := obj(data["status_change"]); sc != nil {
		d.Data.StatusChange = &StatusChange{PreviousStatus: str(sc["previous_status"]), Status: str(sc["status"])}
	}
	return d, true
}
