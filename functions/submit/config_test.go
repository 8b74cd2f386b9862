package main

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestLoadConfig(t *testing.T) {
	full := map[string]string{
		"TABLE_NAME":                 "videojobs",
		"AISTATS_API_KEY_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:aistats-key",
		"WEBHOOK_MASTER_SECRET_ARN":  "arn:aws:secretsmanager:us-east-1:123456789012:secret:webhook-master",
		"WEBHOOK_BASE_URL":           "https://abc123.execute-api.us-east-1.amazonaws.com",
		"STATE_MACHINE_ARN":          "arn:aws:states:us-east-1:123456789012:stateMachine:job",
		"DEFAULT_MODEL":              "google/veo-3.1-lite",
	}
	with := func(k, v string) map[string]string {
		m := map[string]string{}
		for a, b := range full {
			m[a] = b
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
		{name: "complete with defaults", env: full, want: config{
			table: "videojobs", aistatsBaseURL: "https://api.phaseo.app",
			apiKeySecretARN: full["AISTATS_API_KEY_SECRET_ARN"], masterSecretARN: full["WEBHOOK_MASTER_SECRET_ARN"],
			webhookBaseURL: full["WEBHOOK_BASE_URL"], stateMachineARN: full["STATE_MACHINE_ARN"],
			defaultModel: "google/veo-3.1-lite", metricsNamespace: "videojobs",
		}},
		{name: "empty", env: map[string]string{}, wantErr: []string{"TABLE_NAME is required", "AISTATS_API_KEY_SECRET_ARN is required", "WEBHOOK_MASTER_SECRET_ARN is required", "WEBHOOK_BASE_URL is required", "STATE_MACHINE_ARN is required"}},
		{name: "relative webhook base", env: with("WEBHOOK_BASE_URL", "/webhooks"), wantErr: []string{"WEBHOOK_BASE_URL must be an absolute http(s) url"}},
		{name: "bad gateway url", env: with("AISTATS_BASE_URL", "ftp://gw"), wantErr: []string{"AISTATS_BASE_URL must be an absolute http(s) url"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := loadConfig(func(k string) string { return tt.env[k] })
			if len(tt.wantErr) > 0 {
				if err == nil {
					t.Fatal("loadConfig succeeded, want an error")
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q lacks %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("loadConfig: %v", err)
			}
			if diff := cmp.Diff(got, tt.want, cmp.AllowUnexported(config{})); diff != "" {
				t.Errorf("config (-got +want):\n%s", diff)
			}
		})
	}
}
