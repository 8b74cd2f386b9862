package simulator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// createRequest is the validated part of a create body the simulator uses.
type createRequest struct {
	duration    *int
	size        string
	resolution  string
	aspectRatio string
	audio       *bool
	sampleCount int
	access      string
}

var (
	sizeRE   = regexp.MustCompile(`^[1-9][0-9]*x[1-9][0-9]*$`)
	aspectRE = regexp.MustCompile(`^[1-9][0-9]*:[1-9][0-9]*$`)
)

var resolutions = []string{"480p", "720p", "1080p", "1K", "2K", "4K"}

// validator collects validation_error details in the gateway's shape.
type validator struct{ details []detail }

func (v *validator) add(path []any, keyword, msg string, params map[string]any) {
	if params == nil {
		params = map[string]any{}
	}
	if path == nil {
		path = []any{}
	}
	v.details = append(v.details, detail{Message: msg, Path: path, Keyword: keyword, Params: params})
}

func (v *validator) typed(raw json.RawMessage, path []any, want string) bool {
	ok := false
	t := bytes.TrimSpace(raw)
	switch want {
	case "string":
		ok = len(t) > 0 && t[0] == '"'
	case "boolean":
		ok = string(t) == "true" || string(t) == "false"
	case "object":
		ok = len(t) > 0 && t[0] == '{'
	case "array":
		ok = len(t) > 0 && t[0] == '['
	case "integer":
		var f float64
		ok = json.Unmarshal(t, &f) == nil && f == math.Trunc(f) && len(t) > 0 && t[0] != '"'
	}
	if !ok {
		v.add(path, "type", "must be "+want, map[string]any{"type": want})
	}
	return ok
}

func (v *validator) str(raw json.RawMessage, path []any) (string, bool) {
	if !v.typed(raw, path, "string") {
		return "", false
	}
	var s string
	_ = json.Unmarshal(raw, &s)
	return s, true
}

func (v *validator) integer(raw json.RawMessage, path []any, lo, hi int) (int, bool) {
	if !v.typed(raw, path, "integer") {
		return 0, false
	}
	var f float64
	_ = json.Unmarshal(raw, &f)
	if f < float64(lo) {
		v.add(path, "minimum", fmt.Sprintf("must be >= %d", lo), map[string]any{"comparison": ">=", "limit": lo})
		return 0, false
	}
	if f > float64(hi) {
		v.add(path, "maximum", fmt.Sprintf("must be <= %d", hi), map[string]any{"comparison": "<=", "limit": hi})
		return 0, false
	}
	return int(f), true
}

func (v *validator) strict(obj map[string]json.RawMessage, path []any, allowed ...string) {
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !slices.Contains(allowed, k) {
			v.add(path, "additionalProperties", "must NOT have additional properties",
				map[string]any{"additionalProperty": k})
		}
	}
}

var topLevelKeys = []string{
	"model", "prompt", "duration", "size", "resolution", "aspect_ratio", "seed", "sample_count",
	"negative_prompt", "person_generation", "resize_mode", "generate_audio", "enhance_prompt",
	"compression_quality", "input_references", "provider_params", "output", "webhook",
	"provider", "routing", "debug", "beta", "echo_upstream_request",
}

var roles = []string{"first_frame", "last_frame", "reference", "source", "mask"}

