package job

import (
	"errors"
	"testing"
	"time"
)

// want gives the expected outcome of every (from, to) pair for a given
// source: "applied", "unchanged", "stale" or "invalid".
func want(from, to State, src Source) string {
	switch {
	case from == to:
		return "unchanged"
	case from.Terminal():
		return "stale"
	case to == Stored && from != Completed:
		if rank[to] < rank[from] {
			return "stale"
		}
		return "invalid"
	case from == Completed:
		if to == Stored || (to == Failed && src == SourceWorkflow) {
			return "applied"
		}
		return "stale"
	case rank[to] < rank[from]:
		return "stale"
	case to == Rejected && from != Accepted:
		return "invalid"
	}
	return "applied"
}

func TestTransitionEveryPair(t *testing.T) {
	at := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	for _, src := range []Source{SourceAPI, SourceWebhook, SourcePoll, SourceWorkflow} {
		for _, from := range States {
			for _, to := range States {
				t.Run(string(src)+"/"+string(from)+"->"+string(to), func(t *testing.T) {
					j := &Job{ID: "vj_1", State: from}
					res, err := j.Transition(to, src, at, "r")
					var got string
					switch {
					case errors.Is(err, ErrStaleTransition):
						got = "stale"
					case errors.Is(err, ErrInvalidTransition):
						got = "invalid"
					case err != nil:
						t.Fatalf("unexpected error %v", err)
					case res == Unchanged:
						got = "unchanged"
					case res == Applied:
						got = "applied"
					}
					if w := want(from, to, src); got != w {
						t.Fatalf("Transition(%s -> %s by %s) = %s, want %s", from, to, src, got, w)
					}
					if got != "applied" {
						if j.State != from || len(j.History) != 0 {
							t.Fatalf("job changed on %s: state %s history %v", got, j.State, j.History)
						}
						return
					}
					if j.State != to {
						t.Fatalf("state = %s, want %s", j.State, to)
					}
					wantChange := Change{From: from, To: to, Source: src, At: at, Reason: "r"}
					if len(j.History) != 1 || j.History[0] != wantChange {
						t.Fatalf("history = %+v, want [%+v]", j.History, wantChange)
					}
					if !j.UpdatedAt.Equal(at) {
						t.Fatalf("updatedAt = %v, want %v", j.UpdatedAt, at)
					}
				})
			}
		}
	}
}

func TestTerminalNeverChanges(t *testing.T) {
	for _, s := range States {
		if !s.Terminal() {
			continue
		}
		for _, to := range States {
			if to == s {
				continue
			}
			j := &Job{State: s}
			if _, err := j.Transition(to, SourceWorkflow, time.Now(), ""); err == nil {
				t.Errorf("terminal %s moved to %s", s, to)
			}
		}
	}
}

func TestTerminalSet(t *testing.T) {
	got := map[State]bool{}
	for _, s := range States {
		got[s] = s.Terminal()
	}
	for s, w := range map[State]bool{Accepted: false, Queued: false, Processing: false, Completed: false,
		Stored: true, Failed: true, Cancelled: true, Expired: true, Rejected: true} {
		if got[s] != w {
			t.Errorf("%s.Terminal() = %v, want %v", s, got[s], w)
		}
	}
	if State("bogus").Valid() || State("bogus").Terminal() {
		t.Error("unknown state reported valid or terminal")
	}
}

func TestUnknownTargetIsInvalid(t *testing.T) {
	j := &Job{State: Queued}
	if _, err := j.Transition("bogus", SourcePoll, time.Now(), ""); !errors.Is(err, ErrInvalidTransition) {
		t.Fatalf("err = %v, want ErrInvalidTransition", err)
	}
}

func TestFailRecordsReason(t *testing.T) {
	j := &Job{State: Processing}
	if _, err := j.Fail(Failed, SourcePoll, time.Now(), Failure{Reason: "generation_failed", Message: "refused"}); err != nil {
		t.Fatal(err)
	}
	if j.Error == nil || j.Error.Reason != "generation_failed" || j.History[0].Reason != "generation_failed" {
		t.Fatalf("failure not recorded: %+v", j)
	}
	// A second failure on a terminal job is stale and keeps the first reason.
	if _, err := j.Fail(Expired, SourcePoll, time.Now(), Failure{Reason: "expired"}); !errors.Is(err, ErrStaleTransition) {
		t.Fatalf("err = %v, want stale", err)
	}
	if j.Error.Reason != "generation_failed" {
		t.Fatalf("reason overwritten: %+v", j.Error)
	}
}
