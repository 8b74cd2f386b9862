package simulator

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/videojobs/videojobs/internal/webhook"
)

// Attempt states shown in the §4.2 delivery-state object.
const (
	attemptDelivered     = "delivered"
	attemptScheduled     = "scheduled_retry"
	attemptFailedForever = "failed_permanently"
)

// Delivery outcomes recorded by Server.Deliveries.
const (
	OutcomeDelivered = "delivered" // the receiver answered 2xx
	OutcomeFailed    = "failed"    // non-2xx, network error or timeout
	OutcomeDropped   = "dropped"   // webhook.drop: never sent, the gateway believes it delivered
	OutcomeLostAck   = "lost_ack"  // 2xx received, but the gateway retries as if it timed out
)

// Delivery is one outbound POST (or a dropped one) as the simulator made it.
type Delivery struct {
	Seq     int       `json:"seq"`
	Time    time.Time `json:"time"`
	JobID   string    `json:"job_id"`
	JobSeq  int       `json:"job_seq"`
	EventID string    `json:"event_id"`
	Type    string    `json:"type"`
	Key     string    `json:"delivery_key"`
	Attempt int       `json:"attempt"`
	URL     string    `json:"url"`
	Signed  bool      `json:"signed"`
	// Fault names the fault that shaped this POST, e.g. "webhook.duplicate"
	// for the extra copy or "webhook.bad_signature".
	Fault   string `json:"fault,omitempty"`
	Outcome string `json:"outcome"`
	Status  int    `json:"status,omitempty"`
	Error   string `json:"error,omitempty"`
	// State is the attempt status the gateway recorded: delivered,
	// scheduled_retry or failed_permanently ("" for extra copies).
	State string `json:"state,omitempty"`
}

// hookState is the gateway's delivery bookkeeping for one job (§4.2).
type hookState struct {
	attempts           []attemptRecord
	keys               map[string]*keyState
	totalAttempts      int
	lastAttemptAt      time.Time
	lastAttemptStatus  string
	lastResponseStatus int
	lastDeliveredAt    time.Time
	lastFailureAt      time.Time
	lastError          string
	lastDispatchedAt   time.Time
	lastProgress       int
	lastProgressAt     time.Time
	delivered          []string // delivery keys, in delivery order
}

type keyState struct {
	status      string
	nextRetryAt time.Time
}

type attemptRecord struct {
	key, typ, status string
	attempt, max     int
	triedAt          time.Time
	deliveredAt      time.Time
	nextRetryAt      time.Time
	responseStatus   int
	errMsg, preview  string
}

func (h *hookState) nextRetryAt() time.Time {
	var t time.Time
	for _, k := range h.keys {
		if k.status == attemptScheduled && (t.IsZero() || k.nextRetryAt.Before(t)) {
			t = k.nextRetryAt
		}
	}
	return t
}

func intOrNil(n int) any {
	if n == 0 {
		return nil
	}
	return n
}

func strOrNil(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// render is the §4.2 object. The secret is never shown, only has_secret.
func (h *hookState) render(sub *subscription) map[string]any {
	pending := 0
	for _, k := range h.keys {
		if k.status == attemptScheduled {
			pending++
		}
	}
	last := h.attempts
	if len(last) > 10 {
		last = last[len(last)-10:]
	}
	atts := make([]any, 0, len(last))
	for _, a := range last {
		atts = append(atts, map[string]any{
			"id":           fmt.Sprintf("%s:%d:%s", a.key, a.attempt, iso(a.triedAt)),
			"delivery_key": a.key, "event_type": a.typ, "status": a.status,
			"attempt_number": a.attempt, "max_attempts": a.max, "tried_at": iso(a.triedAt),
			"delivered_at": isoOrNil(a.deliveredAt), "next_retry_at": isoOrNil(a.nextRetryAt),
			"response_status": intOrNil(a.responseStatus), "error_message": strOrNil(a.errMsg),
			"response_body_preview": strOrNil(a.preview),
		})
	}
	o := map[string]any{
		"url": sub.url, "events": slices.Clone(sub.events), "has_secret": sub.secret != "",
		"delivery": map[string]any{
			"total_attempts": h.totalAttempts, "delivered_events": len(h.delivered),
			"delivered_event_types": append([]string{}, h.delivered...), "pending_retries": pending,
			"next_retry_at": isoOrNil(h.nextRetryAt()), "last_attempt_at": isoOrNil(h.lastAttemptAt),
			"last_attempt_status": strOrNil(h.lastAttemptStatus), "last_response_status": intOrNil(h.lastResponseStatus),
			"last_delivered_at": isoOrNil(h.lastDeliveredAt), "last_failure_at": isoOrNil(h.lastFailureAt),
			"last_error_message": strOrNil(h.lastError),
		},
		"attempts": atts,
	}
	if sub.endpointID != "" {
		o["endpoint_id"] = sub.endpointID
	}
	return o
}

// delivery is one attempt to send one event.
type delivery struct {
	j       *job
	ev      event
	attempt int
	delayed bool
}

// fire queues the first attempt of each event now.
func (s *Server) fire(j *job, evs []event) {
	now := s.now()
	for _, ev := range evs {
		s.schedule(&delivery{j: j, ev: ev, attempt: 1}, now)
	}
}

// EventID is the gateway's event id for a job and delivery key: characters
// outside [A-Za-z0-9_-] become "_", at most 160 characters (§6).
func EventID(jobID, key string) string {
	b := []byte("evt_video_" + jobID + "_" + key)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			b[i] = '_'
		}
	}
	if len(b) > 160 {
		b = b[:160]
	}
	return string(b)
}

