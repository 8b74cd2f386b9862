package chaos

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/videojobs/videojobs/internal/localapi"
	"github.com/videojobs/videojobs/internal/webhook"
)

// Forgery kinds: callbacks no honest gateway sends. Each must be answered
// 401 and change nothing.
const (
	// ForgeUnsigned carries no signature headers at all.
	ForgeUnsigned = "unsigned"
	// ForgeWrongSecret is signed with a secret the bundle never issued.
	ForgeWrongSecret = "wrong_secret"
	// ForgeOtherJobSecret is signed with another job's derived secret (a
	// secret leaked from one job must forge nothing for another).
	ForgeOtherJobSecret = "other_job_secret"
	// ForgeStaleReplay is correctly signed for the job, with a timestamp
	// ten minutes old (a captured delivery replayed later).
	ForgeStaleReplay = "stale_replay"
	// ForgeUnknownJob is correctly signed for a job id the bundle never
	// made: it must not create anything.
	ForgeUnknownJob = "unknown_job"
	// ForgeBadSignatureHex has a signature header that is not hex.
	ForgeBadSignatureHex = "garbled_signature"
)

// ForgeKinds lists every kind, in the order the run cycles through them.
var ForgeKinds = []string{ForgeUnsigned, ForgeWrongSecret, ForgeOtherJobSecret, ForgeStaleReplay, ForgeUnknownJob, ForgeBadSignatureHex}

// Forgery is one forged callback and its answer.
type Forgery struct {
	Kind  string
	JobID string
	// Claim is the state the forged payload claims, chosen so the job
	// never reaches it honestly: if it shows up in the job's history, the
	// forgery changed something.
	Claim string
	// Status is the last answer; Answers every answer (0: none).
	Status  int
	Answers []int
	Err     string
	// EventID is the forged payload id; no delivery record may carry it.
	EventID string
	// UnknownJobID is the job id a ForgeUnknownJob targets.
	UnknownJobID string
}

// NewJobID makes a well-formed job id ("vj_" + 26 Crockford base32) that no
// job holds.
func NewJobID() string {
	const alphabet = "0123456789abcdefghjkmnpqrstvwxyz"
	var b [26]byte
	_, _ = rand.Read(b[:])
	for i := range b {
		b[i] = alphabet[b[i]%32]
	}
	return "vj_" + string(b[:])
}

// ForgedPayload is a gateway-shaped webhook body for a provider job claiming
// status; id is the payload id.
func ForgedPayload(id, providerJobID, status string, at time.Time) []byte {
	typ := "video." + status
	b, _ := json.Marshal(map[string]any{
		"id": id, "type": typ, "created_at": at.Unix(),
		"delivery": map[string]any{"key": typ, "attempt": 1, "max_attempts": 4},
		"data": map[string]any{"id": providerJobID, "object": "video", "status": status,
			"lifecycle_status": status},
	})
	return b
}

// SignedHeaders are the x-ai-stats-* headers of a delivery signed with
// secret at ts.
func SignedHeaders(secret string, ts time.Time, body []byte, eventID, eventType string) http.Header {
	t := strconv.FormatInt(ts.Unix(), 10)
	h := http.Header{}
	h.Set("X-Ai-Stats-Timestamp", t)
	h.Set("X-Ai-Stats-Signature", webhook.Sign(secret, t, body))
	h.Set("X-Ai-Stats-Event-Id", eventID)
	h.Set("X-Ai-Stats-Event-Type", eventType)
	h.Set("X-Ai-Stats-Delivery-Key", eventType)
	h.Set("X-Ai-Stats-Attempt", "1")
	h.Set("User-Agent", "AI-Stats-Async-Webhook/1.0")
	return h
}

// forge sends one forged callback of kind at the job. master is the
// current webhook master secret (the harness knows it; an attacker would
// know at most one job's derived secret); otherJob is another job's id.
func forge(ctx context.Context, c *localapi.Client, kind, jobID, providerJobID, claim, master, otherJob string, n int) Forgery {
	f := Forgery{Kind: kind, JobID: jobID, Claim: claim}
	now := time.Now()
	f.EventID = fmt.Sprintf("evt_video_%s_forged_%d", providerJobID, n)
	body := ForgedPayload(f.EventID, providerJobID, claim, now)
	target := jobID
	var h http.Header
	switch kind {
	case ForgeUnsigned:
		h = SignedHeaders("x", now, body, f.EventID, "video."+claim)
		h.Del("X-Ai-Stats-Timestamp")
		h.Del("X-Ai-Stats-Signature")
	case ForgeWrongSecret:
		h = SignedHeaders("whsec_not_issued_by_videojobs", now, body, f.EventID, "video."+claim)
	case ForgeOtherJobSecret:
		h = SignedHeaders(webhook.DeriveSecret([]byte(master), otherJob), now, body, f.EventID, "video."+claim)
	case ForgeStaleReplay:
		old := now.Add(-10 * time.Minute)
		body = ForgedPayload(f.EventID, providerJobID, claim, old)
		h = SignedHeaders(webhook.DeriveSecret([]byte(master), jobID), old, body, f.EventID, "video."+claim)
	case ForgeUnknownJob:
		target = NewJobID()
		f.UnknownJobID = target
		h = SignedHeaders(webhook.DeriveSecret([]byte(master), target), now, body, f.EventID, "video."+claim)
	case ForgeBadSignatureHex:
		h = SignedHeaders("x", now, body, f.EventID, "video."+claim)
		h.Set("X-Ai-Stats-Signature", strings.Repeat("zz", 32))
	}
	// A 5xx means the webhook process died under the harness's own kill;
	// send again, as the gateway (or a patient attacker) would.
	for attempt := range 4 {
		if attempt > 0 {
			sleep(ctx, 200*time.Millisecond)
		}
		r, err := c.Do(ctx, http.MethodPost, "/webhooks/ai-stats?job="+url.QueryEscape(target), body, h)
		if err != nil {
			f.Err = err.Error()
			f.Answers = append(f.Answers, 0)
			continue
		}
		f.Status, f.Err = r.Status, ""
		f.Answers = append(f.Answers, r.Status)
		if r.Status < 500 {
			break
		}
	}
	return f
}
