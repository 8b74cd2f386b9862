package intake

import (
	"time"

	"github.com/videojobs/videojobs/internal/job"
)

// View is a job as the API shows it. It is built field by field, never by
// serialising job.Job, so internal fields (the task token, the fingerprint,
// the idempotency key, the lock version) cannot leak into responses when
// the record grows.
type View struct {
	ID             string          `json:"id"`
	State          job.State       `json:"state"`
	Model          string          `json:"model,omitempty"`
	ProviderJobID  string          `json:"providerJobId,omitempty"`
	ProviderStatus string          `json:"providerStatus,omitempty"`
	Progress       int             `json:"progress"`
	CanCancel      bool            `json:"canCancel"`
	CreatedAt      time.Time       `json:"createdAt"`
	UpdatedAt      time.Time       `json:"updatedAt"`
	SubmittedAt    time.Time       `json:"submittedAt,omitzero"`
	History        []job.Change    `json:"history"`
	Error          *job.Failure    `json:"error,omitempty"`
	Output         *OutputView     `json:"output,omitempty"`
	Deliveries     *job.Deliveries `json:"deliveries,omitempty"`
	Links          Links           `json:"links"`
}

// OutputView is where the stored video is.
type OutputView struct {
	S3URI       string `json:"s3Uri"`
	Bucket      string `json:"bucket"`
	Key         string `json:"key"`
	Size        int64  `json:"size"`
	SHA256      string `json:"sha256"`
	ContentType string `json:"contentType,omitempty"`
}

// Links are the job's API routes, relative to the API's base URL.
type Links struct {
	Self        string `json:"self"`
	DownloadURL string `json:"downloadUrl,omitempty"`
	Cancel      string `json:"cancel,omitempty"`
}

// ViewOf renders a job for the API. withDeliveries adds the webhook
// delivery health, which only the single-job read shows.
func ViewOf(j *job.Job, withDeliveries bool) View {
	v := View{
		ID:             j.ID,
		State:          j.State,
		Model:          j.Model,
		ProviderJobID:  j.ProviderJobID,
		ProviderStatus: j.ProviderStatus,
		Progress:       j.Progress,
		CanCancel:      j.CanCancel && !j.State.Terminal(),
		CreatedAt:      j.CreatedAt,
		UpdatedAt:      j.UpdatedAt,
		SubmittedAt:    j.SubmittedAt,
		History:        j.History,
		Error:          j.Error,
		Links:          Links{Self: "/jobs/" + j.ID},
	}
	if v.History == nil {
		v.History = []job.Change{}
	}
	if o := j.Output; o != nil {
		v.Output = &OutputView{
			S3URI: "s3://" + o.Bucket + "/" + o.Key, Bucket: o.Bucket, Key: o.Key,
			Size: o.Size, SHA256: o.SHA256, ContentType: o.ContentType,
		}
	}
	if j.State == job.Stored && j.Output != nil {
		v.Links.DownloadURL = "/jobs/" + j.ID + "/download-url"
	}
	if v.CanCancel {
		v.Links.Cancel = "/jobs/" + j.ID + "/cancel"
	}
	if withDeliveries {
		d := j.Deliveries
		v.Deliveries = &d
	}
	return v
}
