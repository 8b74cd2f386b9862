// Package trackingtest provides in-memory implementations of the tracking
// package's ports, for tests of the tracking services and of the Lambdas
// that wire them. They keep the real adapters' semantics that tests rely
// on: Store writes are optimistic (the change runs on a copy, the write is
// conditional on the version read, a lost race re-runs the change),
// delivery records are claimed under both keys at once, and the Copier
// leaves no object when the body is short or fails.
package trackingtest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"sort"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/videojobs/videojobs/internal/aistats"
	"github.com/videojobs/videojobs/internal/copier"
	"github.com/videojobs/videojobs/internal/job"
	"github.com/videojobs/videojobs/internal/jobstore"
	"github.com/videojobs/videojobs/internal/metrics"
	"github.com/videojobs/videojobs/internal/tracking"
)

var (
	_ tracking.DeliveryStore = (*Store)(nil)
	_ tracking.ContentSource = (*Provider)(nil)
	_ tracking.TaskNotifier  = (*Tasks)(nil)
	_ tracking.Secrets       = (*Secrets)(nil)
	_ tracking.Recorder      = (*Recorder)(nil)
	_ tracking.Copier        = (*Copier)(nil)
)

// Store is an in-memory tracking.DeliveryStore.
type Store struct {
	mu         sync.Mutex
	jobs       map[string]*job.Job
	deliveries map[string]jobstore.DeliveryRecord

	// Injected failures, consumed one per call.
	GetErrs, UpdateErrs, RecordErrs []error
	// BeforeWrite, when set, runs inside UpdateJob after the change and
	// before the conditional write, without the lock held, so a test can
	// interleave another writer there.
	BeforeWrite func(id string)

	// Updates and Records count successful job writes and new delivery
	// records.
	Updates, Records int
}

// NewStore returns a Store holding copies of jobs.
func NewStore(jobs ...*job.Job) *Store {
	s := &Store{jobs: map[string]*job.Job{}, deliveries: map[string]jobstore.DeliveryRecord{}}
	for _, j := range jobs {
		s.jobs[j.ID] = CloneJob(j)
	}
	return s
}

// CloneJob deep-copies a job, task token included.
func CloneJob(j *job.Job) *job.Job {
	b, err := json.Marshal(j)
	if err != nil {
		panic(err)
	}
	var c job.Job
	if err := json.Unmarshal(b, &c); err != nil {
		panic(err)
	}
	c.TaskToken = j.TaskToken // json:"-"
	return &c
}

func pop(errs *[]error) error {
	if len(*errs) == 0 {
		return nil
	}
	err := (*errs)[0]
	*errs = (*errs)[1:]
	return err
}

// Job returns a copy of the stored job, or nil.
func (s *Store) Job(id string) *job.Job {
	s.mu.Lock()
	defer s.mu.Unlock()
	j, ok := s.jobs[id]
	if !ok {
		return nil
	}
	return CloneJob(j)
}

// Delete removes a job.
func (s *Store) Delete(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.jobs, id)
}

// Delivered reports whether a delivery was recorded under payloadID.
func (s *Store) Delivered(payloadID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.deliveries["DELIVERY#"+payloadID]
	return ok
}

// GetJob implements tracking.Store.
func (s *Store) GetJob(_ context.Context, id string) (*job.Job, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := pop(&s.GetErrs); err != nil {
		return nil, err
	}
	j, ok := s.jobs[id]
	if !ok {
		return nil, fmt.Errorf("get job %s: %w", id, job.ErrNotFound)
	}
	return CloneJob(j), nil
}

// UpdateJob implements tracking.Store with optimistic locking.
func (s *Store) UpdateJob(_ context.Context, id string, fn func(*job.Job) error) (*job.Job, error) {
	for range 10 {
		s.mu.Lock()
		if err := pop(&s.UpdateErrs); err != nil {
			s.mu.Unlock()
			return nil, err
		}
		cur, ok := s.jobs[id]
		if !ok {
			s.mu.Unlock()
			return nil, fmt.Errorf("update job %s: %w", id, job.ErrNotFound)
		}
		read := CloneJob(cur)
		before := s.BeforeWrite
		s.mu.Unlock()

		if err := fn(read); err != nil {
			return nil, fmt.Errorf("update job %s: %w", id, err)
		}
		if before != nil {
			before(id)
		}

		s.mu.Lock()
		if s.jobs[id].Version != read.Version {
			s.mu.Unlock()
			continue
		}
		read.Version++
		s.jobs[id] = CloneJob(read)
		s.Updates++
		s.mu.Unlock()
		return read, nil
	}
	return nil, fmt.Errorf("update job %s: %w", id, job.ErrConflict)
}

