package main

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestLoadConfig(t *testing.T) {
	full := map[string]string{
		"TABLE_NAME":                 "videojobs-jobs",
		"AISTATS_API_KEY_SECRET_ARN": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:api-key",
		"WEBHOOK_MASTER_SECRET_ARN":  "arn:aws:secretsmanager:eu-west-1:123456789012:secret:master",
	}
	with := func(k, v string) map[string]string {
		m := map[string]string{}
		for k, v := range full {
			m[k] = v
		}
		m[k] = v
		return m
	}
	tests := []struct {
		name    string
		env     map[string]string
		want    config
		wantErr []string
	}{
		{"defaults", full, config{table: "videojobs-jobs", aistatsBaseURL: "https://api.phaseo.app",
			apiKeySecretARN: full["AISTATS_API_KEY_SECRET_ARN"], masterSecretARN: full["WEBHOOK_MASTER_SECRET_ARN"], metricsNamespace: "videojobs"}, nil},
		{"overrides", with("AISTATS_BASE_URL", "http://127.0.0.1:8089"), config{table: "videojobs-jobs", aistatsBaseURL: "http://127.0.0.1:8089",
			apiKeySecretARN: full["AISTATS_API_KEY_SECRET_ARN"], masterSecretARN: full["WEBHOOK_MASTER_SECRET_ARN"], metricsNamespace: "videojobs"}, nil},
		{"everything missing", map[string]string{}, config{}, []string{"TABLE_NAME is required", "AISTATS_API_KEY_SECRET_ARN is required", "WEBHOOK_MASTER_SECRET_ARN is required"}},
		{"relative base url", with("AISTATS_BASE_URL", "api.phaseo.app"), config{}, []string{"AISTATS_BASE_URL must be an absolute http(s) url"}},
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
