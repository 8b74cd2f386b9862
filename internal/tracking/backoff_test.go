package tracking_test

import (
	"testing"
	"time"

	"github.com/videojobs/videojobs/internal/tracking"
	"github.com/videojobs/videojobs/internal/tracking/trackingtest"
)

func TestNextWait(t *testing.T) {
	now := testNow
	far := now.Add(time.Hour)
	s := time.Second
	tests := []struct {
		name string
		in   tracking.WaitInput
		want time.Duration
	}{
		{"first poll doubles the first wait (top jitter)", tracking.WaitInput{Now: now, Deadline: far, Cap: 300 * s, Rand: 1}, 40 * s},
		{"first poll, lowest jitter", tracking.WaitInput{Now: now, Deadline: far, Cap: 300 * s, Rand: 0}, 36 * s},
		{"every poll doubles", tracking.WaitInput{Now: now, Deadline: far, Prev: 40 * s, Cap: 300 * s, Rand: 1}, 80 * s},
		{"gateway's longer poll_after is the base", tracking.WaitInput{Now: now, Deadline: far, PollAfter: 45 * s, Cap: 300 * s, Rand: 1}, 90 * s},
		{"capped", tracking.WaitInput{Now: now, Deadline: far, Prev: 200 * s, Cap: 300 * s, Rand: 1}, 300 * s},
		{"capped at lowest jitter", tracking.WaitInput{Now: now, Deadline: far, Prev: 300 * s, Cap: 300 * s, Rand: 0}, 270 * s},
		{"progress: just after the estimated end (lowest jitter)", tracking.WaitInput{Now: now, Deadline: far, Prev: 40 * s, Remaining: 172 * s, Cap: 300 * s, Rand: 0}, 181 * s},
		{"progress: just after the estimated end (top jitter)", tracking.WaitInput{Now: now, Deadline: far, Prev: 40 * s, Remaining: 172 * s, Cap: 300 * s, Rand: 1}, 190 * s},
		{"progress: almost done, still no faster than poll_after", tracking.WaitInput{Now: now, Deadline: far, Remaining: 3 * s, Cap: 300 * s}, 20 * s},
		{"progress: far off, capped", tracking.WaitInput{Now: now, Deadline: far, Remaining: time.Hour, Cap: 300 * s}, 300 * s},
		{"cap below poll_after: poll_after wins", tracking.WaitInput{Now: now, Deadline: far, PollAfter: 20 * s, Cap: 5 * s}, 20 * s},
		{"Retry-After above the back-off", tracking.WaitInput{Now: now, Deadline: far, Prev: 20 * s, RetryAfter: 90 * s, Cap: 300 * s, Rand: 0}, 90 * s},
		{"Retry-After beyond the cap is still honoured", tracking.WaitInput{Now: now, Deadline: far, Prev: 20 * s, RetryAfter: 900 * s, Cap: 300 * s}, 900 * s},
		{"fractional Retry-After rounds up", tracking.WaitInput{Now: now, Deadline: far, RetryAfter: 61500 * time.Millisecond, Cap: 300 * s}, 62 * s},
		{"never beyond the deadline", tracking.WaitInput{Now: now, Deadline: now.Add(7 * s), Prev: 100 * s, Cap: 300 * s, Rand: 1}, 7 * s},
		{"deadline beats Retry-After", tracking.WaitInput{Now: now, Deadline: now.Add(30 * s), RetryAfter: 900 * s, Cap: 300 * s}, 30 * s},
		{"at least one second at the deadline", tracking.WaitInput{Now: now, Deadline: now, Cap: 300 * s}, 1 * s},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tracking.NextWait(tt.in); got != tt.want {
				t.Errorf("NextWait() = %v, want %v", got, tt.want)
			}
		})
	}
}

// Over every jitter draw, a wait stays within [0.9·target, target] for
// target = min(2·max(prev, poll_after), cap), and never below poll_after.
func TestNextWaitJitterBounds(t *testing.T) {
	s := time.Second
	for prev := time.Duration(0); prev <= 400*s; prev += 7 * s {
		for i := range 101 {
			r := float64(i) / 100
			got := tracking.NextWait(tracking.WaitInput{Now: testNow, Deadline: testNow.Add(time.Hour), Prev: prev, Cap: 300 * s, Rand: r})
			target := min(2*max(prev, 20*s), 300*s)
			lo := max(target*9/10, 20*s)
			if got < lo || got > target+s { // +1 s: rounding up to whole seconds
				t.Fatalf("prev %v rand %.2f: wait %v outside [%v, %v]", prev, r, got, lo, target)
			}
		}
	}
}

// The schedule that the cost figures in the README rest on: polling alone,
// a 3-minute generation is seen done by the 4th poll whatever the jitter,
// where a fixed 20 s loop polls 9 times.
func TestPollOnlyScheduleForThreeMinuteJob(t *testing.T) {
	for _, r := range []float64{0, 0.5, 1} {
		at, prev, polls := 20*time.Second, time.Duration(0), 1 // the first wait is 20 s
		for at < 3*time.Minute {
			prev = tracking.NextWait(tracking.WaitInput{Now: testNow, Prev: prev, Cap: 300 * time.Second, Rand: r})
			at += prev
			polls++
		}
		if polls > 4 {
			t.Errorf("rand %.1f: %d polls to see a 3-minute job done, want ≤ 4", r, polls)
		}
	}
}