// RecordDelivery implements tracking.DeliveryStore.
func (s *Store) RecordDelivery(_ context.Context, d jobstore.DeliveryRecord) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := pop(&s.RecordErrs); err != nil {
		return false, err
	}
	keys := []string{"DELIVERY#" + d.PayloadID}
	if d.DeliveryKey != "" {
		keys = append(keys, "JOBKEY#"+d.JobID+"#"+d.DeliveryKey)
	}
	for _, k := range keys {
		if _, ok := s.deliveries[k]; ok {
			return true, nil
		}
	}
	for _, k := range keys {
		s.deliveries[k] = d
	}
	s.Records++
	return false, nil
}

// Provider is a scripted tracking.ContentSource: Get answers with Errs
// first, then Videos in order (the last one repeats); content comes from
// Body.
type Provider struct {
	mu     sync.Mutex
	Videos []*aistats.Video
	Errs   []error
	Body   []byte
	// ContentLength overrides the reported Content-Length (else len(Body)).
	ContentLength *int64
	// TruncateAt > 0 cuts the body after that many bytes with
	// io.ErrUnexpectedEOF, as the client reports a short body.
	TruncateAt int

	// Found answers FindByWebhookURL (nil: not found); FindErr fails it.
	Found   *aistats.Video
	FindErr error

	Gets, Finds, ContentCalls, DownloadCalls int
	SignedCalls                              []string
}

// Get implements tracking.StatusReader.
func (p *Provider) Get(_ context.Context, id string) (*aistats.Video, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.Gets++
	if err := pop(&p.Errs); err != nil {
		return nil, err
	}
	if len(p.Videos) == 0 {
		return nil, errors.New("trackingtest provider: no video scripted")
	}
	v := *p.Videos[0]
	if len(p.Videos) > 1 {
		p.Videos = p.Videos[1:]
	}
	if v.ID == "" {
		v.ID = id
	}
	return &v, nil
}

func (p *Provider) content() *aistats.Content {
	n := int64(len(p.Body))
	if p.ContentLength != nil {
		n = *p.ContentLength
	}
	var r io.Reader = bytes.NewReader(p.Body)
	if p.TruncateAt > 0 {
		r = io.MultiReader(bytes.NewReader(p.Body[:p.TruncateAt]), errReader{io.ErrUnexpectedEOF})
	}
	return &aistats.Content{Body: io.NopCloser(r), Length: n, ContentType: "video/mp4"}
}

// FindByWebhookURL implements tracking.Poller.
func (p *Provider) FindByWebhookURL(context.Context, string) (*aistats.Video, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.Finds++
	switch {
	case p.FindErr != nil:
		return nil, p.FindErr
	case p.Found == nil:
		return nil, aistats.ErrNotFound
	}
	v := *p.Found
	return &v, nil
}

// Content implements tracking.ContentSource.
func (p *Provider) Content(context.Context, string, int) (*aistats.Content, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ContentCalls++
	return p.content(), nil
}

// DownloadURL implements tracking.ContentSource.
func (p *Provider) DownloadURL(_ context.Context, id string, _ aistats.DownloadURLRequest) (*aistats.DownloadURL, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.DownloadCalls++
	return &aistats.DownloadURL{URL: "https://gateway.test/v1/videos/" + id + "/content?download_token=minted"}, nil
}

// ContentURL implements tracking.ContentSource.
func (p *Provider) ContentURL(_ context.Context, u string) (*aistats.Content, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.SignedCalls = append(p.SignedCalls, u)
	return p.content(), nil
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

// Tasks records SendTaskSuccess and SendTaskFailure calls; Errs are
// returned first, one per call.
type Tasks struct {
	mu    sync.Mutex
	Calls []TaskCall
	Errs  []error
}

// TaskCall is one SendTaskSuccess (Output) or SendTaskFailure (Error,
// Cause).
type TaskCall struct{ Token, Output, Error, Cause string }

// SendTaskSuccess implements tracking.TaskNotifier.
func (t *Tasks) SendTaskSuccess(_ context.Context, in *sfn.SendTaskSuccessInput, _ ...func(*sfn.Options)) (*sfn.SendTaskSuccessOutput, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.Calls = append(t.Calls, TaskCall{Token: aws.ToString(in.TaskToken), Output: aws.ToString(in.Output)})
	if err := pop(&t.Errs); err != nil {
		return nil, err
	}
	return &sfn.SendTaskSuccessOutput{}, nil
}

// SendTaskFailure implements tracking.TaskNotifier.
func (t *Tasks) SendTaskFailure(_ context.Context, in *sfn.SendTaskFailureInput, _ ...func(*sfn.Options)) (*sfn.SendTaskFailureOutput, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.Calls = append(t.Calls, TaskCall{Token: aws.ToString(in.TaskToken), Error: aws.ToString(in.Error), Cause: aws.ToString(in.Cause)})
	if err := pop(&t.Errs); err != nil {
		return nil, err
	}
	return &sfn.SendTaskFailureOutput{}, nil
}

// Sent returns a copy of the calls so far; safe while calls are in flight.
func (t *Tasks) Sent() []TaskCall {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]TaskCall(nil), t.Calls...)
}

// Secrets returns fixed master secret versions; FailNext makes that many
// calls fail first.
type Secrets struct {
	mu                sync.Mutex
	Current, Previous string
	FailNext          int
}

