package simulator

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Canonical statuses (contract §4.1).
const (
	statusQueued     = "queued"
	statusProcessing = "processing"
	statusCompleted  = "completed"
	statusFailed     = "failed"
	statusCancelled  = "cancelled"
	statusExpired    = "expired"
)

func terminal(status string) bool {
	switch status {
	case statusCompleted, statusFailed, statusCancelled, statusExpired:
		return true
	}
	return false
}

// job is the gateway's record of one video job. The fields above mu are
// set at creation and never change; mu guards the rest.
type job struct {
	seq      int
	id       string
	base     string // public base URL for absolute URLs
	model    string
	provider string
	prompt   string
	req      createRequest
	plan     Plan
	faults   map[string]bool // forced for this job

	generationID  string
	nativeID      string
	reservationID string
	createdAt     time.Time
	startAt       time.Time // provider starts processing (clock time)
	endAt         time.Time // provider reaches plan.Outcome
	hook          *subscription

	mu sync.Mutex

	// Stored state: what the gateway last observed. It changes only on a
	// status check (GET, content call, cancel, sweep), like the real gateway.
	status        string
	progress      int
	startedAt     time.Time
	completedAt   time.Time
	lastPolledAt  time.Time
	updatedAt     time.Time
	cancelledByUs bool
	deleted       bool
	deletedAt     time.Time

	hs          hookState
	sentBuckets map[int]bool

	pollCount    int
	contentCount int
}

// subscription is the normalised webhook object of a create request.
type subscription struct {
	url        string
	secret     string
	events     []string // normalised, as shown on GET
	endpointID string
}

func (sub *subscription) covers(phase string) bool {
	if sub == nil {
		return false
	}
	return slices.Contains(sub.events, "job."+phase) || slices.Contains(sub.events, "video."+phase)
}

// observed is the provider's live state at a moment.
type observed struct {
	status   string
	progress int
}

// providerState is what the provider would answer at now.
func (j *job) providerState(now time.Time) observed {
	if j.cancelledByUs {
		return observed{statusCancelled, j.progress}
	}
	switch {
	case now.Before(j.startAt):
		return observed{statusQueued, 0}
	case now.Before(j.endAt):
		total := j.endAt.Sub(j.startAt)
		p := int(math.Floor(float64(now.Sub(j.startAt)) / float64(total) * 100))
		return observed{statusProcessing, min(max(p, 0), 99)}
	}
	if j.plan.Outcome == statusCompleted {
		return observed{statusCompleted, 100}
	}
	return observed{j.plan.Outcome, j.progress}
}

// event is one webhook event a status check produced.
type event struct {
	phase      string // created, progress, completed, …, status_changed
	key        string // delivery key
	typ        string // event type
	bucket     int
	prevStatus string
	status     string
}

// bucket maps a progress value to its webhook bucket (contract §6.3).
func bucket(p int) int {
	b := int(math.Round(float64(p)/10)) * 10
	return min(max(b, 5), 95)
}

// check applies the provider's live state to the stored state and returns
// the webhook events the change fires. It never moves a job out of a
// terminal state.
func (j *job) check(now time.Time, phaseo, nullProgress bool) []event {
	if j.deleted {
		return nil
	}
	j.lastPolledAt = now
	if terminal(j.status) {
		return nil
	}
	o := j.providerState(now)
	var evs []event
	prev := j.status
	if o.status != prev {
		j.status = o.status
		j.updatedAt = now
		if o.status != statusQueued && j.startedAt.IsZero() {
			j.startedAt = now
		}
		if terminal(o.status) {
			j.completedAt = now
		}
		if phaseo && j.hook.covers("status_changed") {
			evs = append(evs, event{
				phase: "status_changed", key: "job.status_changed:" + o.status,
				typ: "job.status_changed", prevStatus: prev, status: o.status,
			})
		}
	}
	if o.progress != j.progress {
		j.progress = o.progress
		j.updatedAt = now
	}
	if o.status == statusProcessing && o.progress > 0 && o.progress < 100 && !nullProgress && j.plan.Progress != "none" {
		b := bucket(o.progress)
		if !j.sentBuckets[b] && j.hook.covers("progress") {
			j.sentBuckets[b] = true
			evs = append(evs, event{phase: "progress", key: "video.progress:" + strconv.Itoa(b), typ: "video.progress", bucket: b, status: statusProcessing})
		}
	}
	if terminal(o.status) && j.hook.covers(o.status) {
		evs = append(evs, event{phase: o.status, key: "video." + o.status, typ: "video." + o.status, status: o.status})
	}
	return evs
}

// cancelSupported reports whether the provider honours cancel (contract §5.5).
func (j *job) cancelSupported() bool {
	switch j.plan.Cancel {
	case "yes":
		return true
	case "no":
		return false
	}
	switch j.provider {
	case "openai", "alibaba", "runway":
		return true
	}
	return false
}

// providerFor derives the public provider id from a model like
// "google/veo-3.1-lite".
func providerFor(model string) string {
	prefix, _, ok := strings.Cut(model, "/")
	if !ok {
		return "openai"
	}
	switch strings.ToLower(prefix) {
	case "google":
		return "google-vertex"
	case "qwen", "alibaba":
		return "alibaba"
	case "xai", "x-ai":
		return "x-ai"
	case "bytedance", "byteplus":
		return "byteplus"
	}
	return strings.ToLower(prefix)
}

// hasFault reports whether a fault fires for this job in this scope: forced
// by the job's script, or drawn with the run's probability.
func (s *Server) hasFault(j *job, name string, faults Faults, scope ...string) bool {
	return j.faults[name] || s.drawn(j, name, faults, scope...)
}