type payloadDelivery struct {
	Key         string `json:"key"`
	Attempt     int    `json:"attempt"`
	MaxAttempts int    `json:"max_attempts"`
}

type payload struct {
	ID           string          `json:"id"`
	Type         string          `json:"type"`
	CreatedAt    int64           `json:"created_at"`
	Delivery     payloadDelivery `json:"delivery"`
	StatusChange map[string]any  `json:"status_change,omitempty"`
	Data         map[string]any  `json:"data"`
}

func (s *Server) maxAttempts() int { return len(s.cfg.RetryDelays) + 1 }

// body renders one attempt's payload; created_at is the send time, so it
// differs per attempt. It takes j.mu to read the job and encodes outside it.
func (s *Server) body(j *job, st Settings, ev event, attempt int, now time.Time) []byte {
	j.mu.Lock()
	j.hs.lastDispatchedAt = now
	p := payload{
		ID: EventID(j.id, ev.key), Type: ev.typ, CreatedAt: now.Unix(),
		Delivery: payloadDelivery{Key: ev.key, Attempt: attempt, MaxAttempts: s.maxAttempts()},
		Data:     s.webhookData(j, st, ev, now),
	}
	j.mu.Unlock()
	if ev.phase == "status_changed" {
		p.StatusChange = map[string]any{"previous_status": ev.prevStatus, "status": ev.status}
	}
	b, err := json.Marshal(p)
	if err != nil {
		// Only maps of plain values go in; this cannot fail.
		panic(fmt.Sprintf("simulator: encode payload: %v", err))
	}
	return b
}

type sendResult struct {
	status  int
	preview string
	err     error
}

type outbound struct {
	url, secret string
	eventID     string
	ev          event
	attempt     int
	body        []byte
	ts          string
	badSig      bool
}

// post sends one delivery with the variant's headers.
func (s *Server) post(o outbound) sendResult {
	ctx, cancel := context.WithTimeout(s.ctx, s.cfg.WebhookTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, o.url, bytes.NewReader(o.body))
	if err != nil {
		return sendResult{err: err}
	}
	prefix, ua := "x-ai-stats-", "AI-Stats-Async-Webhook/1.0"
	if s.phaseo() {
		prefix, ua = "x-phaseo-", "Phaseo-Async-Webhook/1.0"
	}
	h := req.Header
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", ua)
	if o.secret != "" {
		sig := webhook.Sign(o.secret, o.ts, o.body)
		if o.badSig {
			sig = corrupt(sig)
		}
		h.Set(prefix+"timestamp", o.ts)
		h.Set(prefix+"signature", sig)
	}
	h.Set(prefix+"event-id", o.eventID)
	h.Set(prefix+"event-type", o.ev.typ)
	h.Set(prefix+"delivery-key", o.ev.key)
	h.Set(prefix+"attempt", strconv.Itoa(o.attempt))
	h.Set(prefix+"max-attempts", strconv.Itoa(s.maxAttempts()))
	return s.do(req)
}

func (s *Server) do(req *http.Request) sendResult {
	resp, err := s.client.Do(req)
	if err != nil {
		return sendResult{err: err}
	}
	defer resp.Body.Close()
	pre, _ := io.ReadAll(io.LimitReader(resp.Body, 500))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return sendResult{status: resp.StatusCode, preview: string(pre)}
}

// corrupt flips the last hex digit so the signature no longer verifies.
func corrupt(sig string) string {
	if sig == "" {
		return sig
	}
	last := sig[len(sig)-1]
	repl := byte('0')
	if last == '0' {
		repl = '1'
	}
	return sig[:len(sig)-1] + string(repl)
}

