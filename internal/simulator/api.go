package simulator

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// forcedCount is how many status GETs (or content fetches) a fault forced
// by a job's script hits: enough to exercise the client's retry, few enough
// that the job can still be followed to the end.
const forcedCount = 2

// drawn reports whether a fault fires by the run's probability alone.
func (s *Server) drawn(j *job, name string, faults Faults, scope ...string) bool {
	p := faults[name]
	if p <= 0 {
		return false
	}
	return unit(s.cfg.Seed, append([]string{"fault", name, strconv.Itoa(j.seq)}, scope...)...) < p
}

// countedFault is a fault on the n-th poll or fetch: forced for the first
// forcedCount, else drawn.
func (s *Server) countedFault(j *job, name string, faults Faults, kind string, n int) bool {
	return j.faults[name] && n <= forcedCount || s.drawn(j, name, faults, kind, strconv.Itoa(n))
}

var pollFaults = []string{FaultPollHang, FaultPoll5xx, FaultPoll5xxHTML, FaultPoll429,
	FaultPoll429NoRetryAfter, FaultPollKeyLimit, FaultPollNotReady}

// handleGet is GET /v1/videos/{id}: a live status check that may finalise
// the job and fire its webhooks, unless a poll fault answers instead (a
// failed poll never reaches the provider, so nothing changes).
func (s *Server) handleGet(w http.ResponseWriter, r *http.Request) {
	j, ok := s.lookup(w, r)
	if !ok {
		return
	}
	now := s.now()
	st := s.Settings()
	j.mu.Lock()
	j.pollCount++
	fault := ""
	for _, f := range pollFaults {
		if s.countedFault(j, f, st.Faults, "poll", j.pollCount) {
			fault = f
			break
		}
	}
	var evs []event
	var obj map[string]any
	if fault == "" {
		evs = j.check(now, s.phaseo(), st.NullProgress)
		obj = s.videoObject(j, st, now)
	}
	j.mu.Unlock()
	if fault != "" {
		note(r).Fault = fault
		s.pollFault(w, r, fault, j.provider, j.seq)
		return
	}
	s.fire(j, evs)
	writeJSON(w, http.StatusOK, obj)
}

func fetchReason(provider string) string {
	switch provider {
	case "google-vertex":
		return "google_vertex_operation_fetch_failed"
	case "alibaba":
		return "dashscope_task_fetch_failed"
	case "runway":
		return "runway_video_task_fetch_failed"
	}
	return strings.ReplaceAll(provider, "-", "_") + "_video_fetch_failed"
}

// pollFault writes the reply of a faulted status poll.
func (s *Server) pollFault(w http.ResponseWriter, r *http.Request, fault, provider string, seq int) {
	now := s.now()
	switch fault {
	case FaultPollHang:
		s.sleep(r.Context(), s.cfg.HangFor)
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusGatewayTimeout)
		_, _ = w.Write([]byte("upstream request timeout"))
	case FaultPoll5xx:
		s.writeError(w, r, http.StatusBadGateway, "upstream_error", fetchReason(provider),
			"The provider status request failed.", map[string]any{
				"upstream_status": 500, "upstream_body_preview": `{"error":{"code":500,"message":"Internal error encountered."}}`,
				"upstream_error": map[string]any{"code": "internal", "message": "Internal error encountered.", "description": nil, "param": nil},
			})
	case FaultPoll5xxHTML:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>\n"))
	case FaultPoll429, FaultPoll429NoRetryAfter:
		if fault == FaultPoll429 {
			// Alternate the two legal Retry-After forms.
			if unit(s.cfg.Seed, "retry-after-form", strconv.Itoa(seq), r.URL.Path, now.String()) < 0.5 {
				w.Header().Set("Retry-After", "1")
			} else {
				w.Header().Set("Retry-After", now.Add(2*time.Second).UTC().Format(http.TimeFormat))
			}
		}
		note(r).Error = "rate_limit_exceeded"
		writeJSON(w, http.StatusTooManyRequests, map[string]any{"error": map[string]any{
			"message": "Rate limit reached for requests", "type": "requests", "code": "rate_limit_exceeded",
		}})
	case FaultPollKeyLimit:
		reset := now.Add(max(time.Second, s.scaled(time.Minute)))
		s.writeError(w, r, http.StatusTooManyRequests, "key_limit_exceeded", "key_spend_limit_exceeded",
			"The API key spend limit was reached.", map[string]any{
				"reset_at": iso(reset), "now": iso(now), "limit_window": "day", "limit_metric": "cost_nanos",
				"current_value": 10_000_000_000, "limit_value": 10_000_000_000, "buckets": []any{},
			})
	case FaultPollNotReady:
		s.writeError(w, r, http.StatusConflict, "not_ready", "atlas_prediction_id_missing",
			"The provider job is not ready yet.", nil)
	}
}

