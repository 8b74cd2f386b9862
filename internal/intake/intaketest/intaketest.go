// Package intaketest provides in-memory implementations of the intake
// ports (Store, Provider, Workflow, Presigner) for tests of the intake
// service and the API Lambdas. They follow the real adapters' documented
// semantics (conditional create, versioned read-modify-write, exact
// webhook-URL matching) and record every call for assertions.
package intaketest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/videojobs/videojobs/internal/aistats"
	"github.com/videojobs/videojobs/internal/intake"
	"github.com/videojobs/videojobs/internal/job"
)

// Store is an in-memory intake.Store.
type Store struct {
	mu     sync.Mutex
	jobs   map[string]*job.Job
	idem   map[string]intake.IdempotencyRecord
	writes int
	// BeforeWrite, if set, is called with the job about to be written by
	// CreateJob or UpdateJob; an error aborts the write (a crash or an
	// outage at that point) and is returned.
	BeforeWrite func(j *job.Job) error
	// ClaimErr, if set, fails ClaimIdempotencyKey.
	ClaimErr error
}

var _ intake.Store = (*Store)(nil)

// NewStore returns an empty store.
func NewStore() *Store {
	return &Store{jobs: map[string]*job.Job{}, idem: map[string]intake.IdempotencyRecord{}}
}

// Writes counts successful writes of any item.
func (s *Store) Writes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.writes
}

// Items lists every stored item key, as jobstore.ScanAll does.
func (s *Store) Items() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for id := range s.jobs {
		out = append(out, "JOB#"+id)
	}
	for k := range s.idem {
		out = append(out, "IDEMP#"+k)
	}
	slices.Sort(out)
	return out
}

// Put stores j as is (test setup).
func (s *Store) Put(j *job.Job) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.jobs[j.ID] = Clone(j)
}

// Job returns a copy of a stored job, or nil.
func (s *Store) Job(id string) *job.Job {
	s.mu.Lock()
	defer s.mu.Unlock()
	if j, ok := s.jobs[id]; ok {
		return Clone(j)
	}
	return nil
}

// Jobs returns copies of every stored job.
func (s *Store) Jobs() []*job.Job {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*job.Job
	for _, j := range s.jobs {
		out = append(out, Clone(j))
	}
	return out
}

// CreateJob stores a new job; job.ErrConflict if the id exists.
func (s *Store) CreateJob(_ context.Context, j *job.Job) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.jobs[j.ID]; ok {
		return fmt.Errorf("create job %s: %w", j.ID, job.ErrConflict)
	}
	if s.BeforeWrite != nil {
		if err := s.BeforeWrite(Clone(j)); err != nil {
			return err
		}
	}
	s.jobs[j.ID] = Clone(j)
	s.writes++
	return nil
}

// GetJob returns a copy of the job; job.ErrNotFound if absent.
func (s *Store) GetJob(_ context.Context, id string) (*job.Job, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j, ok := s.jobs[id]
	if !ok {
		return nil, fmt.Errorf("get job %s: %w", id, job.ErrNotFound)
	}
	return Clone(j), nil
}

// UpdateJob applies fn to a copy and stores it with version+1. If fn fails
// nothing is written.
func (s *Store) UpdateJob(_ context.Context, id string, fn func(*job.Job) error) (*job.Job, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, ok := s.jobs[id]
	if !ok {
		return nil, fmt.Errorf("update job %s: %w", id, job.ErrNotFound)
	}
	next := Clone(cur)
	if err := fn(next); err != nil {
		return nil, fmt.Errorf("update job %s: %w", id, err)
	}
	next.Version = cur.Version + 1
	if s.BeforeWrite != nil {
		if err := s.BeforeWrite(Clone(next)); err != nil {
			return nil, err
		}
	}
	s.jobs[id] = next
	s.writes++
	return Clone(next), nil
}

