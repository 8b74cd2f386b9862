package intake_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/videojobs/videojobs/internal/aistats"
	"github.com/videojobs/videojobs/internal/intake"
	"github.com/videojobs/videojobs/internal/job"
)

func putJob(e *env, state job.State, mut func(*job.Job)) *job.Job {
	j := &job.Job{ID: intake.NewJobID(), State: state, Model: "m", CreatedAt: e.now, UpdatedAt: e.now, TaskToken: "secret-task-token"}
	if mut != nil {
		mut(j)
	}
	e.store.Put(j)
	return j
}

func TestGet(t *testing.T) {
	e := newEnv(t)
	j := putJob(e, job.Queued, nil)
	got, err := e.svc.Get(context.Background(), j.ID)
	if err != nil || got.ID != j.ID {
		t.Fatalf("Get = %v, %v; want job %s", got, err, j.ID)
	}
	for _, id := range []string{"", "vj_", "nope", intake.NewJobID(), "vj_" + strings.Repeat("i", 26), "../etc/passwd"} {
		if _, err := e.svc.Get(context.Background(), id); !errors.Is(err, job.ErrNotFound) {
			t.Errorf("Get(%q) error = %v, want job.ErrNotFound", id, err)
		}
	}
}

func TestList(t *testing.T) {
	e := newEnv(t)
	for i := range 5 {
		putJob(e, job.Queued, func(j *job.Job) { j.UpdatedAt = e.now.Add(time.Duration(i) * time.Second) })
	}
	putJob(e, job.Failed, nil)
	ctx := context.Background()
	p1, err := e.svc.List(ctx, intake.ListQuery{State: "queued", Limit: "3"})
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if len(p1.Jobs) != 3 || p1.Cursor == "" || !p1.Jobs[0].UpdatedAt.After(p1.Jobs[1].UpdatedAt) {
		t.Fatalf("page 1 = %d jobs, cursor %q; want 3 newest first and a cursor", len(p1.Jobs), p1.Cursor)
	}
	p2, err := e.svc.List(ctx, intake.ListQuery{State: "queued", Limit: "3", Cursor: p1.Cursor})
	if err != nil || len(p2.Jobs) != 2 || p2.Cursor != "" {
		t.Fatalf("page 2 = %v, %v; want the last 2 jobs and no cursor", p2, err)
	}
	empty, err := e.svc.List(ctx, intake.ListQuery{State: "stored"})
	if err != nil || empty.Jobs == nil || len(empty.Jobs) != 0 {
		t.Errorf("empty list = %v, %v; want an empty non-nil page", empty, err)
	}

	bad := []struct {
		name      string
		q         intake.ListQuery
		wantField string
	}{
		{name: "no state", q: intake.ListQuery{}, wantField: "state"},
		{name: "unknown state", q: intake.ListQuery{State: "done"}, wantField: "state"},
		{name: "limit zero", q: intake.ListQuery{State: "queued", Limit: "0"}, wantField: "limit"},
		{name: "limit too big", q: intake.ListQuery{State: "queued", Limit: "101"}, wantField: "limit"},
		{name: "limit not a number", q: intake.ListQuery{State: "queued", Limit: "ten"}, wantField: "limit"},
		{name: "foreign cursor", q: intake.ListQuery{State: "queued", Cursor: "zzz"}, wantField: "cursor"},
		{name: "huge cursor", q: intake.ListQuery{State: "queued", Cursor: strings.Repeat("c", 5000)}, wantField: "cursor"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.svc.List(ctx, tt.q)
			var fe *intake.FieldError
			if !errors.As(err, &fe) || fe.Field != tt.wantField {
				t.Errorf("List error = %v, want field error on %s", err, tt.wantField)
			}
		})
	}
}

func TestDownloadURL(t *testing.T) {
	e := newEnv(t, func(c *intake.Config) { c.DownloadTTL = 2 * time.Minute })
	stored := putJob(e, job.Stored, func(j *job.Job) {
		j.Output = &job.Output{Bucket: "videos-bucket", Key: "videos/" + j.ID + "/0.mp4", Size: 10, SHA256: "ab"}
	})
	d, err := e.svc.DownloadURL(context.Background(), stored.ID)
	if err != nil {
		t.Fatalf("DownloadURL: %v", err)
	}
	if want := fmt.Sprintf("https://videos-bucket.s3.test/videos/%s/0.mp4?ttl=120", stored.ID); d.URL != want {
		t.Errorf("URL = %s, want %s", d.URL, want)
	}
	if want := e.now.Add(2 * time.Minute); !d.ExpiresAt.Equal(want) {
		t.Errorf("ExpiresAt = %v, want %v", d.ExpiresAt, want)
	}
	for _, st := range []job.State{job.Queued, job.Completed, job.Failed} {
		j := putJob(e, st, nil)
		if _, err := e.svc.DownloadURL(context.Background(), j.ID); !errors.Is(err, intake.ErrNotStored) {
			t.Errorf("DownloadURL(%s job) error = %v, want ErrNotStored", st, err)
		}
	}
}

