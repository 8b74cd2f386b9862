package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeState(t *testing.T, root, body string) {
	t.Helper()
	p := devStatePath(root)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestFindDev(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer up.Close()
	down := httptest.NewServer(http.NotFoundHandler())
	downURL := down.URL
	down.Close()

	state := func(api, sim string) string {
		return `{"apiUrl":"` + api + `","motoUrl":"http://127.0.0.1:1","simulatorUrl":"` + sim +
			`","stateMachineArn":"arn:aws:states:us-east-1:123456789012:stateMachine:videojobs-job","bucketName":"videojobs-videos"}`
	}
	tests := []struct {
		name    string
		state   string // "" writes no file
		wantAPI string // "" wants no target
		wantErr string
	}{
		{name: "no make dev", state: ""},
		{name: "running", state: state(up.URL, up.URL), wantAPI: up.URL},
		{name: "stale file", state: state(downURL, downURL)},
		{name: "simulator gone", state: state(up.URL, downURL)},
		{name: "incomplete", state: `{"apiUrl":"` + up.URL + `"}`, wantErr: "lacks"},
		{name: "not json", state: `{`, wantErr: "read make dev state"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			if tt.state != "" {
				writeState(t, root, tt.state)
			}
			got, err := findDev(t.Context(), root)
			switch {
			case tt.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("findDev error = %v, want one containing %q", err, tt.wantErr)
				}
			case err != nil:
				t.Fatalf("findDev: %v", err)
			case tt.wantAPI == "" && got != nil:
				t.Errorf("findDev = %+v, want none", got)
			case tt.wantAPI != "" && (got == nil || got.APIURL != tt.wantAPI):
				t.Errorf("findDev = %+v, want the stack at %s", got, tt.wantAPI)
			}
		})
	}
}
