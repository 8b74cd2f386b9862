package tracking

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"strings"
	"time"

	"github.com/videojobs/videojobs/internal/aistats"
	"github.com/videojobs/videojobs/internal/copier"
	"github.com/videojobs/videojobs/internal/job"
	"github.com/videojobs/videojobs/internal/metrics"
)

// Copier streams a body into one S3 object (*copier.Copier): multipart
// with bounded memory, size and sha256 checked on the way, metadata
// written only on a verified object, nothing left behind on failure.
type Copier interface {
	// Lookup finds a verified object already at in.Key, so a retried
	// store skips the download.
	Lookup(ctx context.Context, in copier.Input) (copier.Result, bool, error)
	Copy(ctx context.Context, in copier.Input) (copier.Result, error)
}

var _ Copier = (*copier.Copier)(nil)

// StoreResult is the store λ's answer to the workflow
// (docs/internals.md: {"state":"stored","bucket","key","size","sha256"}).
type StoreResult struct {
	State  job.State `json:"state"`
	Bucket string    `json:"bucket"`
	Key    string    `json:"key"`
	Size   int64     `json:"size"`
	SHA256 string    `json:"sha256"`
}

// ErrNotCompleted: the job is not (or no longer) one the provider
// completed, so there is nothing to store. The workflow should not retry.
var ErrNotCompleted = errors.New("job is not completed")

// ErrSizeMismatch is copier.ErrSizeMismatch: the video's length disagrees
// between Content-Length, asset.bytes and the bytes actually read.
// Retrying restarts the download.
var ErrSizeMismatch = copier.ErrSizeMismatch

// Archiver lands a completed job's video in S3 and marks the job stored.
type Archiver struct {
	store    Store
	provider ContentSource
	copier   Copier
	metrics  Recorder
	bucket   string
	now      func() time.Time
}

// NewArchiver returns an Archiver writing to bucket. A nil metrics discards
// metrics; a nil now uses time.Now.
func NewArchiver(store Store, provider ContentSource, copier Copier, metrics Recorder, bucket string, now func() time.Time) *Archiver {
	if metrics == nil {
		metrics = Discard
	}
	if now == nil {
		now = time.Now
	}
	return &Archiver{store: store, provider: provider, copier: copier, metrics: metrics, bucket: bucket, now: now}
}

// ObjectKey is where a job's video lands (docs/internals.md "S3 objects").
func ObjectKey(jobID string, index int, contentType string) string {
	return fmt.Sprintf("videos/%s/%d%s", jobID, index, extension(contentType))
}

func extension(contentType string) string {
	mt, _, _ := mime.ParseMediaType(contentType)
	switch mt {
	case "video/webm":
		return ".webm"
	case "video/quicktime":
		return ".mov"
	}
	return ".mp4"
}

// Store copies the job's first output into S3. It is idempotent: a stored
// job returns its output, and a retried copy of a completed job overwrites
// the same key (or the copier skips a verified object), so the video lands
// once. Any failure leaves the job completed and returns an error, so the
// workflow retries; a partial upload is aborted by the copier.
func (a *Archiver) Store(ctx context.Context, jobID string) (StoreResult, error) {
	j, err := a.store.GetJob(ctx, jobID)
	if err != nil {
		return StoreResult{}, fmt.Errorf("store job %s: %w", jobID, err)
	}
	if j.State == job.Stored && j.Output != nil {
		return resultOf(j.Output), nil
	}
	if j.State != job.Completed {
		return StoreResult{}, fmt.Errorf("store job %s in state %s: %w", jobID, j.State, ErrNotCompleted)
	}

	start := a.now()
	out, err := a.copyVideo(ctx, j)
	if err != nil {
		a.metrics.Add(metrics.CopyFailures, 1)
		return StoreResult{}, fmt.Errorf("store job %s: %w", jobID, err)
	}
	a.metrics.Add(metrics.BytesCopied, float64(out.Size))
	a.metrics.Add(metrics.CopyDuration, ms(a.now().Sub(start)))

	j, err = a.store.UpdateJob(ctx, jobID, func(j *job.Job) error {
		if j.State == job.Stored && j.Output != nil {
			return nil
		}
		var e effect
		if err := transition(j, job.Stored, job.SourceWorkflow, a.now(), nil, &e); err != nil {
			return err
		}
		if j.State != job.Stored {
			return fmt.Errorf("job is %s: %w", j.State, ErrNotCompleted)
		}
		j.Output = &out
		return nil
	})
	if err != nil {
		return StoreResult{}, fmt.Errorf("store job %s: %w", jobID, err)
	}
	return resultOf(j.Output), nil
}

