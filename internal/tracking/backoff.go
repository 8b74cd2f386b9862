package tracking

import "time"

// DefaultPollAfter is the gateway's poll_after_seconds when it says nothing
// (provider-contract.md §4): never poll faster than this.
const DefaultPollAfter = 20 * time.Second

// WaitInput is everything the next poll interval depends on.
type WaitInput struct {
	Now      time.Time
	Deadline time.Time // the job fails at this time; the wait never passes it
	// Prev is the wait chosen after the previous poll (0 before the first).
	Prev time.Duration
	// PollAfter is the gateway's poll_after_seconds; DefaultPollAfter when 0.
	PollAfter time.Duration
	// Backoff is set when the poll failed, or when the job has been
	// running long enough that polling at full rate is waste.
	Backoff bool
	// RetryAfter is the pause the gateway asked for (Retry-After, or the
	// time until a key limit's reset_at).
	RetryAfter time.Duration
	// Cap bounds the back-off (POLL_INTERVAL_CAP_SECONDS). Retry-After may
	// exceed it: the gateway asked for that pause explicitly.
	Cap time.Duration
	// Rand is a uniform sample from [0, 1), injected so tests are exact.
	Rand float64
}

// NextWait returns how long the workflow waits before the next poll, in
// whole seconds (Step Functions timeouts are integers), at least 1 s.
//
// Steady state is PollAfter. Backing off draws uniformly between the
// previous wait and twice that (capped), so consecutive failures grow the
// wait exponentially (×1.5 on average) while concurrent jobs spread out
// (jitter, https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/),
// and the wait never shrinks while backing off. Only the previous wait is
// needed, which the job already stores. The result is never below PollAfter, never above Cap unless the
// gateway asked for a longer pause, and never past the deadline.
func NextWait(in WaitInput) time.Duration {
	floor := in.PollAfter
	if floor <= 0 {
		floor = DefaultPollAfter
	}
	wait := floor
	if in.Backoff {
		target := max(2*in.Prev, floor)
		if in.Cap > 0 {
			target = min(target, in.Cap)
		}
		lo := min(max(in.Prev, floor), target)
		r := min(max(in.Rand, 0), 1)
		wait = lo + time.Duration(r*float64(target-lo))
	}
	if in.Cap > 0 {
		wait = min(wait, in.Cap)
	}
	wait = max(wait, floor, in.RetryAfter)
	if !in.Deadline.IsZero() {
		wait = min(wait, in.Deadline.Sub(in.Now))
	}
	// Round up so a wait never undershoots PollAfter or Retry-After.
	secs := (wait + time.Second - 1) / time.Second
	return max(secs, 1) * time.Second
}