var statusAliases = map[string]string{
	"queued": statusQueued, "pending": statusQueued,
	"processing": statusProcessing, "in_progress": statusProcessing, "running": statusProcessing,
	"completed": statusCompleted, "complete": statusCompleted, "success": statusCompleted, "succeeded": statusCompleted,
	"failed": statusFailed, "error": statusFailed,
	"cancelled": statusCancelled, "canceled": statusCancelled,
	"expired": statusExpired,
}

// handleList is GET /v1/videos: stored state, newest first, no cursor.
func (s *Server) handleList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit := 50
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 {
			s.validationError(w, r, "invalid_list_query", detail{Message: "must be an integer >= 1", Path: []any{"limit"}, Keyword: "minimum", Params: map[string]any{"limit": 1}})
			return
		}
		limit = min(n, 200)
	}
	want := map[string]bool{}
	for _, v := range q["status"] {
		for _, part := range strings.Split(v, ",") {
			part = strings.ToLower(strings.TrimSpace(part))
			if part == "" {
				continue
			}
			c, ok := statusAliases[part]
			if !ok {
				s.validationError(w, r, "invalid_list_query", detail{Message: "unknown status " + part, Path: []any{"status"}, Keyword: "enum", Params: map[string]any{}})
				return
			}
			want[c] = true
		}
	}
	now := s.now()
	st := s.Settings()
	s.mu.Lock()
	jobs := slices.Clone(s.order)
	s.mu.Unlock()
	data := []any{}
	for i := len(jobs) - 1; i >= 0 && len(data) < limit; i-- {
		if o := s.listItem(jobs[i], st, want, now); o != nil {
			data = append(data, o)
		}
	}
	var first, last any
	if len(data) > 0 {
		first, last = data[0].(map[string]any)["id"], data[len(data)-1].(map[string]any)["id"]
	}
	writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": data, "first_id": first, "last_id": last, "has_more": false})
}

// listItem renders one list entry from stored state, nil when filtered out.
func (s *Server) listItem(j *job, st Settings, want map[string]bool, now time.Time) map[string]any {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.deleted && !s.drawn(j, FaultListTombstones, st.Faults, "list") {
		return nil
	}
	if len(want) > 0 && !want[j.status] {
		return nil
	}
	o := s.videoObject(j, st, now)
	if j.deleted {
		o["deleted"], o["deleted_at"] = true, iso(j.deletedAt)
	}
	return o
}

