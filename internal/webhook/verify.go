package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Tolerance is the largest accepted distance between the signed timestamp and
// the verifier's clock, in either direction (provider-contract.md §6.1).
const Tolerance = 300 * time.Second

// MaxBodyBytes is the largest delivery body accepted. Real deliveries are a
// few KiB (the biggest part is the gateway's list of the 10 newest delivery
// attempts), so 256 KiB leaves ample room while bounding the work an
// unauthenticated caller can make the HMAC do.
const MaxBodyBytes = 256 << 10

// Reason says why a delivery was rejected. Its values are stable, short and
// lowercase so they can be used as a metric dimension (WebhookRejected).
type Reason string

// Rejection reasons, in the order Verify checks them.
const (
	ReasonTooLarge      Reason = "too_large"      // body over MaxBodyBytes
	ReasonMissingHeader Reason = "missing_header" // no complete timestamp+signature pair
	ReasonBadTimestamp  Reason = "bad_timestamp"  // timestamp not a decimal integer
	ReasonStale         Reason = "stale"          // timestamp outside ±Tolerance
	ReasonNoSecret      Reason = "no_secret"      // no non-empty secret to check against
	ReasonMismatch      Reason = "mismatch"       // signature not valid hex, or no secret matched
)

// RejectError reports a delivery that failed verification; the caller
// answers 401 (413 for ReasonTooLarge) and changes nothing. It carries only
// the reason, never a secret, a signature or the body.
type RejectError struct {
	Reason Reason
}

func (e *RejectError) Error() string {
	return "verify webhook: rejected: " + string(e.Reason)
}

// Family names the header set a delivery was signed with.
type Family string

// Header families, checked in this order (provider-contract.md §9).
const (
	FamilyAIStats Family = "x-ai-stats"
	FamilyPhaseo  Family = "x-phaseo"
)

// headerNames are the header names of each family, spelled out once so a
// lookup builds no string.
type headerNames struct {
	family                                         Family
	timestamp, signature                           string
	eventID, eventType, deliveryKey, attemptHeader string
}

var families = [...]headerNames{
	{FamilyAIStats, "x-ai-stats-timestamp", "x-ai-stats-signature", "x-ai-stats-event-id", "x-ai-stats-event-type", "x-ai-stats-delivery-key", "x-ai-stats-attempt"},
	{FamilyPhaseo, "x-phaseo-timestamp", "x-phaseo-signature", "x-phaseo-event-id", "x-phaseo-event-type", "x-phaseo-delivery-key", "x-phaseo-attempt"},
}

// Headers gives case-insensitive header lookup. http.Header satisfies it, and
// HeaderMap adapts the map[string]string of an API Gateway v2 event.
type Headers interface {
	Get(name string) string
}

// HeaderMap is a header map as API Gateway HTTP API (payload 2.0) delivers
// it. API Gateway lowercases names already; Get still falls back to a
// case-insensitive scan so a hand-built event works too.
type HeaderMap map[string]string

// Get returns the value of the named header, ignoring case.
func (m HeaderMap) Get(name string) string {
	if v, ok := m[name]; ok {
		return v
	}
	for k, v := range m {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// Signed describes a delivery that passed verification.
type Signed struct {
	Family      Family    // header family that carried the signature
	SecretIndex int       // index into the secrets given to Verify that matched
	SentAt      time.Time // the signed timestamp (second or millisecond precision)

	// The unsigned headers below are for logging only: an attacker on the
	// path could change them without breaking the signature, so decisions
	// use the body fields that Parse returns (provider-contract.md §6).
	EventID     string
	EventType   string
	DeliveryKey string
	Attempt     string
}

// LogValue lets a Signed be logged with slog as it is: it holds nothing
// secret, and the header values are clipped so a forged header cannot flood
// the log line.
func (s Signed) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("family", string(s.Family)),
		slog.Int("secretIndex", s.SecretIndex),
		slog.Time("sentAt", s.SentAt),
		slog.String("eventId", clip(s.EventID)),
		slog.String("eventType", clip(s.EventType)),
		slog.String("deliveryKey", clip(s.DeliveryKey)),
		slog.String("attempt", clip(s.Attempt)),
	)
}

func clip(s string) string {
	const maxLogged = 160 // the gateway's own cap on event ids
	if len(s) > maxLogged {
		return s[:maxLogged]
	}
	return s
}

// Verifier checks delivery signatures. The zero value is not usable; build
// one with NewVerifier.
type Verifier struct {
	now func() time.Time
}

// NewVerifier returns a Verifier that reads the time from now, or from
// time.Now when now is nil. Tests inject a fixed clock to replay the
// contract's known-answer vectors.
func NewVerifier(now func() time.Time) *Verifier {
	if now == nil {
		now = time.Now
	}
	return &Verifier{now: now}
}

