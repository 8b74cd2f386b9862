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
	// Remaining is the provider's own progress extrapolated to completion
	// (0 when unknown): the next poll is timed for when the job should be
	// done, since on this gateway a status GET is what finalises a job and
	// fires its terminal webhook (provider-contract.md §1).
	Remaining time.Duration
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
// When the provider reports progress, the next poll is timed just after
// the extrapolated end of the generation. Otherwise every poll of an open
// job doubles the wait, up to the cap, whether it succeeded or failed: a
// generation takes minutes, so polling at the gateway's 20 s floor buys
// little latency for many state transitions (each poll costs three), and a
// failing gateway is given room. The wait is then drawn from the top 10%
// below that target, which spreads concurrent jobs apart
// (https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/)
// while a sequence still grows by at least 1.8× per poll. Webhooks do not
// stretch the wait: the gateway finalises a job (and sends its terminal
// webhook) only on a status GET or its ~5-minute sweep, so waiting for the
// webhook would leave a finished job waiting for the sweep; a webhook that
// arrives first still wakes the workflow early. The result is never below
// PollAfter, never above the cap unless the gateway asked for a longer
// pause, and never past the deadline. Only the previous wait is needed,
// which the job already stores.
func NextWait(in WaitInput) time.Duration {
	floor := in.PollAfter
	if floor <= 0 {
		floor = DefaultPollAfter
	}
	r := min(max(in.Rand, 0), 1)
	target := 2 * max(in.Prev, floor)
	if in.Cap > 0 {
		target = min(target, in.Cap)
	}
	wait := time.Duration(float64(target) * (0.9 + 0.1*r))
	if in.Remaining > 0 {
		// Just after the estimated end: 5-10% late, so one poll usually
		// finds the job done, and jobs of equal length spread apart.
		wait = time.Duration(float64(in.Remaining) * (1.05 + 0.05*r))
		if in.Cap > 0 {
			wait = min(wait, in.Cap)
		}
	}
	wait = max(wait, floor, in.RetryAfter)
	if !in.Deadline.IsZero() {
		wait = min(wait, in.Deadline.Sub(in.Now))
	}
	// Round up so a wait never undershoots PollAfter or Retry-After.
	secs := (wait + time.Second - 1) / time.Second
	return max(secs, 1) * time.Second
}

// KeepWait reports whether the Watch loop keeps running with its current
// wait (segment, the workflow's $wait) instead of changing it to next, the
// wait NextWait chose. Keeping costs nothing (the timeout re-enters Watch,
// one state transition per poll); changing costs one more transition (the
// Reschedule catch), so the current wait is kept when it is within 10%
// (at least 5 s) of next, and also right after the job's first progress
// value: the next poll at the same wait gives the rate that times the
// poll after it (two samples make an estimate, one does not). A wait
// shorter than the gateway's Retry-After is never kept.
func KeepWait(segment, next time.Duration, in WaitInput, firstSample bool) bool {
	if segment <= 0 || segment < in.RetryAfter {
		return false
	}
	if firstSample && in.Remaining <= 0 && segment <= next {
		return true
	}
	tol := max(5*time.Second, next/10)
	return segment >= next-tol && segment <= next+tol
}
