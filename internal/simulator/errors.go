package simulator

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
)

// detail is one entry of a validation_error's details (contract §2).
type detail struct {
	Message string         `json:"message"`
	Path    []any          `json:"path"`
	Keyword string         `json:"keyword"`
	Params  map[string]any `json:"params"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "encode response", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// writeError sends the gateway error envelope and notes the code and reason
// on the recorded request.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, status int, code, reason, desc string, extra map[string]any) {
	n := note(r)
	n.Error, n.Reason = code, reason
	typ, origin := "user", "user"
	switch {
	case status >= 500 && code == "upstream_error":
		typ, origin = "system", "upstream"
	case status >= 500:
		typ, origin = "system", "gateway"
	}
	body := map[string]any{
		"error":         code,
		"status_code":   status,
		"error_type":    typ,
		"error_origin":  origin,
		"generation_id": s.newID("gen_"),
		"request_id":    s.newID("req_"),
		"description":   desc,
	}
	if reason != "" {
		body["reason"] = reason
	}
	for k, v := range extra {
		body[k] = v
	}
	writeJSON(w, status, body)
}

func (s *Server) validationError(w http.ResponseWriter, r *http.Request, reason string, details ...detail) {
	extra := map[string]any{}
	if details != nil {
		extra["details"] = details
	}
	s.writeError(w, r, http.StatusBadRequest, "validation_error", reason, "Request validation failed.", extra)
}

// newID returns a fresh seeded id with a prefix, e.g. "gen_01J…".
func (s *Server) newID(prefix string) string {
	return prefix + strings.ToLower(ulid(s.now(), s.cfg.Seed, -int(s.idSeq.Add(1))))
}