// parseCreate validates a create body. It returns either the request or
// writes the 400 itself.
func (s *Server) parseCreate(w http.ResponseWriter, r *http.Request, raw []byte) (createRequest, string, string, *subscription, bool) {
	var body map[string]json.RawMessage
	if err := json.Unmarshal(raw, &body); err != nil {
		var v any
		if json.Unmarshal(raw, &v) == nil {
			s.validationError(w, r, "invalid_request_body", detail{Message: "must be object", Path: []any{}, Keyword: "type", Params: map[string]any{"type": "object"}})
		} else {
			s.writeError(w, r, http.StatusBadRequest, "invalid_json", "invalid_json", "Request body is not valid JSON.", nil)
		}
		return createRequest{}, "", "", nil, false
	}
	var v validator
	allowed := topLevelKeys
	if s.phaseo() {
		allowed = append(slices.Clone(topLevelKeys), "seconds", "input_reference")
	}
	v.strict(body, nil, allowed...)

	modelRaw, ok := body["model"]
	var model string
	if ok {
		model, ok = v.str(modelRaw, []any{"model"})
	}
	if !ok && modelRaw == nil || ok && strings.TrimSpace(model) == "" {
		s.writeError(w, r, http.StatusBadRequest, "model_required", "model_required", "A model is required.", nil)
		return createRequest{}, "", "", nil, false
	}
	var prompt string
	if p, ok := body["prompt"]; !ok {
		v.add(nil, "required", "must have required property 'prompt'", map[string]any{"missingProperty": "prompt"})
	} else if prompt, ok = v.str(p, []any{"prompt"}); ok && strings.TrimSpace(prompt) == "" {
		v.add([]any{"prompt"}, "minLength", "must NOT have fewer than 1 characters", map[string]any{"limit": 1})
	}

	var req createRequest
	req.sampleCount = 1
	req.access = "both"
	if d, ok := body["duration"]; ok {
		if n, ok := v.integer(d, []any{"duration"}, 1, 120); ok {
			req.duration = &n
		}
	}
	if sec, ok := body["seconds"]; ok {
		if str, ok := v.str(sec, []any{"seconds"}); ok {
			n, err := strconv.Atoi(str)
			if err != nil || n < 4 || n > 20 {
				v.add([]any{"seconds"}, "enum", "must be a whole number of seconds from \"4\" to \"20\"", nil)
			} else {
				req.duration = &n
			}
		}
	}
	if sz, ok := body["size"]; ok {
		if str, ok := v.str(sz, []any{"size"}); ok {
			if !sizeRE.MatchString(str) {
				v.add([]any{"size"}, "pattern", "must match WIDTHxHEIGHT", map[string]any{"pattern": sizeRE.String()})
			}
			req.size = str
		}
		_, res := body["resolution"]
		_, ar := body["aspect_ratio"]
		if res || ar {
			v.add([]any{"size"}, "custom", "size cannot be combined with resolution or aspect_ratio", nil)
		}
	}
	if res, ok := body["resolution"]; ok {
		if str, ok := v.str(res, []any{"resolution"}); ok {
			if !slices.Contains(resolutions, str) {
				v.add([]any{"resolution"}, "enum", "must be equal to one of the allowed values", map[string]any{"allowedValues": resolutions})
			}
			req.resolution = str
		}
	}
	if ar, ok := body["aspect_ratio"]; ok {
		if str, ok := v.str(ar, []any{"aspect_ratio"}); ok {
			if !aspectRE.MatchString(str) {
				v.add([]any{"aspect_ratio"}, "pattern", "must match W:H", map[string]any{"pattern": aspectRE.String()})
			}
			req.aspectRatio = str
		}
	}
	if sd, ok := body["seed"]; ok {
		v.integer(sd, []any{"seed"}, math.MinInt32, math.MaxInt32)
	}
	if sc, ok := body["sample_count"]; ok {
		hi := math.MaxInt32
		if s.phaseo() {
			hi = 4
		}
		if n, ok := v.integer(sc, []any{"sample_count"}, 1, hi); ok {
			req.sampleCount = min(n, 4)
		}
	}
	for _, k := range []string{"negative_prompt", "person_generation", "resize_mode"} {
		if x, ok := body[k]; ok {
			v.str(x, []any{k})
		}
	}
	for _, k := range []string{"generate_audio", "enhance_prompt", "beta", "echo_upstream_request"} {
		if x, ok := body[k]; ok && v.typed(x, []any{k}, "boolean") && k == "generate_audio" {
			var b bool
			_ = json.Unmarshal(x, &b)
			req.audio = &b
		}
	}
	if cq, ok := body["compression_quality"]; ok {
		v.integer(cq, []any{"compression_quality"}, 0, 100)
	}
	for _, k := range []string{"provider_params", "provider", "routing", "debug"} {
		if x, ok := body[k]; ok {
			v.typed(x, []any{k}, "object")
		}
	}
	if refs, ok := body["input_references"]; ok && v.typed(refs, []any{"input_references"}, "array") {
		var items []json.RawMessage
		_ = json.Unmarshal(refs, &items)
		for i, it := range items {
			s.validateReference(&v, it, []any{"input_references", i})
		}
	}
	if out, ok := body["output"]; ok && v.typed(out, []any{"output"}, "object") {
		var o map[string]json.RawMessage
		_ = json.Unmarshal(out, &o)
		v.strict(o, []any{"output"}, "access")
		if a, ok := o["access"]; ok {
			if str, ok := v.str(a, []any{"output", "access"}); ok {
				if !slices.Contains([]string{"bytes", "signed_url", "both"}, str) {
					v.add([]any{"output", "access"}, "enum", "must be equal to one of the allowed values",
						map[string]any{"allowedValues": []string{"bytes", "signed_url", "both"}})
				}
				req.access = str
			}
		}
	}
	var sub *subscription
	if wh, ok := body["webhook"]; ok {
		var err error
		sub, err = s.parseWebhook(wh)
		if err != nil {
			v.add([]any{"webhook"}, "custom", "Invalid video webhook configuration", nil)
		}
	}
	if len(v.details) > 0 {
		s.validationError(w, r, "invalid_request_body", v.details...)
		return createRequest{}, "", "", nil, false
	}
	return req, model, prompt, sub, true
}