// deliver runs one attempt: applies the faults drawn for (job, key,
// attempt), sends, records the result and schedules the retry.
func (s *Server) deliver(d *delivery) {
	now := s.now()
	j := d.j
	sub := j.hook
	if sub == nil {
		return
	}
	st := s.Settings()
	scope := []string{d.ev.key, strconv.Itoa(d.attempt)}
	if !d.delayed && s.hasFault(j, FaultWebhookDelay, st.Faults, scope...) {
		d.delayed = true
		u := unit(s.cfg.Seed, "delay", strconv.Itoa(j.seq), d.ev.key, strconv.Itoa(d.attempt))
		wait := s.scaled(time.Duration(u * float64(s.cfg.WebhookDelayMax)))
		s.schedule(d, now.Add(wait))
		return
	}
	drop := s.hasFault(j, FaultWebhookDrop, st.Faults, scope...)
	badSig := s.hasFault(j, FaultWebhookBadSignature, st.Faults, scope...)
	stale := s.hasFault(j, FaultWebhookStaleTimestamp, st.Faults, scope...)
	lostAck := d.attempt < s.maxAttempts() && s.hasFault(j, FaultWebhookLostAck, st.Faults, scope...)
	dup := s.hasFault(j, FaultWebhookDuplicate, st.Faults, scope...)
	isTerminal := terminal(d.ev.status) && d.ev.phase != "status_changed"
	foreign := isTerminal && d.attempt == 1 && s.hasFault(j, FaultWebhookForeign, st.Faults, scope...)
	reorder := isTerminal && d.attempt == 1 && s.hasFault(j, FaultWebhookReorder, st.Faults, scope...)
	body := s.body(j, st, d.ev, d.attempt, now)

	fault := ""
	if d.delayed {
		fault = FaultWebhookDelay
	}
	ts := now.Unix()
	switch {
	case stale:
		fault, ts = FaultWebhookStaleTimestamp, ts-600
	case badSig:
		fault = FaultWebhookBadSignature
	}
	o := outbound{
		url: sub.url, secret: sub.secret, eventID: EventID(j.id, d.ev.key), ev: d.ev,
		attempt: d.attempt, body: body, ts: strconv.FormatInt(ts, 10), badSig: badSig && !stale,
	}
	var res sendResult
	outcome := OutcomeDelivered
	if drop {
		fault, outcome = FaultWebhookDrop, OutcomeDropped
		res.status = http.StatusOK
	} else {
		res = s.post(o)
		switch {
		case res.err != nil || res.status < 200 || res.status > 299:
			outcome = OutcomeFailed
		case lostAck:
			fault, outcome = FaultWebhookLostAck, OutcomeLostAck
		}
	}
	state := s.recordAttempt(d, res, outcome, now)
	s.logDelivery(Delivery{
		Time: now, JobID: j.id, JobSeq: j.seq, EventID: o.eventID, Type: d.ev.typ, Key: d.ev.key,
		Attempt: d.attempt, URL: sub.url, Signed: sub.secret != "", Fault: fault, Outcome: outcome,
		Status: res.status, Error: errString(res.err), State: state,
	})
	if drop {
		return
	}
	if dup {
		copyAttempt := d.attempt
		if unit(s.cfg.Seed, "dup-next", strconv.Itoa(j.seq), d.ev.key, strconv.Itoa(d.attempt)) < 0.5 {
			copyAttempt = min(d.attempt+1, s.maxAttempts())
		}
		s.sendCopy(j, sub, st, d.ev, copyAttempt, FaultWebhookDuplicate)
	}
	if reorder {
		// Replay the latest progress bucket the job fired, or 50 if none.
		b := 0
		j.mu.Lock()
		for k, sent := range j.sentBuckets {
			if sent {
				b = max(b, k)
			}
		}
		j.mu.Unlock()
		if b == 0 {
			b = 50
		}
		stale := event{phase: "progress", key: "video.progress:" + strconv.Itoa(b), typ: "video.progress", bucket: b, status: statusProcessing}
		s.sendCopy(j, sub, st, stale, 2, FaultWebhookReorder)
	}
	if foreign {
		s.sendForeign(j, sub, d.ev)
	}
}

// sendCopy sends an extra, correctly signed copy of an event outside the
// retry bookkeeping (duplicate and reorder faults).
func (s *Server) sendCopy(j *job, sub *subscription, st Settings, ev event, attempt int, fault string) {
	now := s.now()
	body := s.body(j, st, ev, attempt, now)
	o := outbound{url: sub.url, secret: sub.secret, eventID: EventID(j.id, ev.key), ev: ev,
		attempt: attempt, body: body, ts: strconv.FormatInt(now.Unix(), 10)}
	res := s.post(o)
	s.logDelivery(Delivery{
		Time: now, JobID: j.id, JobSeq: j.seq, EventID: o.eventID, Type: ev.typ, Key: ev.key,
		Attempt: attempt, URL: sub.url, Signed: sub.secret != "", Fault: fault,
		Outcome: outcomeOf(res), Status: res.status, Error: errString(res.err),
	})
}