// handleDelete is DELETE /v1/videos/{id}: terminal jobs only, then a
// tombstone.
func (s *Server) handleDelete(w http.ResponseWriter, r *http.Request) {
	j, ok := s.lookup(w, r)
	if !ok {
		return
	}
	now := s.now()
	null := s.Settings().NullProgress
	j.mu.Lock()
	evs := j.check(now, s.phaseo(), null)
	status := j.status
	if terminal(status) {
		j.deleted, j.deletedAt = true, now
	}
	j.mu.Unlock()
	s.fire(j, evs)
	if !terminal(status) {
		s.writeError(w, r, http.StatusBadRequest, "validation_error", "video_delete_requires_terminal_status",
			"Only finished videos can be deleted.", map[string]any{"status": status, "video_id": j.id})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": j.id, "object": "video", "deleted": true})
}

// handleCancel is POST /v1/videos/{id}/cancel, gated like cancel_url.
func (s *Server) handleCancel(w http.ResponseWriter, r *http.Request) {
	j, ok := s.lookup(w, r)
	if !ok {
		return
	}
	now := s.now()
	if !j.cancelSupported() {
		s.writeError(w, r, http.StatusNotImplemented, "not_implemented_yet", "video_cancel_provider_not_supported",
			"Cancel is not supported for this provider.", nil)
		return
	}
	st := s.Settings()
	j.mu.Lock()
	evs := j.check(now, s.phaseo(), st.NullProgress)
	switch {
	case j.status == statusCancelled:
	case terminal(j.status):
		status := j.status
		j.mu.Unlock()
		s.fire(j, evs)
		s.writeError(w, r, http.StatusBadRequest, "validation_error", "video_cancel_requires_non_terminal_status",
			"Only queued or processing videos can be cancelled.", map[string]any{"status": status, "video_id": j.id})
		return
	default:
		prev := j.status
		j.cancelledByUs = true
		j.status, j.completedAt, j.updatedAt = statusCancelled, now, now
		if s.phaseo() && j.hook.covers("status_changed") {
			evs = append(evs, event{phase: "status_changed", key: "job.status_changed:cancelled", typ: "job.status_changed", prevStatus: prev, status: statusCancelled})
		}
		if j.hook.covers("cancelled") {
			evs = append(evs, event{phase: statusCancelled, key: "video.cancelled", typ: "video.cancelled", status: statusCancelled})
		}
	}
	obj := s.videoObject(j, st, now)
	j.mu.Unlock()
	s.fire(j, evs)
	writeJSON(w, http.StatusOK, obj)
}

// handleModels is GET /v1/videos/models.
func (s *Server) handleModels(w http.ResponseWriter, r *http.Request) {
	params := r.URL.Query().Get("params")
	data := []any{}
	for _, m := range models {
		if params != "" {
			has := true
			for _, p := range strings.Split(params, ",") {
				if !strings.Contains(","+strings.Join(m.params, ",")+",", ","+strings.TrimSpace(p)+",") {
					has = false
				}
			}
			if !has {
				continue
			}
		}
		data = append(data, map[string]any{
			"model": m.id, "name": m.name, "status": "active",
			"input_types": []string{"text", "image"}, "output_types": []string{"video"},
			"supported_params": m.params, "supported_parameters": m.params,
			"providers": []any{map[string]any{"id": providerFor(m.id), "status": "active"}},
			"pricing":   map[string]any{"per_second_usd": "0.05"},
		})
	}
	writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": data})
}

type model struct {
	id, name string
	params   []string
}

var models = []model{
	{"google/veo-3.1-lite", "Veo 3.1 Lite", []string{"duration", "resolution", "aspect_ratio", "generate_audio", "seed", "negative_prompt"}},
	{"google/veo-3.1", "Veo 3.1", []string{"duration", "resolution", "aspect_ratio", "generate_audio", "seed", "negative_prompt", "input_references"}},
	{"openai/sora-2", "Sora 2", []string{"duration", "size", "input_references"}},
	{"runway/gen-4-turbo", "Gen-4 Turbo", []string{"duration", "aspect_ratio", "input_references"}},
	{"alibaba/wan-2.5", "Wan 2.5", []string{"duration", "resolution", "aspect_ratio", "seed"}},
	{"byteplus/seedance-1-pro", "Seedance 1 Pro", []string{"duration", "resolution", "aspect_ratio", "seed"}},
}

// handleWebSocket answers the async-jobs socket route. The simulator does
// not upgrade; it gives the observed 426 to plain requests.
func (s *Server) handleWebSocket(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s.mu.Lock()
	j := s.jobs[id]
	s.mu.Unlock()
	if j == nil {
		s.writeError(w, r, http.StatusNotFound, "not_found", "async_job_not_found_or_not_owned", "Job not found.", nil)
		return
	}
	if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		w.Header().Set("Upgrade", "websocket")
		writeJSON(w, http.StatusUpgradeRequired, map[string]any{"error": map[string]any{
			"code": "websocket_upgrade_required", "message": "This route requires a WebSocket upgrade.",
		}})
		return
	}
	s.writeError(w, r, http.StatusNotImplemented, "not_implemented_yet", "websocket_not_simulated",
		"The simulator does not serve WebSockets; poll instead.", nil)
}
