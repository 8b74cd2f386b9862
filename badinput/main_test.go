package badinput

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/videojobs/videojobs/chaos"
	"github.com/videojobs/videojobs/internal/job"
	"github.com/videojobs/videojobs/internal/localapi"
)

// The shared stack, and two jobs that finished before any test ran: the
// webhook cases aim at them.
var (
	sys        *chaos.System
	skipReason string
	setupErr   error
	// target is the job the webhook cases post to; other is a second job,
	// whose derived secret must not forge anything for target.
	target, other *job.Job
)

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	var log bytes.Buffer
	sys, setupErr = chaos.StartSystem(ctx, chaos.Options{Seed: 10, Log: &log})
	if errors.Is(setupErr, chaos.ErrToolsAbsent) {
		skipReason, setupErr = setupErr.Error(), nil
	}
	if setupErr == nil && sys != nil {
		target, other, setupErr = fixtureJobs(ctx)
	}
	cancel()
	if setupErr != nil {
		fmt.Fprintf(os.Stderr, "badinput: %v\n%s", setupErr, log.String())
	}
	code := m.Run()
	if sys != nil {
		sys.Close()
	}
	return code
}

// requireSystem returns the stack, skipping when an emulator binary is
// absent and failing when it could not start.
func requireSystem(t *testing.T) *chaos.System {
	t.Helper()
	if skipReason != "" {
		t.Skip(skipReason)
	}
	if setupErr != nil {
		t.Fatalf("local stack: %v", setupErr)
	}
	return sys
}

// fixtureJobs submits two jobs and waits until both are stored and the
// gateway has nothing left to deliver, so nothing but the tests can touch
// the table afterwards.
func fixtureJobs(ctx context.Context) (*job.Job, *job.Job, error) {
	var ids []string
	for i := range 2 {
		body, _ := json.Marshal(map[string]string{"prompt": fmt.Sprintf("bad-input fixture %d [sim queue=0 duration=30s]", i)})
		r, err := sys.API.Do(ctx, http.MethodPost, "/jobs", body, nil)
		if err != nil {
			return nil, nil, err
		}
		if r.Status != http.StatusAccepted {
			return nil, nil, fmt.Errorf("fixture job: POST /jobs: %s", r)
		}
		v, err := localapi.DecodeJob(r)
		if err != nil {
			return nil, nil, err
		}
		ids = append(ids, v.ID)
	}
	for _, id := range ids {
		for {
			j, err := sys.Jobs.GetJob(ctx, id)
			if err != nil {
				return nil, nil, fmt.Errorf("fixture job %s: %w", id, err)
			}
			if j.State.Terminal() {
				if j.State != job.Stored {
					return nil, nil, fmt.Errorf("fixture job %s ended %s, want stored", id, j.State)
				}
				break
			}
			select {
			case <-ctx.Done():
				return nil, nil, fmt.Errorf("fixture job %s: still %s: %w", id, j.State, ctx.Err())
			case <-time.After(500 * time.Millisecond):
			}
		}
	}
	for sys.Sim.Pending() > 0 {
		select {
		case <-ctx.Done():
			return nil, nil, fmt.Errorf("fixture jobs: gateway deliveries pending: %w", ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
	// Re-read: the last deliveries may have updated the counters.
	a, err := sys.Jobs.GetJob(ctx, ids[0])
	if err != nil {
		return nil, nil, err
	}
	b, err := sys.Jobs.GetJob(ctx, ids[1])
	return a, b, err
}

// snapshot is everything a bad request must leave alone: every item key in
// the table and the two fixture jobs in full.
type snapshot struct {
	Keys   []string
	Target *job.Job
	Other  *job.Job
}

func takeSnapshot(t *testing.T) snapshot {
	t.Helper()
	ctx := t.Context()
	keys, err := sys.Jobs.ScanAll(ctx)
	if err != nil {
		t.Fatalf("scan table: %v", err)
	}
	a, err := sys.Jobs.GetJob(ctx, target.ID)
	if err != nil {
		t.Fatalf("get job: %v", err)
	}
	b, err := sys.Jobs.GetJob(ctx, other.ID)
	if err != nil {
		t.Fatalf("get job: %v", err)
	}
	return snapshot{Keys: keys, Target: a, Other: b}
}

// unchanged fails the test if anything in the table moved since before.
func unchanged(t *testing.T, before snapshot) {
	t.Helper()
	if diff := cmp.Diff(before, takeSnapshot(t)); diff != "" {
		t.Errorf("the request changed the table (-before +after):\n%s", diff)
	}
}

// want is the documented answer to a bad request.
type want struct {
	status int
	code   string
	// field is the offending field; "" means the envelope has none.
	field string
	// gateway marks answers made by the HTTP API layer itself, before any
	// function ran: API Gateway's own {"message": "..."} body (or, for
	// requests Go's HTTP server refuses to parse, its plain-text reply).
	gateway bool
}

// check compares an answer with w.
func check(t *testing.T, r localapi.Response, w want) {
	t.Helper()
	if r.Status != w.status {
		t.Errorf("status: got %s, want %d", r, w.status)
	}
	if w.gateway {
		return
	}
	e, ok := r.Envelope()
	if !ok {
		t.Errorf("body: got %s, want the error envelope {\"error\":{\"code\",\"message\",\"field\"?}}", r)
		return
	}
	if e.Code != w.code || e.Field != w.field {
		t.Errorf("error: got code %q field %q (%q), want code %q field %q", e.Code, e.Field, e.Message, w.code, w.field)
	}
	if ct := r.Header.Get("Content-Type"); ct == "" || !bytes.HasPrefix([]byte(ct), []byte("application/json")) {
		t.Errorf("Content-Type: got %q, want application/json", ct)
	}
}
