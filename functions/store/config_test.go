package main

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestLoadConfig(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    config
		wantErr []string
	}{
		{"defaults", map[string]string{"TABLE_NAME": "t", "BUCKET_NAME": "b", "AISTATS_API_KEY_SECRET_ARN": "arn:k"},
			config{table: "t", bucket: "b", aistatsBaseURL: "https://api.phaseo.app", apiKeySecretARN: "arn:k", metricsNamespace: "videojobs"}, nil},
		{"missing", map[string]string{"AISTATS_BASE_URL": "ftp://x"}, config{},
			[]string{"TABLE_NAME is required", "BUCKET_NAME is required", "AISTATS_API_KEY_SECRET_ARN is required", "AISTATS_BASE_URL must be an absolute http(s) url"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := loadConfig(func(k string) string { return tt.env[k] })
			if len(tt.wantErr) == 0 && err != nil {
				t.Fatalf("loadConfig: %v", err)
			}
			for _, w := range tt.wantErr {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("error = %v, want it to mention %q", err, w)
				}
			}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(config{})); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
		})
	}
}
