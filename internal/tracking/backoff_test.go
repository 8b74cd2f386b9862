package tracking_test

import (
	"testing"
	"time"

	"github.com/videojobs/videojobs/internal/tracking"
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
		{"steady state is poll_after", tracking.WaitInput{Now: now, Deadline: far, Prev: 20 * s, PollAfter: 20 * s, Cap: 300 * s, Rand: 0.9}, 20 * s},
		{"default poll_after when the gateway sent none", tracking.WaitInput{Now: now, Deadline: far, Cap: 300 * s}, 20 * s},
		{"gateway's longer poll_after is honoured", tracking.WaitInput{Now: now, Deadline: far, PollAfter: 45 * s, Cap: 300 * s}, 45 * s},
		{"first failure, lowest jitter: the previous wait", tracking.WaitInput{Now: now, Deadline: far, Prev: 20 * s, Backoff: true, Cap: 300 * s, Rand: 0}, 20 * s},
		{"first failure, highest jitter: doubles", tracking.WaitInput{Now: now, Deadline: far, Prev: 20 * s, Backoff: true, Cap: 300 * s, Rand: 1}, 40 * s},
		{"first failure, mid jitter", tracking.WaitInput{Now: now, Deadline: far, Prev: 20 * s, Backoff: true, Cap: 300 * s, Rand: 0.5}, 30 * s},
		{"consecutive failures grow", tracking.WaitInput{Now: now, Deadline: far, Prev: 80 * s, Backoff: true, Cap: 300 * s, Rand: 1}, 160 * s},
		{"capped", tracking.WaitInput{Now: now, Deadline: far, Prev: 200 * s, Backoff: true, Cap: 300 * s, Rand: 1}, 300 * s},
		{"capped at lowest jitter", tracking.WaitInput{Now: now, Deadline: far, Prev: 300 * s, Backoff: true, Cap: 300 * s, Rand: 0}, 300 * s},
		{"jitter never goes below poll_after", tracking.WaitInput{Now: now, Deadline: far, Prev: 0, Backoff: true, Cap: 300 * s, Rand: 0}, 20 * s},
		{"cap below poll_after: poll_after wins", tracking.WaitInput{Now: now, Deadline: far, PollAfter: 20 * s, Cap: 5 * s}, 20 * s},
		{"Retry-After above the back-off", tracking.WaitInput{Now: now, Deadline: far, Prev: 20 * s, Backoff: true, RetryAfter: 90 * s, Cap: 300 * s, Rand: 0}, 90 * s},
		{"Retry-After beyond the cap is still honoured", tracking.WaitInput{Now: now, Deadline: far, Prev: 20 * s, Backoff: true, RetryAfter: 900 * s, Cap: 300 * s}, 900 * s},
		{"Retry-After below poll_after: poll_after", tracking.WaitInput{Now: now, Deadline: far, RetryAfter: 3 * s, Cap: 300 * s}, 20 * s},
		{"fractional Retry-After rounds up", tracking.WaitInput{Now: now, Deadline: far, RetryAfter: 61500 * time.Millisecond, Cap: 300 * s}, 62 * s},
		{"never beyond the deadline", tracking.WaitInput{Now: now, Deadline: now.Add(7 * s), Prev: 100 * s, Backoff: true, Cap: 300 * s, Rand: 1}, 7 * s},
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

// Over every jitter draw, a back-off stays within [prev, min(2·prev, cap)]
// and within [poll_after, cap].
func TestNextWaitJitterBounds(t *testing.T) {
	s := time.Second
	for prev := time.Duration(0); prev <= 400*s; prev += 7 * s {
		for i := range 101 {
			r := float64(i) / 100
			got := tracking.NextWait(tracking.WaitInput{Now: testNow, Deadline: testNow.Add(time.Hour), Prev: prev, Backoff: true, Cap: 300 * s, Rand: r})
			lo := min(max(prev, 20*s), 300*s)
			hi := min(max(2*prev, 20*s), 300*s)
			if got < lo || got > hi+s { // +1 s: rounding up to whole seconds
				t.Fatalf("prev %v rand %.2f: wait %v outside [%v, %v]", prev, r, got, lo, hi)
			}
		}
	}
}