// With the provider's progress, a 3-minute generation (queued 10 s, then
// progress rising linearly) is seen done by the third poll: the first
// observation doubles the wait, the second gives the rate. The fixed 20 s
// loop polls 9 times.
func TestProgressGuidedScheduleForThreeMinuteJob(t *testing.T) {
	const queue, gen = 10 * time.Second, 170 * time.Second
	progress := func(at time.Duration) int { return max(0, int(100*(at-queue)/gen)) }
	for _, r := range []float64{0, 0.5, 1} {
		at, prev, polls := 20*time.Second, time.Duration(0), 1
		var lastP int
		var lastAt time.Duration = -1
		for at < queue+gen {
			p := progress(at)
			var rem time.Duration
			if lastAt >= 0 && p > lastP {
				rem = (at - lastAt) * time.Duration(100-p) / time.Duration(p-lastP)
			}
			if p > lastP || lastAt < 0 {
				lastP, lastAt = p, at
			}
			prev = tracking.NextWait(tracking.WaitInput{Now: testNow, Prev: prev, Remaining: rem, Cap: 300 * time.Second, Rand: r})
			at += prev
			polls++
		}
		if polls > 3 {
			t.Errorf("rand %.1f: %d polls to see a 3-minute job done, want ≤ 3", r, polls)
		}
		if late := at - (queue + gen); late > 30*time.Second {
			t.Errorf("rand %.1f: seen done %v after it finished, want ≤ 30 s", r, late)
		}
	}
}

func TestKeepWait(t *testing.T) {
	s := time.Second
	tests := []struct {
		name          string
		segment, next time.Duration
		in            tracking.WaitInput
		firstSample   bool
		want          bool
	}{
		{"same wait", 20 * s, 20 * s, tracking.WaitInput{}, false, true},
		{"within 5 s", 20 * s, 24 * s, tracking.WaitInput{}, false, true},
		{"doubling", 20 * s, 40 * s, tracking.WaitInput{}, false, false},
		{"within 10% of a long wait", 140 * s, 152 * s, tracking.WaitInput{Remaining: 140 * s}, false, true},
		{"estimate far later", 20 * s, 151 * s, tracking.WaitInput{Remaining: 137 * s}, false, false},
		{"estimate far sooner", 151 * s, 20 * s, tracking.WaitInput{Remaining: 18 * s}, false, false},
		{"first progress value keeps the floor", 20 * s, 40 * s, tracking.WaitInput{}, true, true},
		{"first progress value never lengthens", 60 * s, 40 * s, tracking.WaitInput{}, true, false},
		{"shorter than Retry-After", 20 * s, 30 * s, tracking.WaitInput{RetryAfter: 30 * s}, true, false},
		{"no current wait", 0, 20 * s, tracking.WaitInput{}, false, false},
	}
	for _, tt := range tests {
		if got := tracking.KeepWait(tt.segment, tt.next, tt.in, tt.firstSample); got != tt.want {
			t.Errorf("%s: KeepWait(%v, %v) = %v, want %v", tt.name, tt.segment, tt.next, got, tt.want)
		}
	}
}

// The schedule that the cost figures rest on, replayed through the real
// Watcher on a simulated clock: a 3-minute generation (queued 10 s, then
// linear provider progress over 170 s) is seen done within 4 Watch entries
// (3 polls and 1 reschedule: the first progress value keeps the 20 s wait,
// the second times the poll just after the extrapolated end), i.e. at most
// 8 state transitions, and at most 30 s after it finished, whatever the
// jitter and with up to 1.5 s of delay per entry. Without progress, the
// back-off alone (20, 40, 80, 160 s) needs more entries and sees the job
// up to 2½ minutes late, still with at most half the fixed 20 s loop's 29
// transitions.
func TestWatchScheduleForThreeMinuteJob(t *testing.T) {
	for _, lj := range []trackingtest.LinearJob{
		{Queue: 10 * time.Second, Gen: 170 * time.Second},
		{Queue: 10 * time.Second, Gen: 170 * time.Second, NoProgress: true},
	} {
		for _, lag := range []time.Duration{0, 700 * time.Millisecond, 1500 * time.Millisecond} {
			for _, r := range []float64{0, 0.5, 1} {
				got, err := trackingtest.ReplayWatch(lj, tracking.DefaultPollAfter, lag, r)
				if err != nil {
					t.Fatalf("replay: %v", err)
				}
				maxTransitions, maxLate := 8, 30*time.Second
				if lj.NoProgress {
					maxTransitions, maxLate = 29/2, 150*time.Second
				}
				late := got.SeenDone - (lj.Queue + lj.Gen)
				t.Logf("progress %v, lag %v, rand %.1f: %d transitions (%d polls, %d reschedules), seen done %v late",
					!lj.NoProgress, lag, r, got.Transitions(), got.Polls, got.Reschedules, late)
				if got.Transitions() > maxTransitions || late > maxLate {
					t.Errorf("progress %v, lag %v, rand %.1f: %d transitions (%d polls, %d reschedules), seen done %v late; want ≤ %d and ≤ %v",
						!lj.NoProgress, lag, r, got.Transitions(), got.Polls, got.Reschedules, late, maxTransitions, maxLate)
				}
			}
		}
	}
}
