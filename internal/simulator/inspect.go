package simulator

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"time"
)

// JobSnapshot is the simulator's view of one job, for assertions.
type JobSnapshot struct {
	ID       string `json:"id"`
	Seq      int    `json:"seq"`
	Model    string `json:"model"`
	Provider string `json:"provider"`
	Prompt   string `json:"prompt"`
	// Status is the stored status (what GET and the list show); Live is
	// what the provider would answer now.
	Status      string    `json:"status"`
	Live        string    `json:"live"`
	Progress    int       `json:"progress"`
	Outcome     string    `json:"outcome"`
	CreatedAt   time.Time `json:"created_at"`
	DoneAt      time.Time `json:"done_at"` // when the provider reaches Outcome
	CompletedAt time.Time `json:"completed_at,omitzero"`
	Deleted     bool      `json:"deleted"`
	WebhookURL  string    `json:"webhook_url,omitempty"`
	Events      []string  `json:"events,omitempty"`
	HasSecret   bool      `json:"has_secret"`
	ContentSize int64     `json:"content_size"`
	Faults      []string  `json:"faults,omitempty"`
	Polls       int       `json:"polls"`
	// Video is the job as GET would render it from stored state.
	Video map[string]any `json:"video"`
}

// Job returns a snapshot of one job, ok=false if it does not exist.
func (s *Server) Job(id string) (JobSnapshot, bool) {
	s.mu.Lock()
	j := s.jobs[id]
	s.mu.Unlock()
	if j == nil {
		return JobSnapshot{}, false
	}
	return s.snapshot(j), true
}

// Jobs returns every job, oldest first.
func (s *Server) Jobs() []JobSnapshot {
	s.mu.Lock()
	jobs := slices.Clone(s.order)
	s.mu.Unlock()
	out := make([]JobSnapshot, 0, len(jobs))
	for _, j := range jobs {
		out = append(out, s.snapshot(j))
	}
	return out
}

func (s *Server) snapshot(j *job) JobSnapshot {
	now := s.now()
	st := s.Settings()
	j.mu.Lock()
	defer j.mu.Unlock()
	snap := JobSnapshot{
		ID: j.id, Seq: j.seq, Model: j.model, Provider: j.provider, Prompt: j.prompt,
		Status: j.status, Live: j.providerState(now).status, Progress: j.progress, Outcome: j.plan.Outcome,
		CreatedAt: j.createdAt, DoneAt: j.endAt, CompletedAt: j.completedAt, Deleted: j.deleted,
		ContentSize: s.contentSize(j, 0), Polls: j.pollCount,
		Video: s.videoObject(j, st, now),
	}
	for f := range j.faults {
		snap.Faults = append(snap.Faults, f)
	}
	slices.Sort(snap.Faults)
	if j.hook != nil {
		snap.WebhookURL, snap.Events, snap.HasSecret = j.hook.url, slices.Clone(j.hook.events), j.hook.secret != ""
	}
	return snap
}

// Requests returns the inbound /v1 requests so far (the newest MaxRecords
// at most), in the order they finished.
func (s *Server) Requests() []Request {
	s.recMu.Lock()
	defer s.recMu.Unlock()
	return slices.Clone(s.requests)
}

// Deliveries returns the delivery attempts so far (including dropped ones
// and fault copies; the newest MaxRecords at most), in the order they
// finished.
func (s *Server) Deliveries() []Delivery {
	s.recMu.Lock()
	defer s.recMu.Unlock()
	return slices.Clone(s.deliveries)
}

func (s *Server) inspectRoutes(m *http.ServeMux) {
	m.HandleFunc("GET /_sim/jobs", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.Jobs())
	})
	m.HandleFunc("GET /_sim/jobs/{id}", func(w http.ResponseWriter, r *http.Request) {
		snap, ok := s.Job(r.PathValue("id"))
		if !ok {
			writeJSON(w, http.StatusNotFound, map[string]any{"error": "no such job"})
			return
		}
		writeJSON(w, http.StatusOK, snap)
	})
	m.HandleFunc("GET /_sim/jobs/{id}/sha256", func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		sum, err := s.ContentSHA256(id)
		if err != nil {
			writeJSON(w, http.StatusNotFound, map[string]any{"error": err.Error()})
			return
		}
		size, _ := s.ContentSize(id)
		writeJSON(w, http.StatusOK, map[string]any{"id": id, "sha256": sum, "bytes": size})
	})
	m.HandleFunc("GET /_sim/requests", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.Requests())
	})
	m.HandleFunc("GET /_sim/deliveries", func(w http.ResponseWriter, r *http.Request) {
		all := s.Deliveries()
		if id := r.URL.Query().Get("job"); id != "" {
			all = slices.DeleteFunc(all, func(d Delivery) bool { return d.JobID != id })
		}
		writeJSON(w, http.StatusOK, all)
	})
	m.HandleFunc("GET /_sim/faults", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, FaultNames())
	})
	m.HandleFunc("GET /_sim/config", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.Settings())
	})
	m.HandleFunc("POST /_sim/config", s.handleConfig)
	m.HandleFunc("POST /_sim/sweep", func(w http.ResponseWriter, r *http.Request) {
		s.Sweep()
		writeJSON(w, http.StatusOK, map[string]any{"swept": true})
	})
}

// handleConfig merges the posted settings into the current ones: keys
// present replace the whole field (so "faults":{} clears every fault).
func (s *Server) handleConfig(w http.ResponseWriter, r *http.Request) {
	raw, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	var keys map[string]json.RawMessage
	if err == nil {
		err = json.Unmarshal(raw, &keys)
	}
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "body must be a JSON object"})
		return
	}
	cur := s.Settings()
	if _, ok := keys["faults"]; ok {
		cur.Faults = nil
	}
	if _, ok := keys["outcomes"]; ok {
		cur.Outcomes = nil
	}
	if _, ok := keys["rules"]; ok {
		cur.Rules = nil
	}
	if _, ok := keys["defaults"]; ok {
		cur.Defaults = Plan{}
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cur); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": err.Error()})
		return
	}
	if err := s.Configure(cur); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, cur)
}
