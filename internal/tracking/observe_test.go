package tracking_test

import (
	"testing"

	"github.com/videojobs/videojobs/internal/aistats"
	"github.com/videojobs/videojobs/internal/job"
	"github.com/videojobs/videojobs/internal/tracking"
)

func TestStateOf(t *testing.T) {
	for st, want := range map[aistats.Status]job.State{
		aistats.StatusQueued: job.Queued, aistats.StatusProcessing: job.Processing, aistats.StatusCompleted: job.Completed,
		aistats.StatusFailed: job.Failed, aistats.StatusCancelled: job.Cancelled, aistats.StatusExpired: job.Expired, "": job.Queued,
	} {
		if got := tracking.StateOf(st); got != want {
			t.Errorf("StateOf(%q) = %s, want %s", st, got, want)
		}
	}
}