func (s *Server) validateReference(v *validator, raw json.RawMessage, path []any) {
	if !v.typed(raw, path, "object") {
		return
	}
	var o map[string]json.RawMessage
	_ = json.Unmarshal(raw, &o)
	v.strict(o, path, "type", "role", "reference_type", "image_url")
	if t, ok := o["type"]; !ok {
		v.add(path, "required", "must have required property 'type'", map[string]any{"missingProperty": "type"})
	} else if str, ok := v.str(t, append(slices.Clone(path), "type")); ok && str != "image_url" {
		v.add(append(slices.Clone(path), "type"), "const", "must be equal to constant", map[string]any{"allowedValue": "image_url"})
	}
	if role, ok := o["role"]; ok {
		if str, ok := v.str(role, append(slices.Clone(path), "role")); ok && !slices.Contains(roles, str) {
			v.add(append(slices.Clone(path), "role"), "enum", "must be equal to one of the allowed values", map[string]any{"allowedValues": roles})
		}
	}
	if rt, ok := o["reference_type"]; ok {
		v.str(rt, append(slices.Clone(path), "reference_type"))
	}
	iu, ok := o["image_url"]
	if !ok {
		v.add(path, "required", "must have required property 'image_url'", map[string]any{"missingProperty": "image_url"})
		return
	}
	if !v.typed(iu, append(slices.Clone(path), "image_url"), "object") {
		return
	}
	var u map[string]json.RawMessage
	_ = json.Unmarshal(iu, &u)
	v.strict(u, append(slices.Clone(path), "image_url"), "url")
	if x, ok := u["url"]; ok {
		v.str(x, append(slices.Clone(path), "image_url", "url"))
	} else {
		v.add(append(slices.Clone(path), "image_url"), "required", "must have required property 'url'", map[string]any{"missingProperty": "url"})
	}
}

var defaultEvents = []string{"job.completed", "job.failed", "job.cancelled", "job.expired"}

var phases = []string{"created", "progress", "completed", "failed", "cancelled", "expired"}

// parseWebhook validates and normalises a webhook subscription
// (contract §3.1 and, for the phaseo variant, §9).
func (s *Server) parseWebhook(raw json.RawMessage) (*subscription, error) {
	var o map[string]json.RawMessage
	if err := json.Unmarshal(raw, &o); err != nil {
		return nil, fmt.Errorf("webhook is not an object")
	}
	sub := &subscription{}
	allowed := []string{"url", "secret", "events"}
	if s.phaseo() {
		allowed = append(allowed, "endpoint_id")
	}
	for k := range o {
		if !slices.Contains(allowed, k) {
			return nil, fmt.Errorf("webhook: unknown key %s", k)
		}
	}
	if eid, ok := o["endpoint_id"]; ok {
		if err := json.Unmarshal(eid, &sub.endpointID); err != nil || sub.endpointID == "" {
			return nil, fmt.Errorf("webhook endpoint_id")
		}
		ep, found := s.cfg.Endpoints[sub.endpointID]
		if !found || o["url"] != nil || o["secret"] != nil {
			return nil, fmt.Errorf("webhook endpoint %s", sub.endpointID)
		}
		sub.url, sub.secret = ep.URL, ep.Secret
	} else {
		u, ok := o["url"]
		if !ok || json.Unmarshal(u, &sub.url) != nil || sub.url == "" {
			return nil, fmt.Errorf("webhook url required")
		}
		if err := checkWebhookURL(sub.url); err != nil {
			return nil, err
		}
		if sec, ok := o["secret"]; ok {
			if json.Unmarshal(sec, &sub.secret) != nil || sub.secret == "" {
				return nil, fmt.Errorf("webhook secret must be a non-empty string")
			}
		}
	}
	sub.events = slices.Clone(defaultEvents)
	if s.phaseo() {
		sub.events = append(sub.events, "job.status_changed")
	}
	if ev, ok := o["events"]; ok {
		var list []any
		if err := json.Unmarshal(ev, &list); err != nil {
			return nil, fmt.Errorf("webhook events must be an array")
		}
		var norm []string
		for _, e := range list {
			str, ok := e.(string)
			if !ok {
				continue
			}
			if n := s.normaliseEvent(str); n != "" && !slices.Contains(norm, n) {
				norm = append(norm, n)
			}
		}
		if len(norm) == 0 {
			return nil, fmt.Errorf("webhook events: none applies to video jobs")
		}
		sub.events = norm
	}
	return sub, nil
}

