package chaos

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/videojobs/videojobs/internal/job"
	"github.com/videojobs/videojobs/internal/simulator"
)

// Profile is the run's fault mix: every fault the simulator can inject that
// leaves a job's scripted outcome the right answer, at rates a bad day at
// the gateway might show. Draws are per delivery attempt, per poll and per
// content fetch, so a job usually meets several.
func Profile() simulator.Settings {
	return simulator.Settings{Faults: simulator.Faults{
		// ~30% of deliveries duplicated, 20% dropped.
		simulator.FaultWebhookDuplicate: 0.30,
		simulator.FaultWebhookDrop:      0.20,
		// ~10% reordered (stale progress after the terminal event) or
		// late.
		simulator.FaultWebhookReorder: 0.05,
		simulator.FaultWebhookDelay:   0.05,
		// ~5% bad signatures or stale timestamps.
		simulator.FaultWebhookBadSignature:   0.03,
		simulator.FaultWebhookStaleTimestamp: 0.02,
		// Unsigned provider-native callbacks to the same URL, and acks the
		// gateway loses (so it redelivers a delivered event).
		simulator.FaultWebhookForeign: 0.05,
		simulator.FaultWebhookLostAck: 0.05,
		// ~10% of polls 5xx, ~5% 429, and a few other transient answers.
		simulator.FaultPoll5xx:             0.06,
		simulator.FaultPoll5xxHTML:         0.04,
		simulator.FaultPoll429:             0.03,
		simulator.FaultPoll429NoRetryAfter: 0.01,
		simulator.FaultPollKeyLimit:        0.01,
		simulator.FaultPollNotReady:        0.02,
		simulator.FaultPollHang:            0.01,
		// ~2% truncated content, plus slow and oddly typed bodies.
		simulator.FaultContentTruncateCut:   0.01,
		simulator.FaultContentTruncateShort: 0.01,
		simulator.FaultContentSlowFirstByte: 0.02,
		simulator.FaultContentThrottle:      0.02,
		simulator.FaultContentWrongType:     0.02,
		// ~1% of creates time out after the gateway made the job, and as
		// many answer 500 after making it: both must be reconciled, never
		// re-sent.
		simulator.FaultCreateTimeout: 0.01,
		simulator.FaultCreate5xx:     0.01,
		// Deleted (tombstoned) jobs stay in the list the reconciler reads.
		simulator.FaultListTombstones: 0.5,
	}}
}

// DefaultKill is the chance that an invocation of each killable function has
// its process killed mid-way. The workflow retries a failed task 3-5 times,
// so these rates leave a wrong failure at ~1e-5 per step, which is what a
// correct system must survive.
var DefaultKill = map[string]float64{"webhook": 0.05, "watch": 0.03, "store": 0.08}

// coverage are faults forced, one each, on the first jobs of a run, so even
// a short run meets each of them at least once (forced webhook faults hit
// every attempt; forced poll and content faults the first two).
var coverage = []string{
	simulator.FaultCreateTimeout,
	simulator.FaultContentTruncateCut,
	simulator.FaultWebhookReorder,
	simulator.FaultWebhookBadSignature,
	simulator.FaultWebhookStaleTimestamp,
	simulator.FaultWebhookForeign,
	simulator.FaultContentTruncateShort,
	simulator.FaultWebhookDuplicate,
	simulator.FaultWebhookLostAck,
	simulator.FaultWebhookDrop,
	simulator.FaultPoll5xx,
	simulator.FaultPoll429,
	simulator.FaultCreate5xx,
}

// Script is what the simulator is told to do with one job.
type Script struct {
	// Outcome is the provider's end: completed, failed, cancelled, expired.
	Outcome string
	// Queue and Duration are simulated times (divided by the time scale).
	Queue, Duration time.Duration
	// Size is the content size; 0 serves the 14 KB sample.
	Size int64
	// Faults are forced for this job on top of the run's profile.
	Faults []string
}

// Expected is the state the job must end in.
func (s Script) Expected() job.State {
	switch s.Outcome {
	case "failed":
		return job.Failed
	case "cancelled":
		return job.Cancelled
	case "expired":
		return job.Expired
	}
	return job.Stored
}

// Prompt renders the job's prompt with its simulator directive.
func (s Script) Prompt(i int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "chaos job %d: a kite over dunes [sim outcome=%s queue=%gs duration=%gs", i, s.Outcome, s.Queue.Seconds(), s.Duration.Seconds())
	if s.Size > 0 {
		fmt.Fprintf(&b, " size=%d", s.Size)
	}
	if len(s.Faults) > 0 {
		fmt.Fprintf(&b, " faults=%s", strings.Join(s.Faults, ","))
	}
	b.WriteString("]")
	return b.String()
}

// Scripts draws n job scripts from seed: 80% completed, 10% failed, 5%
// cancelled, 5% expired; mostly the small sample video, 15% between 256 KiB
// and 3 MiB (multipart copies). The first jobs each carry one coverage
// fault and complete, so the fault meets a video to copy.
func Scripts(seed int64, n int) []Script {
	rng := rand.New(rand.NewPCG(uint64(seed), 0x5c121715))
	out := make([]Script, n)
	for i := range out {
		s := Script{
			Queue:    time.Duration(rng.IntN(21)) * time.Second,
			Duration: time.Duration(30+rng.IntN(211)) * time.Second,
		}
		switch u := rng.Float64(); {
		case u < 0.80:
			s.Outcome = "completed"
		case u < 0.90:
			s.Outcome = "failed"
		case u < 0.95:
			s.Outcome = "cancelled"
		default:
			s.Outcome = "expired"
		}
		if rng.Float64() < 0.15 {
			s.Size = 256<<10 + rng.Int64N(11<<18)
		}
		if i < len(coverage) {
			s.Outcome = "completed"
			s.Faults = []string{coverage[i]}
		}
		out[i] = s
	}
	return out
}