func resultOf(o *job.Output) StoreResult {
	return StoreResult{State: job.Stored, Bucket: o.Bucket, Key: o.Key, Size: o.Size, SHA256: o.SHA256}
}

// copyVideo lands output 0 in S3: it keeps a verified object a previous
// attempt left (the copy succeeded but the job write did not), else reads
// the provider's current view of the job (output access, asset size and
// type, a fresh signed URL) and streams the video.
func (a *Archiver) copyVideo(ctx context.Context, j *job.Job) (job.Output, error) {
	in := copier.Input{
		Bucket:        a.bucket,
		Key:           ObjectKey(j.ID, 0, ""),
		ContentLength: -1,
		AssetBytes:    j.AssetBytes,
		JobID:         j.ID,
		ProviderJobID: j.ProviderJobID,
		Model:         j.Model,
	}
	if res, ok, err := a.copier.Lookup(ctx, in); err != nil {
		return job.Output{}, fmt.Errorf("look up s3://%s/%s: %w", a.bucket, in.Key, err)
	} else if ok {
		return outputOf(res, a.bucket, in.Key), nil
	}

	v, err := a.provider.Get(ctx, j.ProviderJobID)
	if err != nil {
		return job.Output{}, fmt.Errorf("read provider job: %w", err)
	}
	in.ContentType = "video/mp4"
	if v.Asset != nil && strings.HasPrefix(v.Asset.MimeType, "video/") {
		in.ContentType = v.Asset.MimeType
	} else if len(v.Outputs) > 0 && strings.HasPrefix(v.Outputs[0].MimeType, "video/") {
		in.ContentType = v.Outputs[0].MimeType
	}
	in.Key = ObjectKey(j.ID, 0, in.ContentType)
	if v.Asset != nil && v.Asset.Bytes > 0 {
		in.AssetBytes = v.Asset.Bytes
	}

	c, err := a.open(ctx, v)
	if err != nil {
		return job.Output{}, err
	}
	defer c.Body.Close()
	in.Body, in.ContentLength = c.Body, c.Length

	res, err := a.copier.Copy(ctx, in)
	if err != nil {
		return job.Output{}, fmt.Errorf("copy to s3://%s/%s: %w", a.bucket, in.Key, err)
	}
	// The copier enforces the expected size; checking again keeps a
	// copier that reports a short stream as success from marking a
	// truncated video stored.
	want := c.Length
	if want < 0 {
		want = in.AssetBytes
	}
	if (want > 0 && res.Size != want) || res.Size == 0 || res.SHA256 == "" {
		return job.Output{}, fmt.Errorf("copy to s3://%s/%s: stored %d bytes, expected %d: %w", a.bucket, in.Key, res.Size, want, ErrSizeMismatch)
	}
	return outputOf(res, a.bucket, in.Key), nil
}

func outputOf(res copier.Result, bucket, key string) job.Output {
	o := job.Output{Bucket: res.Bucket, Key: res.Key, Size: res.Size, SHA256: res.SHA256, ContentType: res.ContentType}
	if o.Bucket == "" {
		o.Bucket, o.Key = bucket, key
	}
	return o
}

// open streams output 0: with the API key when the job's output access
// allows bytes, else through a signed download URL (output access
// signed_url only, provider-contract.md §3 "output").
func (a *Archiver) open(ctx context.Context, v *aistats.Video) (*aistats.Content, error) {
	if v.OutputAccess != "signed_url" {
		c, err := a.provider.Content(ctx, v.ID, 0)
		if err != nil {
			return nil, fmt.Errorf("stream content: %w", err)
		}
		return c, nil
	}
	u := v.DownloadURL
	if u == "" {
		d, err := a.provider.DownloadURL(ctx, v.ID, aistats.DownloadURLRequest{})
		if err != nil {
			return nil, fmt.Errorf("mint download url: %w", err)
		}
		u = d.URL
	}
	c, err := a.provider.ContentURL(ctx, u)
	if err != nil {
		return nil, fmt.Errorf("stream signed url: %w", err)
	}
	return c, nil
}
