package tracking_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/videojobs/videojobs/internal/aistats"
	"github.com/videojobs/videojobs/internal/copier"
	"github.com/videojobs/videojobs/internal/job"
	"github.com/videojobs/videojobs/internal/tracking"
	"github.com/videojobs/videojobs/internal/tracking/trackingtest"
)

type archiveRig struct {
	store    *trackingtest.Store
	provider *trackingtest.Provider
	copier   *trackingtest.Copier
	metrics  *trackingtest.Recorder
	a        *tracking.Archiver
}

var video = bytes.Repeat([]byte("frame-"), 1000)

func newArchiveRig(j *job.Job, v *aistats.Video) *archiveRig {
	rig := &archiveRig{store: trackingtest.NewStore(j), provider: &trackingtest.Provider{Videos: []*aistats.Video{v}, Body: video}, copier: trackingtest.NewCopier(), metrics: trackingtest.NewRecorder()}
	rig.a = tracking.NewArchiver(rig.store, rig.provider, rig.copier, rig.metrics, "videos-bucket", func() time.Time { return testNow })
	return rig
}

func doneVideo(access string, bytes int64) *aistats.Video {
	return &aistats.Video{ID: testProviderID, Status: aistats.StatusCompleted, OutputAccess: access,
		Asset: &aistats.Asset{MimeType: "video/mp4", Bytes: bytes}}
}

func sum(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

func TestStoreCopiesCompletedJob(t *testing.T) {
	rig := newArchiveRig(openJob(job.Completed), doneVideo("both", int64(len(video))))
	res, err := rig.a.Store(context.Background(), testJobID)
	if err != nil {
		t.Fatalf("Store: %v", err)
	}
	want := tracking.StoreResult{State: job.Stored, Bucket: "videos-bucket", Key: "videos/" + testJobID + "/0.mp4", Size: int64(len(video)), SHA256: sum(video)}
	if diff := cmp.Diff(want, res); diff != "" {
		t.Errorf("result (-want +got):\n%s", diff)
	}
	obj, ok := rig.copier.Objects["videos-bucket/videos/"+testJobID+"/0.mp4"]
	if !ok || !bytes.Equal(obj.Body, video) {
		t.Fatalf("object missing or different")
	}
	if diff := cmp.Diff(map[string]string{"job-id": testJobID, "provider-job-id": testProviderID, "model": "google/veo-3.1-lite", "sha256": sum(video)}, obj.Metadata); diff != "" {
		t.Errorf("metadata (-want +got):\n%s", diff)
	}
	got := rig.store.Job(testJobID)
	if got.State != job.Stored || got.Output == nil || got.Output.SHA256 != sum(video) {
		t.Errorf("job = %s %+v", got.State, got.Output)
	}
	if rig.metrics.Get("BytesCopied") != float64(len(video)) || rig.metrics.Get("CopyDuration#samples") != 1 || rig.metrics.Get("CopyFailures") != 0 {
		t.Errorf("metrics = %v", rig.metrics.All())
	}
}

func TestStoreIsIdempotent(t *testing.T) {
	rig := newArchiveRig(openJob(job.Completed), doneVideo("bytes", 0))
	first, err := rig.a.Store(context.Background(), testJobID)
	if err != nil {
		t.Fatalf("first Store: %v", err)
	}
	second, err := rig.a.Store(context.Background(), testJobID)
	if err != nil {
		t.Fatalf("second Store: %v", err)
	}
	if diff := cmp.Diff(first, second); diff != "" {
		t.Errorf("second result differs (-first +second):\n%s", diff)
	}
	if rig.copier.Writes != 1 || rig.provider.ContentCalls != 1 {
		t.Errorf("writes %d, downloads %d; want 1, 1", rig.copier.Writes, rig.provider.ContentCalls)
	}
}

func TestStoreTruncatedContentFailsAndRetryLandsOneObject(t *testing.T) {
	rig := newArchiveRig(openJob(job.Completed), doneVideo("both", int64(len(video))))
	rig.provider.TruncateAt = len(video) / 2
	if _, err := rig.a.Store(context.Background(), testJobID); err == nil {
		t.Fatal("Store succeeded on a truncated body")
	}
	if got := rig.store.Job(testJobID); got.State != job.Completed || got.Output != nil {
		t.Errorf("after a truncated copy: state %s output %+v; want completed, none", got.State, got.Output)
	}
	if len(rig.copier.Objects) != 0 || rig.metrics.Get("CopyFailures") != 1 {
		t.Errorf("objects %d, CopyFailures %v; want 0, 1", len(rig.copier.Objects), rig.metrics.Get("CopyFailures"))
	}

	// The workflow retries; this time the body is whole.
	rig.provider.TruncateAt = 0
	if _, err := rig.a.Store(context.Background(), testJobID); err != nil {
		t.Fatalf("retried Store: %v", err)
	}
	if len(rig.copier.Objects) != 1 || rig.store.Job(testJobID).State != job.Stored {
		t.Errorf("objects %d, state %s; want 1, stored", len(rig.copier.Objects), rig.store.Job(testJobID).State)
	}
}

func TestStoreSizeMismatch(t *testing.T) {
	tests := []struct {
		name          string
		assetBytes    int64
		contentLength int64
		want          error
	}{
		{"content-length disagrees with asset.bytes", int64(len(video)) + 1, int64(len(video)), copier.ErrSizeMismatch},
		{"body shorter than asset.bytes, no content-length", int64(len(video)) + 10, -1, copier.ErrTruncated},
		{"body longer than content-length", 0, int64(len(video)) - 1, copier.ErrSizeMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rig := newArchiveRig(openJob(job.Completed), doneVideo("both", tt.assetBytes))
			rig.provider.ContentLength = &tt.contentLength
			_, err := rig.a.Store(context.Background(), testJobID)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Store error = %v, want %v", err, tt.want)
			}
			if got := rig.store.Job(testJobID); got.State != job.Completed || len(rig.copier.Objects) != 0 {
				t.Errorf("state %s, objects %d; want completed, 0", got.State, len(rig.copier.Objects))
			}
		})
	}
}

