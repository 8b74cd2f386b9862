package tracking

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/videojobs/videojobs/internal/aistats"
	"github.com/videojobs/videojobs/internal/job"
	"github.com/videojobs/videojobs/internal/jobstore"
	"github.com/videojobs/videojobs/internal/metrics"
)

// Store is the part of the job store the services use (*jobstore.Store).
type Store interface {
	GetJob(ctx context.Context, id string) (*job.Job, error)
	// UpdateJob applies fn to the current job and writes it back
	// conditional on the version read, re-running fn on a lost race; an
	// error from fn writes nothing.
	UpdateJob(ctx context.Context, id string, fn func(*job.Job) error) (*job.Job, error)
}

// DeliveryStore is the Store plus the durable delivery record the Receiver
// writes before any side effect.
type DeliveryStore interface {
	Store
	RecordDelivery(ctx context.Context, d jobstore.DeliveryRecord) (duplicate bool, err error)
}

// StatusReader reads a job's status from the provider, the source of truth.
type StatusReader interface {
	Get(ctx context.Context, id string) (*aistats.Video, error)
}

// Poller is what the Watcher needs from the provider: the status, and the
// search by webhook URL that finds the provider job of an ambiguous create.
type Poller interface {
	StatusReader
	FindByWebhookURL(ctx context.Context, url string) (*aistats.Video, error)
}

// ContentSource is what the Archiver needs from the provider: the status
// (output access, asset size, a fresh signed URL) and the video stream,
// either Bearer-authenticated or through a signed URL.
type ContentSource interface {
	StatusReader
	Content(ctx context.Context, id string, index int) (*aistats.Content, error)
	DownloadURL(ctx context.Context, id string, r aistats.DownloadURLRequest) (*aistats.DownloadURL, error)
	ContentURL(ctx context.Context, signedURL string) (*aistats.Content, error)
}

var (
	_ StatusReader  = (*aistats.Client)(nil)
	_ Poller        = (*aistats.Client)(nil)
	_ ContentSource = (*aistats.Client)(nil)
	_ DeliveryStore = (*jobstore.Store)(nil)
)

// TaskNotifier completes the workflow's waiting Watch task (*sfn.Client):
// with the job's state when it is settled, or with the
// videojobs.Reschedule error when the next poll is due at another time.
type TaskNotifier interface {
	SendTaskSuccess(ctx context.Context, in *sfn.SendTaskSuccessInput, optFns ...func(*sfn.Options)) (*sfn.SendTaskSuccessOutput, error)
	SendTaskFailure(ctx context.Context, in *sfn.SendTaskFailureInput, optFns ...func(*sfn.Options)) (*sfn.SendTaskFailureOutput, error)
}

var _ TaskNotifier = (*sfn.Client)(nil)

// Secrets returns the current and previous (empty when none) master webhook
// secret stored under arn.
type Secrets interface {
	Versions(ctx context.Context, arn string) (current, previous string, err error)
}

// Recorder takes the metrics of one invocation (*metrics.Recorder); the
// unit follows from the name (docs/internals.md "Metrics").
type Recorder interface {
	Add(name string, value float64, dims ...metrics.Dimension)
}

var _ Recorder = (*metrics.Recorder)(nil)

// Discard is a Recorder that drops everything.
var Discard Recorder = discard{}

type discard struct{}

func (discard) Add(string, float64, ...metrics.Dimension) {}
