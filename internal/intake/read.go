package intake

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/videojobs/videojobs/internal/aistats"
	"github.com/videojobs/videojobs/internal/job"
	"github.com/videojobs/videojobs/internal/jobstore"
)

// Page limits for List.
const (
	DefaultListLimit = 20
	MaxListLimit     = 100
	maxCursorLength  = 2048
)

// Get returns a job. A malformed id is job.ErrNotFound without a store
// round trip.
func (s *Service) Get(ctx context.Context, id string) (*job.Job, error) {
	if !ValidJobID(id) {
		return nil, fmt.Errorf("get job %q: %w", id, job.ErrNotFound)
	}
	j, err := s.cfg.Store.GetJob(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("get job %s: %w", id, err)
	}
	return j, nil
}

// ListQuery is GET /jobs's query string, unparsed.
type ListQuery struct {
	State  string
	Limit  string
	Cursor string
}

// Page is one page of jobs, newest first; Cursor is "" on the last page.
type Page struct {
	Jobs   []*job.Job
	Cursor string
}

// List returns jobs in one state (the store's index is by state). The
// query is validated field by field: state must be a known state, limit
// 1..100 (default 20).
func (s *Service) List(ctx context.Context, q ListQuery) (*Page, error) {
	if q.State == "" {
		return nil, &FieldError{Field: "state", Message: "is required: one of " + stateNames()}
	}
	st := job.State(q.State)
	if !st.Valid() {
		return nil, &FieldError{Field: "state", Message: "must be one of " + stateNames()}
	}
	limit := DefaultListLimit
	if q.Limit != "" {
		n, err := strconv.Atoi(q.Limit)
		if err != nil || n < 1 || n > MaxListLimit {
			return nil, &FieldError{Field: "limit", Message: fmt.Sprintf("must be an integer 1..%d", MaxListLimit)}
		}
		limit = n
	}
	if len(q.Cursor) > maxCursorLength {
		return nil, &FieldError{Field: "cursor", Message: "is not a cursor this API returned"}
	}
	jobs, next, err := s.cfg.Store.ListJobs(ctx, st, limit, q.Cursor)
	if err != nil {
		if errors.Is(err, ErrBadCursor) {
			return nil, &FieldError{Field: "cursor", Message: "is not a cursor this API returned"}
		}
		return nil, fmt.Errorf("list jobs in %s: %w", st, err)
	}
	if jobs == nil {
		jobs = []*job.Job{}
	}
	return &Page{Jobs: jobs, Cursor: next}, nil
}

// ErrBadCursor is what a Store returns (wrapped) for a cursor it did not
// issue.
var ErrBadCursor = jobstore.ErrInvalidCursor

func stateNames() string {
	s := ""
	for i, st := range job.States {
		if i > 0 {
			s += ", "
		}
		s += string(st)
	}
	return s
}

// Download is a presigned GET for a stored video.
type Download struct {
	URL       string
	ExpiresAt time.Time
}

// DownloadURL presigns a short-lived S3 GET for a stored job's video.
// ErrNotStored when the video is not in S3.
func (s *Service) DownloadURL(ctx context.Context, id string) (*Download, error) {
	j, err := s.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if j.State != job.Stored || j.Output == nil || j.Output.Key == "" || (s.cfg.Bucket != "" && j.Output.Bucket != s.cfg.Bucket) {
		return nil, fmt.Errorf("download url for job %s in state %s: %w", id, j.State, ErrNotStored)
	}
	now := s.cfg.Now()
	u, err := s.cfg.Presigner.PresignGet(ctx, j.Output.Bucket, j.Output.Key, s.cfg.DownloadTTL)
	if err != nil {
		return nil, fmt.Errorf("download url for job %s: %w", id, err)
	}
	return &Download{URL: u, ExpiresAt: now.Add(s.cfg.DownloadTTL).UTC()}, nil
}

// Cancel asks the provider to cancel the job and records it cancelled.
// Only jobs whose provider offered a cancel_url may be cancelled
// (ErrCancelNotSupported otherwise, and for a 501, which is final);
// cancelling a cancelled job returns it; other ended jobs are
// ErrJobTerminal.
func (s *Service) Cancel(ctx context.Context, id string) (*job.Job, error) {
	j, err := s.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	switch {
	case j.State == job.Cancelled:
		return j, nil
	case j.State.Terminal() || j.State == job.Completed:
		return nil, fmt.Errorf("cancel job %s in state %s: %w", id, j.State, ErrJobTerminal)
	case !j.CanCancel || j.ProviderJobID == "":
		return nil, fmt.Errorf("cancel job %s: %w", id, ErrCancelNotSupported)
	}
	v, err := s.cfg.Provider.Cancel(ctx, j.ProviderJobID)
	switch {
	case errors.Is(err, aistats.ErrFeatureOff):
		// Final (provider-contract.md §5.5): remember it so the API stops
		// offering cancel for this job.
		if _, uerr := s.cfg.Store.UpdateJob(ctx, id, func(j *job.Job) error { j.CanCancel = false; return nil }); uerr != nil {
			return nil, fmt.Errorf("cancel job %s: record cancel unsupported: %w", id, uerr)
		}
		return nil, fmt.Errorf("cancel job %s: %w: %w", id, ErrCancelNotSupported, err)
	case errors.Is(err, aistats.ErrInvalidRequest):
		// video_cancel_requires_non_terminal_status: the provider finished
		// first; the workflow will record how.
		return nil, fmt.Errorf("cancel job %s: %w: %w", id, ErrJobTerminal, err)
	case err != nil:
		return nil, fmt.Errorf("cancel job %s: %w: %w", id, ErrProviderUnavailable, err)
	}
	if v.Status != aistats.StatusCancelled {
		// The provider accepted the call but reports another state; the
		// workflow's next poll records what it becomes.
		return j, nil
	}
	out, err := s.cfg.Store.UpdateJob(ctx, id, func(j *job.Job) error {
		j.CanCancel = false
		j.ProviderStatus = string(v.Status)
		_, err := j.Fail(job.Cancelled, job.SourceAPI, s.cfg.Now().UTC(), job.Failure{Reason: "cancelled", Message: "cancelled by request"})
		return err
	})
	if errors.Is(err, job.ErrStaleTransition) {
		// Another writer ended the job meanwhile; answer what it is now.
		return s.Get(ctx, id)
	}
	if err != nil {
		return nil, fmt.Errorf("cancel job %s: record cancel: %w", id, err)
	}
	return out, nil
}
