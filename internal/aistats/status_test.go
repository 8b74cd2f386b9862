package aistats

import "testing"

// TestParseStatus covers every row of provider-contract.md §4.1: both
// vocabularies, the lifecycle words and every alias.
func TestParseStatus(t *testing.T) {
	tests := []struct {
		word     string
		want     Status
		wantOK   bool
		terminal bool
	}{
		// queued row: canonical, lifecycle/alias pending, empty.
		{"queued", StatusQueued, true, false},
		{"pending", StatusQueued, true, false},
		{"", StatusQueued, true, false},
		// processing row: canonical, lifecycle running, alias in_progress.
		{"processing", StatusProcessing, true, false},
		{"running", StatusProcessing, true, false},
		{"in_progress", StatusProcessing, true, false},
		// completed row.
		{"completed", StatusCompleted, true, true},
		{"succeeded", StatusCompleted, true, true},
		{"success", StatusCompleted, true, true},
		{"complete", StatusCompleted, true, true},
		// failed row.
		{"failed", StatusFailed, true, true},
		{"error", StatusFailed, true, true},
		// cancelled row.
		{"cancelled", StatusCancelled, true, true},
		{"canceled", StatusCancelled, true, true},
		// expired row.
		{"expired", StatusExpired, true, true},
		// case and space are ignored.
		{" Completed ", StatusCompleted, true, true},
		{"IN_PROGRESS", StatusProcessing, true, false},
		// unknown maps to queued (non-terminal, keep polling) and is flagged.
		{"archived", StatusQueued, false, false},
		{"in progress", StatusQueued, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.word, func(t *testing.T) {
			got, ok := ParseStatus(tt.word)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("ParseStatus(%q) = %q, %v; want %q, %v", tt.word, got, ok, tt.want, tt.wantOK)
			}
			if got.Terminal() != tt.terminal {
				t.Errorf("ParseStatus(%q).Terminal() = %v, want %v", tt.word, got.Terminal(), tt.terminal)
			}
		})
	}
}

func TestNormaliseStatus(t *testing.T) {
	tests := []struct {
		name, status, lifecycle string
		want                    Status
		wantUnknown             string
	}{
		{"status preferred", "processing", "completed", StatusProcessing, ""},
		{"lifecycle fallback when status absent", "", "running", StatusProcessing, ""},
		{"lifecycle fallback when status unknown", "mystery", "completed", StatusCompleted, "mystery"},
		{"both unknown", "mystery", "enigma", StatusQueued, "mystery"},
		{"lifecycle unknown only", "", "enigma", StatusQueued, "enigma"},
		{"both empty", "", "", StatusQueued, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, unknown := normaliseStatus(tt.status, tt.lifecycle)
			if got != tt.want || unknown != tt.wantUnknown {
				t.Errorf("normaliseStatus(%q, %q) = %q, %q; want %q, %q", tt.status, tt.lifecycle, got, unknown, tt.want, tt.wantUnknown)
			}
		})
	}
}
