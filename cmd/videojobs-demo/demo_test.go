package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/videojobs/videojobs/internal/simulator"
)

func TestTableAlignsByRunes(t *testing.T) {
	got := table([]string{"A", "BB"}, [][]string{{"—", "x"}, {"long", "✓"}})
	want := []string{
		"A     BB",
		"—     x",
		"long  ✓",
	}
	if d := cmp.Diff(got, want); d != "" {
		t.Errorf("table (-got +want):\n%s", d)
	}
}

func TestLivePlainPrintsStateChangesOnly(t *testing.T) {
	var b bytes.Buffer
	start := time.Unix(0, 0)
	l := newLive(&b, false, start)
	jobs := []status{{Name: "completed", ID: "vj_1", State: "queued"}, {Name: "failed", ID: "vj_2", State: "queued"}}
	l.update(jobs, start.Add(time.Second))
	l.update(jobs, start.Add(2*time.Second)) // nothing changed
	jobs[0].State = "stored"
	l.update(jobs, start.Add(3*time.Second))

	got := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
	want := []string{
		"   1.0s  completed        vj_1  queued",
		"   1.0s  failed           vj_2  queued",
		"   3.0s  completed        vj_1  queued → stored",
	}
	if d := cmp.Diff(got, want); d != "" {
		t.Errorf("plain output (-got +want):\n%s", d)
	}
	if strings.Contains(b.String(), "\x1b") {
		t.Errorf("plain output has ANSI escapes: %q", b.String())
	}
}

func TestLiveTTYRedrawsInPlace(t *testing.T) {
	var b bytes.Buffer
	l := newLive(&b, true, time.Unix(0, 0))
	jobs := []status{{Name: "completed", ID: "vj_1", State: "queued"}}
	l.update(jobs, time.Unix(1, 0))
	first := b.String()
	b.Reset()
	jobs[0].State = "stored"
	l.update(jobs, time.Unix(2, 0))
	second := b.String()

	if strings.Contains(first, "\x1b[2A") {
		t.Errorf("first draw moved the cursor up: %q", first)
	}
	// Header and one row were drawn, so the redraw goes up two lines and
	// clears each before writing it again.
	if !strings.HasPrefix(second, "\x1b[2A") || strings.Count(second, ansiClear) != 2 {
		t.Errorf("redraw = %q, want cursor up 2 and two cleared lines", second)
	}
	if !strings.Contains(second, "stored") || strings.Contains(second, "queued") {
		t.Errorf("redraw = %q, want the new state only", second)
	}
}

func TestExpectationProblems(t *testing.T) {
	good := &object{Key: "videos/vj_1/0.mp4", Size: 10, SHA256: "ab", SimSHA256: "ab", Match: true}
	tests := []struct {
		name string
		want expectation
		got  result
		n    int
	}{
		{"stored as wanted", expectation{State: "stored", Via: "webhook"},
			result{State: "stored", CompletedBy: "webhook", Object: good}, 0},
		{"wrong state", expectation{State: "stored"},
			result{State: "failed", Reason: "generation_failed"}, 2}, // state, and no object
		{"stored without object", expectation{State: "stored"},
			result{State: "stored"}, 1},
		{"object differs", expectation{State: "stored"},
			result{State: "stored", Object: &object{SHA256: "ab", SimSHA256: "cd"}}, 1},
		{"completed by the wrong path", expectation{State: "stored", Via: "poll"},
			result{State: "stored", CompletedBy: "webhook", Object: good}, 1},
		{"failed with the reason", expectation{State: "failed", Reason: "generation_failed"},
			result{State: "failed", Reason: "generation_failed"}, 0},
		{"failed without the reason", expectation{State: "failed", Reason: "generation_failed"},
			result{State: "failed", Reason: "deadline"}, 1},
		{"fault left no trace", expectation{State: "stored", Duplicates: 1, Late: 1, Rejected: 1},
			result{State: "stored", Object: good}, 3},
		{"faults counted", expectation{State: "stored", Duplicates: 1, Late: 1, Rejected: 1},
			result{State: "stored", Object: good, Health: health{Duplicates: 2, Late: 1, Rejected: 4}}, 0},
		{"lookup error", expectation{State: "expired"},
			result{State: "expired", Err: errors.New("describe execution: boom")}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.want.problems(tt.got); len(got) != tt.n {
				t.Errorf("problems = %q, want %d", got, tt.n)
			}
		})
	}
}

func TestSummaryCountsWrongJobs(t *testing.T) {
	results := []result{
		{Job: demoJobs[0], ID: "vj_1", State: "stored", CompletedBy: "webhook", Transitions: 5,
			Object: &object{Key: "videos/vj_1/0.mp4", Size: 2048, SHA256: strings.Repeat("a", 64), SimSHA256: strings.Repeat("a", 64), Match: true}},
		{Job: demoJobs[1], ID: "vj_2", State: "stored", CompletedBy: "webhook"},
	}
	var b bytes.Buffer
	if got := summarize(&b, results); got != 1 {
		t.Errorf("summarize = %d wrong, want 1\n%s", got, b.String())
	}
	out := b.String()
	for _, want := range []string{"2.0 KiB", "aaaaaaaa…aaaaaaaa", "yes", "WRONG", "failed (vj_2): ended stored, want failed"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
}

// TestDemoJobDirectivesParse: a typo in a directive would make the
// simulator refuse the job, so check every prompt with the simulator's
// own parser.
func TestDemoJobDirectivesParse(t *testing.T) {
	seen := map[string]bool{}
	for _, j := range demoJobs {
		if seen[j.Name] {
			t.Errorf("demo job name %q used twice", j.Name)
		}
		seen[j.Name] = true
		if _, ok, err := simulator.ParseDirective(j.Prompt); !ok || err != nil {
			t.Errorf("demo job %q: directive in %q: ok=%v err=%v", j.Name, j.Prompt, ok, err)
		}
	}
}