// normaliseEvent applies the observed normalisation; "" drops the entry.
func (s *Server) normaliseEvent(e string) string {
	e = strings.ToLower(strings.TrimSpace(e))
	ns, phase, found := strings.Cut(e, ".")
	if !found {
		ns, phase = "job", e
	}
	if phase == "canceled" {
		phase = "cancelled"
	}
	if ns != "job" && ns != "video" {
		return ""
	}
	if phase == "status_changed" && s.phaseo() {
		return ns + "." + phase
	}
	if !slices.Contains(phases, phase) {
		return ""
	}
	return ns + "." + phase
}

// checkWebhookURL applies the literal-host check (contract §3.1): https
// anywhere public, plain http only for the three loopback forms.
func checkWebhookURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Errorf("webhook url %q is not absolute", raw)
	}
	host := u.Hostname()
	switch u.Scheme {
	case "http":
		if host == "localhost" || host == "127.0.0.1" || host == "::1" && strings.HasPrefix(u.Host, "[") {
			return nil
		}
		return fmt.Errorf("webhook url: plain http only for localhost")
	case "https":
	default:
		return fmt.Errorf("webhook url scheme %q", u.Scheme)
	}
	if strings.EqualFold(host, "localhost") {
		return fmt.Errorf("webhook url: https://localhost is refused")
	}
	if ip, err := netip.ParseAddr(host); err == nil && privateAddr(ip) {
		return fmt.Errorf("webhook url: private address %s", ip)
	}
	return nil
}

var privatePrefixes = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("127.0.0.0/8"),
	netip.MustParsePrefix("169.254.0.0/16"),
	netip.MustParsePrefix("172.16.0.0/12"),
	netip.MustParsePrefix("192.168.0.0/16"),
	netip.MustParsePrefix("::/128"),
	netip.MustParsePrefix("::1/128"),
	netip.MustParsePrefix("fc00::/7"),
	netip.MustParsePrefix("fe80::/10"),
}

