package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/videojobs/videojobs/internal/intake"
)

// options configure one demo run.
type options struct {
	root    string
	timeout time.Duration // for all jobs to end
	tick    time.Duration // live view refresh
	tty     bool
	own     bool // start a stack of its own even if make dev runs
}

// run drives demoJobs through the system and reports how many missed their
// expectation.
func run(ctx context.Context, opts options, out io.Writer) (failed int, err error) {
	var t *target
	if !opts.own {
		if t, err = findDev(ctx, opts.root); err != nil {
			return 0, err
		}
	}
	if t == nil {
		if t, err = startOwn(ctx, opts.root, out); err != nil {
			return 0, err
		}
	}
	defer t.close()
	fmt.Fprintf(out, "\nvideojobs demo against %s\n  HTTP API   %s\n  simulator  %s\n  moto       %s\n", t.what, t.APIURL, t.SimulatorURL, t.MotoURL)
	if t.LogDir != "" {
		fmt.Fprintf(out, "  logs       %s\n", t.LogDir)
	}
	fmt.Fprintln(out)

	c := newClient(t)
	results := make([]result, len(demoJobs))
	statuses := make([]status, len(demoJobs))
	submitted := make([]time.Time, len(demoJobs))
	for i, j := range demoJobs {
		results[i].Job, statuses[i].Name = j, j.Name
		v, err := c.submit(ctx, j.Prompt)
		if err != nil {
			return 0, fmt.Errorf("job %q: %w", j.Name, err)
		}
		results[i].ID, statuses[i].ID, statuses[i].State = v.ID, v.ID, string(v.State)
		submitted[i] = time.Now()
	}

	view := newLive(out, opts.tty, time.Now())
	deadline := time.Now().Add(opts.timeout)
	views := make([]intake.View, len(demoJobs))
	for {
		done := true
		for i := range results {
			if views[i].State.Terminal() {
				continue
			}
			v, err := c.api.Job(ctx, results[i].ID)
			if err != nil {
				statuses[i].Err = err.Error()
				done = false
				continue
			}
			views[i], statuses[i].Err = v, ""
			statuses[i].State, statuses[i].Provider = string(v.State), v.ProviderStatus
			statuses[i].Health = healthOf(v, statuses[i].Health.Rejected)
			if v.ProviderJobID != "" {
				if n, err := c.rejected(ctx, v.ProviderJobID); err == nil {
					statuses[i].Health.Rejected = n
				}
			}
			statuses[i].Elapsed = time.Since(submitted[i])
			if !v.State.Terminal() {
				done = false
			}
		}
		view.update(statuses, time.Now())
		if done {
			break
		}
		if time.Now().After(deadline) {
			fmt.Fprintf(out, "\ngave up waiting after %s\n", opts.timeout)
			break
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(opts.tick):
		}
	}

	fmt.Fprintln(out, "\nreading back S3 objects, delivery health and execution histories…")
	for i := range results {
		finish(ctx, c, &results[i], views[i])
	}
	fmt.Fprintln(out)
	return summarize(out, results), nil
}

func healthOf(v intake.View, rejected int) health {
	h := health{Rejected: rejected}
	if d := v.Deliveries; d != nil {
		h.Received, h.Duplicates, h.Retries, h.Late = d.Received, d.Duplicates, d.Retries, d.Late
	}
	return h
}

// finish fills in everything the summary shows about one ended job.
func finish(ctx context.Context, c *client, r *result, v intake.View) {
	r.State, r.ProviderJobID = string(v.State), v.ProviderJobID
	if v.Error != nil {
		r.Reason = v.Error.Reason
	}
	for _, h := range v.History {
		if h.To == "completed" {
			r.CompletedBy = string(h.Source)
		}
	}
	var errs []error
	r.Health = healthOf(v, 0)
	if v.ProviderJobID != "" {
		n, err := c.rejected(ctx, v.ProviderJobID)
		errs = append(errs, err)
		r.Health.Rejected = n
	}
	if v.Output != nil {
		o, err := c.object(ctx, v.Output.Bucket, v.Output.Key, v.ProviderJobID)
		errs = append(errs, err)
		r.Object = o
	}
	if v.State.Terminal() {
		// The execution outlives the job's last state change by a task or
		// two (publishing the outcome event).
		for range 40 {
			n, ok, err := c.transitions(ctx, r.ID)
			if err != nil {
				errs = append(errs, err)
				break
			}
			if ok {
				r.Transitions = n
				break
			}
			time.Sleep(250 * time.Millisecond)
		}
	}
	r.Err = errors.Join(errs...)
}