// Verify authenticates a delivery: body must be the raw bytes exactly as
// received (see RawBody), h its headers. The first header family with both a
// timestamp and a signature is used (x-ai-stats-* before x-phaseo-*). The
// HMAC-SHA256 of "<timestamp header as received>.<body>" is checked against
// each non-empty secret in turn, so a rotation can list the current and the
// previous secret; Signed.SecretIndex says which one matched.
//
// The signature is hex-decoded and compared as bytes in constant time, so an
// uppercase signature is accepted: the contract allows it, and case carries
// no authentication. A timestamp of 13 or more digits is read as
// milliseconds for the freshness check only.
//
// A failure is a *RejectError; match it with errors.As.
func (v *Verifier) Verify(h Headers, body []byte, secrets []string) (Signed, error) {
	if len(body) > MaxBodyBytes {
		return Signed{}, &RejectError{Reason: ReasonTooLarge}
	}
	var fam *headerNames
	var tsHdr, sigHdr string
	for i := range families {
		f := &families[i]
		tsHdr, sigHdr = h.Get(f.timestamp), h.Get(f.signature)
		if strings.TrimSpace(tsHdr) != "" && strings.TrimSpace(sigHdr) != "" {
			fam = f
			break
		}
	}
	if fam == nil {
		return Signed{}, &RejectError{Reason: ReasonMissingHeader}
	}

	ts := strings.TrimSpace(tsHdr)
	n, err := strconv.ParseUint(ts, 10, 63)
	if err != nil {
		return Signed{}, &RejectError{Reason: ReasonBadTimestamp}
	}
	sec, sentAt := int64(n), time.Unix(int64(n), 0)
	if len(ts) >= 13 {
		sec, sentAt = sec/1000, time.UnixMilli(int64(n))
	}
	if d := v.now().Unix() - sec; d > int64(Tolerance/time.Second) || d < -int64(Tolerance/time.Second) {
		return Signed{}, &RejectError{Reason: ReasonStale}
	}

	if !slices.ContainsFunc(secrets, func(s string) bool { return s != "" }) {
		return Signed{}, &RejectError{Reason: ReasonNoSecret}
	}
	idx, ok := match(tsHdr, strings.TrimSpace(sigHdr), body, secrets)
	if !ok {
		return Signed{}, &RejectError{Reason: ReasonMismatch}
	}
	return Signed{
		Family:      fam.family,
		SecretIndex: idx,
		SentAt:      sentAt,
		EventID:     h.Get(fam.eventID),
		EventType:   h.Get(fam.eventType),
		DeliveryKey: h.Get(fam.deliveryKey),
		Attempt:     h.Get(fam.attemptHeader),
	}, nil
}

// match returns the index of the first non-empty secret whose MAC equals
// the hex signature sig.
func match(tsHdr, sig string, body []byte, secrets []string) (int, bool) {
	var want [sha256.Size]byte
	if len(sig) != hex.EncodedLen(len(want)) {
		return 0, false
	}
	if _, err := hex.Decode(want[:], []byte(sig)); err != nil {
		return 0, false
	}
	// One scratch buffer holds the key, the "<timestamp>." prefix and the
	// MAC for every secret: the hash.Hash interface makes each of them
	// escape, and separate conversions would cost an allocation apiece.
	keyCap := 0
	for _, s := range secrets {
		keyCap = max(keyCap, len(s))
	}
	scratch := make([]byte, keyCap+len(tsHdr)+1+sha256.Size)
	prefix := append(append(scratch[keyCap:keyCap], tsHdr...), '.')
	sum := scratch[keyCap+len(prefix):]
	for i, secret := range secrets {
		// An empty key would make the MAC computable by anyone.
		if secret == "" {
			continue
		}
		m := hmac.New(sha256.New, append(scratch[:0:keyCap], secret...))
		m.Write(prefix)
		m.Write(body)
		if hmac.Equal(m.Sum(sum[:0]), want[:]) {
			return i, true
		}
	}
	return 0, false
}

// RawBody returns the body bytes of an API Gateway or Lambda URL event, which
// base64-encode binary or non-UTF-8 bodies (isBase64Encoded). Verify needs
// exactly these bytes. A body that is not valid base64 gives an error
// wrapping ErrMalformed (the caller answers 400); a body that cannot be over MaxBodyBytes once decoded is
// refused before decoding, with a *RejectError of ReasonTooLarge.
func RawBody(body string, isBase64 bool) ([]byte, error) {
	if !isBase64 {
		return []byte(body), nil
	}
	if base64.StdEncoding.DecodedLen(len(body)) > base64.StdEncoding.DecodedLen(base64.StdEncoding.EncodedLen(MaxBodyBytes)) {
		return nil, &RejectError{Reason: ReasonTooLarge}
	}
	b, err := base64.StdEncoding.DecodeString(body)
	if err != nil {
		return nil, fmt.Errorf("decode webhook body: %v: %w", err, ErrMalformed)
	}
	return b, nil
}