func TestCancel(t *testing.T) {
	ctx := context.Background()
	t.Run("cancellable", func(t *testing.T) {
		e := newEnv(t)
		e.prov.Cancellable = true
		sub, err := e.svc.Submit(ctx, decode(t, okBody), "")
		if err != nil {
			t.Fatalf("Submit: %v", err)
		}
		got, err := e.svc.Cancel(ctx, sub.Job.ID)
		if err != nil {
			t.Fatalf("Cancel: %v", err)
		}
		if got.State != job.Cancelled || got.CanCancel || got.Error == nil || got.Error.Reason != "cancelled" {
			t.Errorf("cancelled job = %s canCancel %v error %+v", got.State, got.CanCancel, got.Error)
		}
		again, err := e.svc.Cancel(ctx, sub.Job.ID)
		if err != nil || again.State != job.Cancelled || len(e.prov.Cancels()) != 1 {
			t.Errorf("repeat cancel = %v, %v, provider calls %d; want the cancelled job, no new call", again, err, len(e.prov.Cancels()))
		}
	})
	t.Run("no cancel_url", func(t *testing.T) {
		e := newEnv(t)
		sub, _ := e.svc.Submit(ctx, decode(t, okBody), "")
		if _, err := e.svc.Cancel(ctx, sub.Job.ID); !errors.Is(err, intake.ErrCancelNotSupported) {
			t.Errorf("Cancel error = %v, want ErrCancelNotSupported", err)
		}
		if len(e.prov.Cancels()) != 0 {
			t.Error("the provider was asked to cancel without a cancel_url")
		}
	})
	t.Run("501 is final", func(t *testing.T) {
		e := newEnv(t)
		e.prov.Cancellable = true
		e.prov.CancelErr = fmt.Errorf("cancel video: %w", &aistats.APIError{HTTPStatus: 501, Code: "not_implemented_yet"})
		sub, _ := e.svc.Submit(ctx, decode(t, okBody), "")
		if _, err := e.svc.Cancel(ctx, sub.Job.ID); !errors.Is(err, intake.ErrCancelNotSupported) {
			t.Errorf("Cancel error = %v, want ErrCancelNotSupported", err)
		}
		if j := e.store.Job(sub.Job.ID); j.CanCancel || j.State != job.Queued {
			t.Errorf("job after 501 = %s canCancel %v, want queued and not cancellable", j.State, j.CanCancel)
		}
	})
	t.Run("provider down", func(t *testing.T) {
		e := newEnv(t)
		e.prov.Cancellable = true
		e.prov.CancelErr = fmt.Errorf("cancel video: %w", &aistats.APIError{HTTPStatus: 502, Code: "upstream_error"})
		sub, _ := e.svc.Submit(ctx, decode(t, okBody), "")
		if _, err := e.svc.Cancel(ctx, sub.Job.ID); !errors.Is(err, intake.ErrProviderUnavailable) {
			t.Errorf("Cancel error = %v, want ErrProviderUnavailable", err)
		}
	})
	t.Run("provider finished first", func(t *testing.T) {
		e := newEnv(t)
		e.prov.Cancellable = true
		e.prov.CancelErr = fmt.Errorf("cancel video: %w", &aistats.APIError{HTTPStatus: 400, Code: "validation_error", Reason: "video_cancel_requires_non_terminal_status"})
		sub, _ := e.svc.Submit(ctx, decode(t, okBody), "")
		if _, err := e.svc.Cancel(ctx, sub.Job.ID); !errors.Is(err, intake.ErrJobTerminal) {
			t.Errorf("Cancel error = %v, want ErrJobTerminal", err)
		}
	})
	t.Run("ended job", func(t *testing.T) {
		e := newEnv(t)
		j := putJob(e, job.Stored, func(j *job.Job) { j.CanCancel = true; j.ProviderJobID = "G-1" })
		if _, err := e.svc.Cancel(ctx, j.ID); !errors.Is(err, intake.ErrJobTerminal) {
			t.Errorf("Cancel error = %v, want ErrJobTerminal", err)
		}
	})
}

func TestViewHidesInternals(t *testing.T) {
	e := newEnv(t)
	j := putJob(e, job.Stored, func(j *job.Job) {
		j.Fingerprint, j.IdempotencyKey, j.Version = "fp-secretish", "idem-key-value", 7
		j.Output = &job.Output{Bucket: "b", Key: "videos/x/0.mp4", Size: 3, SHA256: "cafe"}
	})
	b, err := json.Marshal(intake.ViewOf(j, true))
	if err != nil {
		t.Fatalf("marshal view: %v", err)
	}
	for _, leak := range []string{"secret-task-token", "fp-secretish", "idem-key-value", `"version"`} {
		if strings.Contains(string(b), leak) {
			t.Errorf("view %s contains %s", b, leak)
		}
	}
	for _, want := range []string{`"s3Uri":"s3://b/videos/x/0.mp4"`, `"downloadUrl":"/jobs/` + j.ID + `/download-url"`, `"deliveries":`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("view %s lacks %s", b, want)
		}
	}
}

func TestJobIDs(t *testing.T) {
	seen := map[string]bool{}
	prev := ""
	for range 1000 {
		id := intake.NewJobID()
		if !intake.ValidJobID(id) || seen[id] {
			t.Fatalf("NewJobID = %q: valid %v, duplicate %v", id, intake.ValidJobID(id), seen[id])
		}
		if len(id) > 80 {
			t.Fatalf("id %q is too long for an execution name", id)
		}
		seen[id] = true
		if id[:13] < prev[:min(13, len(prev))] {
			t.Fatalf("ids not time-ordered: %s after %s", id, prev)
		}
		prev = id
	}
	for _, bad := range []string{"vj_8zzzzzzzzzzzzzzzzzzzzzzzzz", "VJ_01jz8q3v4x5y6z7a8b9c0d1e2f", "vj_01jz8q3v4x5y6z7a8b9c0d1e2", "vj_01JZ8Q3V4X5Y6Z7A8B9C0D1E2F"} {
		if intake.ValidJobID(bad) {
			t.Errorf("ValidJobID(%q) = true", bad)
		}
	}
}