// sendForeign posts a provider-native, unsigned callback to the job's
// webhook URL, as an upstream given the URL as its callback_url would.
func (s *Server) sendForeign(j *job, sub *subscription, ev event) {
	now := s.now()
	b, _ := json.Marshal(map[string]any{
		"id": "evt_" + j.nativeID, "object": "event", "type": ev.typ, "created_at": now.Unix(),
		"data": map[string]any{"id": j.nativeID, "object": "video", "status": ev.status},
	})
	ctx, cancel := context.WithTimeout(s.ctx, s.cfg.WebhookTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, sub.url, bytes.NewReader(b))
	var res sendResult
	if err == nil {
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("User-Agent", "OpenAI/1.0 (+https://platform.openai.com/docs/webhooks)")
		req.Header.Set("webhook-id", "wh_"+j.nativeID)
		req.Header.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
		req.Header.Set("webhook-signature", "v1,bm90LWEtcmVhbC1zaWduYXR1cmU=")
		res = s.do(req)
	} else {
		res.err = err
	}
	s.logDelivery(Delivery{
		Time: now, JobID: j.id, JobSeq: j.seq, EventID: "evt_" + j.nativeID, Type: ev.typ, Key: "foreign",
		Attempt: 1, URL: sub.url, Fault: FaultWebhookForeign, Outcome: outcomeOf(res),
		Status: res.status, Error: errString(res.err),
	})
}

func outcomeOf(r sendResult) string {
	if r.err == nil && r.status >= 200 && r.status <= 299 {
		return OutcomeDelivered
	}
	return OutcomeFailed
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// recordAttempt updates the §4.2 state and schedules the next attempt of a
// failed delivery. It returns the attempt status.
func (s *Server) recordAttempt(d *delivery, res sendResult, outcome string, now time.Time) string {
	j := d.j
	j.mu.Lock()
	h := &j.hs
	if h.keys == nil {
		h.keys = map[string]*keyState{}
	}
	rec := attemptRecord{key: d.ev.key, typ: d.ev.typ, attempt: d.attempt, max: s.maxAttempts(), triedAt: now}
	h.totalAttempts++
	h.lastAttemptAt = now
	var retryAt time.Time
	switch outcome {
	case OutcomeDelivered, OutcomeDropped:
		rec.status, rec.deliveredAt, rec.responseStatus = attemptDelivered, now, res.status
		rec.preview = res.preview
		h.lastResponseStatus, h.lastDeliveredAt = res.status, now
		h.keys[d.ev.key] = &keyState{status: attemptDelivered}
		if !slices.Contains(h.delivered, d.ev.key) {
			h.delivered = append(h.delivered, d.ev.key)
		}
		if d.ev.phase == "progress" {
			h.lastProgress, h.lastProgressAt = d.ev.bucket, now
		}
	default:
		msg := errString(res.err)
		switch {
		case outcome == OutcomeLostAck:
			msg = "timeout: no response within the delivery timeout"
			res.status = 0
		case msg == "":
			msg = "HTTP " + strconv.Itoa(res.status)
		}
		rec.responseStatus, rec.errMsg, rec.preview = res.status, msg, res.preview
		h.lastResponseStatus, h.lastFailureAt, h.lastError = res.status, now, msg
		if d.attempt < s.maxAttempts() {
			retryAt = now.Add(s.scaled(s.cfg.RetryDelays[d.attempt-1]))
			rec.status, rec.nextRetryAt = attemptScheduled, retryAt
			h.keys[d.ev.key] = &keyState{status: attemptScheduled, nextRetryAt: retryAt}
		} else {
			rec.status = attemptFailedForever
			h.keys[d.ev.key] = &keyState{status: attemptFailedForever}
		}
	}
	h.lastAttemptStatus = rec.status
	h.attempts = append(h.attempts, rec)
	j.mu.Unlock()
	if !retryAt.IsZero() {
		s.schedule(&delivery{j: j, ev: d.ev, attempt: d.attempt + 1}, retryAt)
	}
	return rec.status
}

func (s *Server) logDelivery(d Delivery) {
	s.recMu.Lock()
	s.nDel++
	d.Seq = s.nDel
	s.deliveries = appendCapped(s.deliveries, d, s.cfg.MaxRecords)
	s.recMu.Unlock()
	s.log.Info("webhook delivery", "jobId", d.JobID, "deliveryKey", d.Key, "attempt", d.Attempt,
		"outcome", d.Outcome, "status", d.Status, "fault", d.Fault)
}
