package main

import (
	"fmt"
	"strings"
)

// demoJob is one job the demo submits: a prompt whose "[sim …]" directive
// scripts the simulator's outcome and faults for it (docs/simulator.md), and
// what the system must make of it.
type demoJob struct {
	Name   string
	Prompt string
	Want   expectation
}

// expectation is what a demo job must end as.
type expectation struct {
	State string
	// Reason is the job error's reason for jobs that end without a video.
	Reason string
	// Via is who must have moved the job to completed: "poll" for jobs
	// whose webhooks cannot count. Jobs whose webhooks do arrive leave it
	// empty: with a slow simulator (make dev -time-scale 1) a poll may
	// legitimately get there first.
	Via string
	// Minimum delivery-health counts the faults must have produced.
	Duplicates, Late, Rejected int
}

// demoJobs are the handful of jobs `make demo` drives: one clean run, one
// of each provider outcome, and the webhook faults the design guards against.
var demoJobs = []demoJob{
	{
		Name:   "completed",
		Prompt: "A red fox trotting through fresh snow at dawn [sim outcome=completed size=7340032]",
		Want:   expectation{State: "stored"},
	},
	{
		Name:   "failed",
		Prompt: "A dragon over a castle [sim outcome=failed error=content_policy_violation]",
		Want:   expectation{State: "failed", Reason: "generation_failed"},
	},
	{
		Name:   "webhooks lost",
		Prompt: "A hot-air balloon over vineyards [sim faults=drop_webhooks size=2097152]",
		Want:   expectation{State: "stored", Via: "poll"},
	},
	{
		Name:   "dup + reorder",
		Prompt: "A paper boat on a river [sim faults=duplicate_webhooks,reorder size=1048576]",
		Want:   expectation{State: "stored", Duplicates: 1, Late: 1},
	},
	{
		Name:   "bad signatures",
		Prompt: "A robot watering plants [sim faults=bad_signature]",
		Want:   expectation{State: "stored", Via: "poll", Rejected: 1},
	},
	{
		Name:   "expired",
		Prompt: "A slow sunrise over the sea [sim outcome=expired]",
		Want:   expectation{State: "expired", Reason: "expired"},
	},
}

// health is a job's webhook-delivery health: the first four as the bundle
// recorded them on the job, Rejected as the simulator saw its deliveries
// answered 401.
type health struct {
	Received, Duplicates, Retries, Late, Rejected int
}

func (h health) String() string {
	return fmt.Sprintf("%d/%d/%d/%d/%d", h.Received, h.Duplicates, h.Retries, h.Late, h.Rejected)
}

// object is a stored video as read back from S3.
type object struct {
	Key    string
	Size   int64
	SHA256 string // of the bytes in S3
	// SimSHA256 is what the simulator served; Match says the two agree.
	SimSHA256 string
	Match     bool
}

// result is how one demo job ended.
type result struct {
	Job           demoJob
	ID            string
	ProviderJobID string
	State         string
	Reason        string
	CompletedBy   string
	Health        health
	Object        *object
	Transitions   int
	// Err is a problem finding any of the above out.
	Err error
}

// problems lists every way r misses its expectation; none means it passed.
// Beyond the final state, a stored job with a missing or different object,
// or a fault that left no trace in the delivery health, is wrong too: the
// demo would otherwise show a guarantee it did not check.
func (e expectation) problems(r result) []string {
	var p []string
	if r.Err != nil {
		p = append(p, r.Err.Error())
	}
	if r.State != e.State {
		p = append(p, fmt.Sprintf("ended %s, want %s", orDash(r.State), e.State))
	}
	if e.Reason != "" && r.Reason != e.Reason {
		p = append(p, fmt.Sprintf("reason %s, want %s", orDash(r.Reason), e.Reason))
	}
	if e.Via != "" && r.State == e.State && r.CompletedBy != e.Via {
		p = append(p, fmt.Sprintf("completed by %s, want %s", orDash(r.CompletedBy), e.Via))
	}
	if e.State == "stored" {
		switch {
		case r.Object == nil:
			p = append(p, "no S3 object")
		case !r.Object.Match:
			p = append(p, "S3 object differs from what the simulator served")
		}
	}
	if r.Health.Duplicates < e.Duplicates {
		p = append(p, fmt.Sprintf("%d duplicates counted, want ≥ %d", r.Health.Duplicates, e.Duplicates))
	}
	if r.Health.Late < e.Late {
		p = append(p, fmt.Sprintf("%d late deliveries counted, want ≥ %d", r.Health.Late, e.Late))
	}
	if r.Health.Rejected < e.Rejected {
		p = append(p, fmt.Sprintf("%d deliveries rejected, want ≥ %d", r.Health.Rejected, e.Rejected))
	}
	return p
}

func orDash(s string) string {
	if strings.TrimSpace(s) == "" {
		return "—"
	}
	return s
}
