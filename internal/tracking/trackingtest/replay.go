package trackingtest

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/videojobs/videojobs/internal/aistats"
	"github.com/videojobs/videojobs/internal/job"
	"github.com/videojobs/videojobs/internal/tracking"
)

// LinearJob is a provider job as the simulator plays it: queued for Queue,
// then processing with provider progress rising linearly (floored to a
// whole percent) over Gen, then completed.
type LinearJob struct {
	Queue, Gen time.Duration
	// NoProgress reports progress_source "none" (a provider without
	// progress), so only the back-off times the polls.
	NoProgress bool
}

// Replay is what the workflow's Watch loop did for one job.
type Replay struct {
	// Entries counts Watch state entries: one per poll, plus one per
	// reschedule (each is one state transition).
	Entries, Polls, Reschedules int
	// SeenDone is when the poll that found the job completed ran, from
	// submission.
	SeenDone time.Duration
}

// Transitions is the workflow's state transitions for a job that ends
// stored: FirstWait, the Watch entries, Route, Store, PublishSucceeded.
func (r Replay) Transitions() int { return r.Entries + 4 }

// ReplayWatch runs the real tracking.Watcher on a simulated clock the way
// workflow/job.asl.json drives it: FirstWait of firstWait, then Watch
// entries, each re-entered on the timeout (the current wait) or at once
// with the new wait on a videojobs.Reschedule completion, until a
// completion carries the settled state. Each entry runs lag after the
// timeout fired (the Lambda invocation and Step Functions' own delay);
// rnd is the watcher's jitter sample.
func ReplayWatch(lj LinearJob, firstWait, lag time.Duration, rnd float64) (Replay, error) {
	const id = "vj_replay0000000000000000000"
	start := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	now := start.Add(firstWait + lag)
	store := NewStore(&job.Job{ID: id, State: job.Queued, ProviderJobID: "G-REPLAY", CreatedAt: start, UpdatedAt: start,
		SubmittedAt: start, WaitSeconds: int(firstWait / time.Second)})
	tasks := &Tasks{}
	provider := &linearProvider{job: lj, start: start, now: &now}
	w := tracking.NewWatcher(store, provider, tasks, nil, tracking.WatchConfig{
		Now: func() time.Time { return now }, Rand: func() float64 { return rnd }})
	var r Replay
	segment := firstWait
	for token := 0; r.Entries < 1000; token++ {
		r.Entries++
		n := len(tasks.Calls)
		if _, err := w.Watch(context.Background(), id, "token-"+strconv.Itoa(token), segment); err != nil {
			return r, err
		}
		r.Polls = provider.gets
		if len(tasks.Calls) == n {
			now = now.Add(segment + lag) // the timeout re-enters Watch
			continue
		}
		c := tasks.Calls[n]
		if c.Error != tracking.RescheduleError {
			r.SeenDone = now.Sub(start)
			return r, nil
		}
		secs, err := strconv.Atoi(c.Cause)
		if err != nil || secs < 1 {
			return r, fmt.Errorf("reschedule cause %q is not whole seconds", c.Cause)
		}
		r.Reschedules++
		segment = time.Duration(secs) * time.Second
		now = now.Add(lag) // re-entered at once
	}
	return r, fmt.Errorf("job not seen done after %d Watch entries", r.Entries)
}

type linearProvider struct {
	job   LinearJob
	start time.Time
	now   *time.Time
	gets  int
}

func (p *linearProvider) Get(_ context.Context, id string) (*aistats.Video, error) {
	p.gets++
	at := p.now.Sub(p.start)
	v := &aistats.Video{ID: id, Status: aistats.StatusQueued, PollAfter: tracking.DefaultPollAfter}
	switch {
	case at >= p.job.Queue+p.job.Gen:
		v.Status, v.Progress = aistats.StatusCompleted, intPtr(100)
	case at >= p.job.Queue:
		v.Status = aistats.StatusProcessing
		if !p.job.NoProgress {
			pct := int(math.Floor(float64(at-p.job.Queue) / float64(p.job.Gen) * 100))
			v.Progress, v.ProgressSource = intPtr(min(pct, 99)), "provider"
		}
	}
	return v, nil
}

func (p *linearProvider) FindByWebhookURL(context.Context, string) (*aistats.Video, error) {
	return nil, fmt.Errorf("replay: the provider job is known")
}

func intPtr(n int) *int { return &n }