func TestStoreSignedURLOnly(t *testing.T) {
	tests := []struct {
		name        string
		downloadURL string
		wantMinted  int
	}{
		{"download_url from the GET", "https://gw.test/v1/videos/x/content?download_token=t", 0},
		{"mints one when the GET has none", "", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := doneVideo("signed_url", int64(len(video)))
			v.DownloadURL = tt.downloadURL
			rig := newArchiveRig(openJob(job.Completed), v)
			if _, err := rig.a.Store(context.Background(), testJobID); err != nil {
				t.Fatalf("Store: %v", err)
			}
			if rig.provider.ContentCalls != 0 || len(rig.provider.SignedCalls) != 1 || rig.provider.DownloadCalls != tt.wantMinted {
				t.Errorf("bearer %d, signed %d, minted %d; want 0, 1, %d", rig.provider.ContentCalls, len(rig.provider.SignedCalls), rig.provider.DownloadCalls, tt.wantMinted)
			}
		})
	}
}

func TestStoreRefusesJobsNotCompleted(t *testing.T) {
	for _, st := range []job.State{job.Processing, job.Failed, job.Cancelled} {
		rig := newArchiveRig(openJob(st), doneVideo("both", 0))
		if _, err := rig.a.Store(context.Background(), testJobID); !errors.Is(err, tracking.ErrNotCompleted) {
			t.Errorf("%s: error = %v, want ErrNotCompleted", st, err)
		}
		if rig.provider.Gets != 0 {
			t.Errorf("%s: read the provider for a job that cannot be stored", st)
		}
	}
}

func TestObjectKey(t *testing.T) {
	for ct, want := range map[string]string{
		"video/mp4":                "videos/vj_1/0.mp4",
		"video/webm":               "videos/vj_1/0.webm",
		"video/quicktime":          "videos/vj_1/0.mov",
		"application/octet-stream": "videos/vj_1/0.mp4",
		"":                         "videos/vj_1/0.mp4",
	} {
		if got := tracking.ObjectKey("vj_1", 0, ct); got != want {
			t.Errorf("ObjectKey(%q) = %q, want %q", ct, got, want)
		}
	}
}

// The copy succeeded but the job write failed: the workflow's retry finds
// the verified object and neither downloads nor writes again.
func TestStoreRetryAfterJobWriteFailureSkipsDownload(t *testing.T) {
	rig := newArchiveRig(openJob(job.Completed), doneVideo("both", int64(len(video))))
	rig.store.UpdateErrs = []error{errors.New("throttled")}
	if _, err := rig.a.Store(context.Background(), testJobID); err == nil {
		t.Fatal("Store succeeded although the job write failed")
	}
	res, err := rig.a.Store(context.Background(), testJobID)
	if err != nil {
		t.Fatalf("retried Store: %v", err)
	}
	if res.SHA256 != sum(video) || rig.copier.Writes != 1 || rig.provider.ContentCalls != 1 || len(rig.copier.Objects) != 1 {
		t.Errorf("sha %s, writes %d, downloads %d, objects %d; want one of each", res.SHA256, rig.copier.Writes, rig.provider.ContentCalls, len(rig.copier.Objects))
	}
	if got := rig.store.Job(testJobID); got.State != job.Stored || got.Output == nil || got.Output.Size != int64(len(video)) {
		t.Errorf("job = %s %+v", got.State, got.Output)
	}
}