// Versions implements tracking.Secrets.
func (s *Secrets) Versions(context.Context, string) (string, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.FailNext > 0 {
		s.FailNext--
		return "", "", errors.New("trackingtest: secrets unavailable")
	}
	return s.Current, s.Previous, nil
}

// Recorder keeps metrics by "Name" or "Name{Dim=Value,…}": Count and
// Bytes metrics are summed, Milliseconds metrics are counted as samples
// under "Name#samples" (their values depend on the clock), and unitless
// ones keep their last value under "Name#last".
type Recorder struct {
	mu sync.Mutex
	m  map[string]float64
}

// NewRecorder returns an empty Recorder.
func NewRecorder() *Recorder { return &Recorder{m: map[string]float64{}} }

// Add implements tracking.Recorder.
func (r *Recorder) Add(name string, v float64, dims ...metrics.Dimension) {
	k := name
	if len(dims) > 0 {
		parts := make([]string, 0, len(dims))
		for _, d := range dims {
			parts = append(parts, d.Name+"="+d.Value)
		}
		sort.Strings(parts)
		k += "{" + strings.Join(parts, ",") + "}"
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	switch metrics.Unit(name) {
	case metrics.UnitMilliseconds:
		r.m[k+"#samples"]++
	case metrics.UnitNone:
		r.m[k+"#last"] = v
	default:
		r.m[k] += v
	}
}

// Get returns the value under k (0 when never recorded).
func (r *Recorder) Get(k string) float64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.m[k]
}

// All returns a copy of everything recorded.
func (r *Recorder) All() map[string]float64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return maps.Clone(r.m)
}

// Copier is an in-memory bucket with the copier's contract: it reads the
// whole body and writes the object (with sha256 metadata) only when the
// read succeeded and the length matches the expected one; Lookup finds a
// verified object.
type Copier struct {
	mu      sync.Mutex
	Objects map[string]Object // by "bucket/key"
	Writes  int
	// Lookups counts Lookup calls.
	Lookups int
}

// Object is one stored object.
type Object struct {
	Body        []byte
	ContentType string
	Metadata    map[string]string
}

// NewCopier returns an empty Copier.
func NewCopier() *Copier { return &Copier{Objects: map[string]Object{}} }

func expected(in copier.Input) (int64, error) {
	switch {
	case in.ContentLength >= 0 && in.AssetBytes > 0 && in.ContentLength != in.AssetBytes:
		return 0, fmt.Errorf("content-length %d but asset.bytes %d: %w", in.ContentLength, in.AssetBytes, copier.ErrSizeMismatch)
	case in.ContentLength >= 0:
		return in.ContentLength, nil
	case in.AssetBytes > 0:
		return in.AssetBytes, nil
	}
	return -1, nil
}

// Lookup implements tracking.Copier.
func (c *Copier) Lookup(_ context.Context, in copier.Input) (copier.Result, bool, error) {
	want, err := expected(in)
	if err != nil {
		return copier.Result{}, false, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.Lookups++
	o, ok := c.Objects[in.Bucket+"/"+in.Key]
	if !ok || o.Metadata[copier.MetaSHA256] == "" || (want >= 0 && int64(len(o.Body)) != want) {
		return copier.Result{}, false, nil
	}
	return copier.Result{Bucket: in.Bucket, Key: in.Key, Size: int64(len(o.Body)), SHA256: o.Metadata[copier.MetaSHA256],
		ContentType: o.ContentType, Skipped: true}, true, nil
}

// Copy implements tracking.Copier.
func (c *Copier) Copy(_ context.Context, in copier.Input) (copier.Result, error) {
	want, err := expected(in)
	if err != nil {
		return copier.Result{}, err
	}
	b, err := io.ReadAll(in.Body)
	if err != nil {
		return copier.Result{}, fmt.Errorf("read body: %v: %w", err, copier.ErrTruncated)
	}
	switch {
	case want >= 0 && int64(len(b)) < want:
		return copier.Result{}, fmt.Errorf("read %d bytes, want %d: %w", len(b), want, copier.ErrTruncated)
	case want >= 0 && int64(len(b)) > want:
		return copier.Result{}, fmt.Errorf("read %d bytes, want %d: %w", len(b), want, copier.ErrSizeMismatch)
	}
	sum := sha256.Sum256(b)
	md := map[string]string{
		copier.MetaSHA256:        hex.EncodeToString(sum[:]),
		copier.MetaJobID:         in.JobID,
		copier.MetaProviderJobID: in.ProviderJobID,
		copier.MetaModel:         in.Model,
	}
	ct := in.ContentType
	if ct == "" {
		ct = copier.DefaultContentType
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.Objects[in.Bucket+"/"+in.Key] = Object{Body: b, ContentType: ct, Metadata: md}
	c.Writes++
	return copier.Result{Bucket: in.Bucket, Key: in.Key, Size: int64(len(b)), SHA256: md[copier.MetaSHA256], ContentType: ct}, nil
}