// ListJobs pages through the jobs in state, most recently updated first.
// The cursor is the index of the next job.
func (s *Store) ListJobs(_ context.Context, state job.State, limit int, cursor string) ([]*job.Job, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var all []*job.Job
	for _, j := range s.jobs {
		if j.State == state {
			all = append(all, Clone(j))
		}
	}
	slices.SortFunc(all, func(a, b *job.Job) int {
		if c := b.UpdatedAt.Compare(a.UpdatedAt); c != 0 {
			return c
		}
		return strings.Compare(b.ID, a.ID)
	})
	start := 0
	if cursor != "" {
		if _, err := fmt.Sscanf(cursor, "c%d", &start); err != nil || start < 0 || start > len(all) {
			return nil, "", fmt.Errorf("list jobs: %w", intake.ErrBadCursor)
		}
	}
	end := min(start+limit, len(all))
	next := ""
	if end < len(all) {
		next = fmt.Sprintf("c%d", end)
	}
	return all[start:end], next, nil
}

// ClaimIdempotencyKey stores key → (fingerprint, jobID) if absent, else
// returns the existing record and false.
func (s *Store) ClaimIdempotencyKey(_ context.Context, key, fingerprint, jobID string) (intake.IdempotencyRecord, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ClaimErr != nil {
		return intake.IdempotencyRecord{}, false, s.ClaimErr
	}
	if rec, ok := s.idem[key]; ok {
		return rec, false, nil
	}
	rec := intake.IdempotencyRecord{Key: key, Fingerprint: fingerprint, JobID: jobID, CreatedAt: time.Now()}
	s.idem[key] = rec
	s.writes++
	return rec, true, nil
}

// Clone deep-copies a job.
func Clone(j *job.Job) *job.Job {
	c := *j
	c.History = slices.Clone(j.History)
	if j.Error != nil {
		e := *j.Error
		c.Error = &e
	}
	if j.Output != nil {
		o := *j.Output
		c.Output = &o
	}
	return &c
}

// Provider is an in-memory gateway: creates make jobs that list calls then
// find by webhook URL.
type Provider struct {
	mu      sync.Mutex
	videos  []*aistats.Video
	creates []aistats.CreateRequest
	finds   int
	cancels []string
	// CreateFunc decides each create's outcome: made says whether the
	// gateway made a job, err what the caller sees. nil makes the job and
	// answers 202.
	CreateFunc func(n int, r aistats.CreateRequest) (made bool, err error)
	// HiddenFinds is how many FindByWebhookURL calls miss a made job, as
	// if the gateway listed it late.
	HiddenFinds int
	// Cancellable sets cancel_url on created jobs.
	Cancellable bool
	// CancelErr, if set, fails Cancel.
	CancelErr error
	// FindErr, if set, fails FindByWebhookURL.
	FindErr error
}

var _ intake.Provider = (*Provider)(nil)

// Add puts a job on the gateway (test setup).
func (p *Provider) Add(v aistats.Video) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.videos = append(p.videos, &v)
}

// Creates returns every create request received, made or not.
func (p *Provider) Creates() []aistats.CreateRequest {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.creates)
}

// Made returns the jobs the gateway holds.
func (p *Provider) Made() []aistats.Video {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]aistats.Video, len(p.videos))
	for i, v := range p.videos {
		out[i] = *v
	}
	return out
}

// Finds counts FindByWebhookURL calls.
func (p *Provider) Finds() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.finds
}

// Cancels returns the ids Cancel was called with.
func (p *Provider) Cancels() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.cancels)
}

