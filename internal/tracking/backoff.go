package tracking

import "time"

// DefaultPollAfter is the gateway's poll_after_seconds when it says nothing
// (provider-contract.md §4): never poll faster than this.
const DefaultPollAfter = 20 * time.Second

// WaitInput is everything the next poll interval depends on.
type WaitInput struct {
	Now      time.Time
	Deadline time.Time // the job fails at this time; the wait never passes it
	// Prev is the wait chosen after the previous poll (0 before the first,
	// which counts as PollAfter: the workflow's first wait).
	Prev time.Duration
	// PollAfter is the gateway's poll_after_seconds; DefaultPollAfter when 0.
	PollAfter time.Duration
	// Backstop is set when verified webhooks reach us for this job: the
	// terminal webhook will wake the workflow, so the poll is only a
	// backstop for a lost delivery and waits the cap.
	Backstop bool
	// RetryAfter is the pause the gateway asked for (Retry-After, or the
	// time until a key limit's reset_at).
	RetryAfter time.Duration
	// Cap bounds the wait (POLL_INTERVAL_CAP_SECONDS). Retry-After may
	// exceed it: the gateway asked for that pause explicitly.
	Cap time.Duration
	// Rand is a uniform sample from [0, 1], injected so tests are exact.
	Rand float64
}

// NextWait returns how long the workflow waits before the next poll, in
// whole seconds (Step Functions timeouts are integers), at least 1 s.
//
// Every poll of an open job doubles the wait, up to the cap, whether it
// succeeded or failed: a generation takes minutes, so polling at the
// gateway's 20 s floor buys little latency for many state transitions
// (each poll costs three), and a failing gateway is given room. The wait
// is then drawn from the top 10% below that target, which spreads
// concurrent jobs apart
// (https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/)
// while a sequence still grows by at least 1.8× per poll. Once webhooks are
// seen to arrive, the wait is the cap. The result is never below
// PollAfter, never above the cap unless the gateway asked for a longer
// pause, and never past the deadline. Only the previous wait is needed,
// which the job already stores.
func NextWait(in WaitInput) time.Duration {
	floor := in.PollAfter
	if floor <= 0 {
		floor = DefaultPollAfter
	}
	target := 2 * max(in.Prev, floor)
	if in.Backstop {
		target = in.Cap
	}
	if in.Cap > 0 {
		target = min(target, in.Cap)
	}
	r := min(max(in.Rand, 0), 1)
	wait := time.Duration(float64(target) * (0.9 + 0.1*r))
	wait = max(wait, floor, in.RetryAfter)
	if !in.Deadline.IsZero() {
		wait = min(wait, in.Deadline.Sub(in.Now))
	}
	// Round up so a wait never undershoots PollAfter or Retry-After.
	secs := (wait + time.Second - 1) / time.Second
	return max(secs, 1) * time.Second
}