func privateAddr(ip netip.Addr) bool {
	ip = ip.WithZone("")
	if ip.Is4In6() {
		ip = ip.Unmap()
	}
	for _, p := range privatePrefixes {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// handleCreate is POST /v1/videos. There is no idempotency: every accepted
// POST is a new job, whatever Idempotency-Key says.
func (s *Server) handleCreate(w http.ResponseWriter, r *http.Request) {
	raw, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		s.writeError(w, r, http.StatusBadRequest, "invalid_json", "invalid_json", "Could not read the body.", nil)
		return
	}
	req, model, prompt, sub, ok := s.parseCreate(w, r, raw)
	if !ok {
		return
	}
	directive, _, err := ParseDirective(prompt)
	if err != nil {
		s.validationError(w, r, "invalid_sim_directive", detail{Message: err.Error(), Path: []any{"prompt"}, Keyword: "custom", Params: map[string]any{}})
		return
	}

	now := s.now()
	st := s.Settings()
	s.mu.Lock()
	seq := s.creates + 1
	// Faults that refuse the create are decided before any job exists.
	pre := &job{seq: seq, faults: forced(directive.Faults)}
	switch {
	case s.hasFault(pre, FaultCreate402, st.Faults, "create"):
		s.mu.Unlock()
		note(r).Fault = FaultCreate402
		s.writeError(w, r, http.StatusPaymentRequired, "insufficient_funds", "insufficient_funds",
			"Wallet balance cannot cover the reservation.", nil)
		return
	case s.hasFault(pre, FaultCreate503, st.Faults, "create"):
		s.mu.Unlock()
		note(r).Fault = FaultCreate503
		s.writeError(w, r, http.StatusServiceUnavailable, "reservation_not_held", "reservation_not_held",
			"The funds reservation could not be held.", nil)
		return
	}
	s.creates = seq
	j := s.newJob(seq, now, r, req, model, prompt, sub, directive, st)
	var evs []event
	if !terminal(j.status) && sub.covers("created") {
		evs = append(evs, event{phase: "created", key: "video.created", typ: "video.created", status: j.status})
	}
	after5xx := s.hasFault(j, FaultCreate5xx, st.Faults, "create")
	afterHang := !after5xx && s.hasFault(j, FaultCreateTimeout, st.Faults, "create")
	// Render before publishing the job: nobody else can touch it yet.
	resp := s.createResponse(j, st, now)
	s.jobs[j.id] = j
	s.order = append(s.order, j)
	s.mu.Unlock()
	note(r).JobID = j.id
	s.fire(j, evs)

	switch {
	case after5xx:
		note(r).Fault = FaultCreate5xx
		s.writeError(w, r, http.StatusInternalServerError, "gateway_error", "internal_error",
			"Internal gateway error.", nil)
	case afterHang:
		note(r).Fault = FaultCreateTimeout
		s.sleep(r.Context(), s.cfg.HangFor)
		// Cut the connection without a reply: the job exists, the client
		// cannot know.
		panic(http.ErrAbortHandler)
	default:
		writeJSON(w, http.StatusAccepted, resp)
	}
}

func forced(names []string) map[string]bool {
	m := map[string]bool{}
	for _, f := range names {
		if c, err := canonicalFault(f); err == nil {
			m[c] = true
		}
	}
	return m
}

// newJob scripts a job: defaults, then the first matching rule or a seeded
// outcome draw, then the prompt directive.
func (s *Server) newJob(seq int, now time.Time, r *http.Request, req createRequest, model, prompt string, sub *subscription, directive Plan, st Settings) *job {
	queue, gen := Duration(10*time.Second), Duration(180*time.Second)
	plan := Plan{Outcome: statusCompleted, Queue: &queue, Duration: &gen}
	plan = plan.overlay(st.Defaults)
	if o := drawOutcome(st.Outcomes, unit(s.cfg.Seed, "outcome", strconv.Itoa(seq))); o != "" {
		plan.Outcome = o
	}
	for _, rule := range st.Rules {
		if (rule.Model == "" || rule.Model == model) && (rule.PromptContains == "" || strings.Contains(prompt, rule.PromptContains)) {
			plan = plan.overlay(rule.Plan)
			break
		}
	}
	plan = plan.overlay(directive)

	base := s.cfg.BaseURL
	if base == "" {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		base = scheme + "://" + r.Host
	}
	base = strings.TrimRight(base, "/")
	id := "G-" + ulid(now, s.cfg.Seed, seq)
	j := &job{
		seq: seq, id: id, base: base, model: model, prompt: prompt, req: req, plan: plan,
		faults:        forced(plan.Faults),
		provider:      providerFor(model),
		generationID:  "gen_" + strings.ToLower(ulid(now, s.cfg.Seed, seq+1_000_000)),
		nativeID:      "native_" + strings.ToLower(ulid(now, s.cfg.Seed, seq+2_000_000))[10:],
		reservationID: "res_" + strings.ToLower(ulid(now, s.cfg.Seed, seq+3_000_000))[10:],
		createdAt:     now, updatedAt: now,
		status:      statusQueued,
		hook:        sub,
		sentBuckets: map[int]bool{},
	}
	if plan.Provider != "" {
		j.provider = plan.Provider
	}
	j.startAt = now.Add(s.scaled(time.Duration(*plan.Queue)))
	j.endAt = j.startAt.Add(s.scaled(time.Duration(*plan.Duration)))
	return j
}

// drawOutcome picks an outcome by weight; "" when there are no weights.
func drawOutcome(weights map[string]float64, u float64) string {
	var total float64
	for _, o := range []string{statusCompleted, statusFailed, statusCancelled, statusExpired} {
		total += weights[o]
	}
	if total <= 0 {
		return ""
	}
	x := u * total
	for _, o := range []string{statusCompleted, statusFailed, statusCancelled, statusExpired} {
		if x < weights[o] {
			return o
		}
		x -= weights[o]
	}
	return statusCompleted
}

// createResponse renders the 202 body in the configured shape. Caller holds
// j.mu or has not published j yet.
func (s *Server) createResponse(j *job, st Settings, now time.Time) map[string]any {
	switch st.CreateResponse {
	case CreateFull:
		return s.videoObject(j, st, now)
	case CreateVideoID:
		return map[string]any{"video_id": j.id, "polling_url": "/v1/videos/" + j.id, "status": "pending"}
	case CreateOpenAI:
		o := map[string]any{
			"id": j.id, "object": "video", "model": j.model, "status": "queued", "progress": 0,
			"created_at": j.createdAt.Unix(), "completed_at": nil, "expires_at": nil, "error": nil,
			"prompt": j.prompt, "remixed_from_video_id": nil, "seconds": nil, "size": nil,
		}
		if j.req.duration != nil {
			o["seconds"] = strconv.Itoa(*j.req.duration)
		}
		if j.req.size != "" {
			o["size"] = j.req.size
		}
		return o
	}
	return map[string]any{"id": j.id, "polling_url": "/v1/videos/" + j.id, "status": "pending"}
}