// Create records the request and makes a job per CreateFunc.
func (p *Provider) Create(_ context.Context, r aistats.CreateRequest) (*aistats.Video, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.creates = append(p.creates, r)
	made, err := true, error(nil)
	if p.CreateFunc != nil {
		made, err = p.CreateFunc(len(p.creates), r)
	}
	var v *aistats.Video
	if made {
		v = &aistats.Video{
			ID:        fmt.Sprintf("G-%026d", len(p.videos)+1),
			Status:    aistats.StatusQueued,
			Model:     r.Model,
			PollAfter: 20 * time.Second,
		}
		if p.Cancellable {
			v.CancelURL = "https://gateway.test/v1/videos/" + v.ID + "/cancel"
		}
		if r.Webhook != nil {
			v.Webhook = &aistats.WebhookState{URL: r.Webhook.URL, Events: r.Webhook.Events, HasSecret: r.Webhook.Secret != ""}
		}
		p.videos = append(p.videos, v)
	}
	if err != nil {
		return nil, err
	}
	c := *v
	return &c, nil
}

// FindByWebhookURL matches jobs by exact webhook URL, like the client.
func (p *Provider) FindByWebhookURL(_ context.Context, u string) (*aistats.Video, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.finds++
	if p.FindErr != nil {
		return nil, p.FindErr
	}
	if p.finds <= p.HiddenFinds {
		return nil, fmt.Errorf("find video by webhook url: %w", aistats.ErrNotFound)
	}
	var found []*aistats.Video
	for _, v := range p.videos {
		if v.Webhook != nil && v.Webhook.URL == u && !v.Deleted {
			found = append(found, v)
		}
	}
	switch len(found) {
	case 0:
		return nil, fmt.Errorf("find video by webhook url: %w", aistats.ErrNotFound)
	case 1:
		c := *found[0]
		return &c, nil
	}
	ids := make([]string, len(found))
	for i, v := range found {
		ids[i] = v.ID
	}
	return nil, fmt.Errorf("find video by webhook url: %w", &aistats.MultipleMatchesError{IDs: ids})
}

// Cancel cancels a job that has a cancel_url.
func (p *Provider) Cancel(_ context.Context, id string) (*aistats.Video, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cancels = append(p.cancels, id)
	if p.CancelErr != nil {
		return nil, p.CancelErr
	}
	for _, v := range p.videos {
		if v.ID == id {
			if v.CancelURL == "" {
				return nil, &aistats.APIError{HTTPStatus: 501, Code: "not_implemented_yet", Reason: "video_cancel_provider_not_supported"}
			}
			v.Status, v.CancelURL = aistats.StatusCancelled, ""
			c := *v
			return &c, nil
		}
	}
	return nil, &aistats.APIError{HTTPStatus: 404, Code: "not_found", Reason: "video_not_found_or_not_owned"}
}

// Workflow records executions by name; a repeated name is success, as with
// the Step Functions adapter.
type Workflow struct {
	mu     sync.Mutex
	starts map[string][]byte
	calls  int
	// Err, if set, fails Start.
	Err error
}

var _ intake.Workflow = (*Workflow)(nil)

// Start records the first input per job id.
func (w *Workflow) Start(_ context.Context, jobID string, input []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.calls++
	if w.Err != nil {
		return w.Err
	}
	if w.starts == nil {
		w.starts = map[string][]byte{}
	}
	if _, ok := w.starts[jobID]; !ok {
		w.starts[jobID] = slices.Clone(input)
	}
	return nil
}

// Executions returns the first input of every execution, by name.
func (w *Workflow) Executions() map[string]string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := map[string]string{}
	for k, v := range w.starts {
		out[k] = string(v)
	}
	return out
}

// Presigner returns a fake URL naming the object and TTL.
type Presigner struct {
	// Err, if set, fails PresignGet.
	Err error
}

var _ intake.Presigner = (*Presigner)(nil)

// PresignGet returns https://<bucket>.s3.test/<key>?ttl=<seconds>.
func (p *Presigner) PresignGet(_ context.Context, bucket, key string, ttl time.Duration) (string, error) {
	if p.Err != nil {
		return "", p.Err
	}
	return fmt.Sprintf("https://%s.s3.test/%s?ttl=%d", bucket, key, int(ttl/time.Second)), nil
}

// ErrCrash is what tests inject to stand for a Lambda dying mid-request.
var ErrCrash = errors.New("injected crash")
