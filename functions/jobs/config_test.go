package main

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestLoadConfig(t *testing.T) {
	full := map[string]string{
		"TABLE_NAME":                 "videojobs",
		"AISTATS_API_KEY_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:aistats-key",
		"BUCKET_NAME":                "videojobs-videos",
	}
	with := func(k, v string) map[string]string {
		m := map[string]string{k: v}
		for a, b := range full {
			if a != k {
				m[a] = b
			}
		}
		return m
	}
	tests := []struct {
		name    string
		env     map[string]string
		want    config
		wantErr []string
	}{
		{name: "defaults", env: full, want: config{table: "videojobs", aistatsBaseURL: "https://api.phaseo.app",
			apiKeySecretARN: full["AISTATS_API_KEY_SECRET_ARN"], bucket: "videojobs-videos", downloadTTL: 5 * time.Minute, metricsNamespace: "videojobs"}},
		{name: "ttl", env: with("DOWNLOAD_URL_TTL_SECONDS", "60"), want: config{table: "videojobs", aistatsBaseURL: "https://api.phaseo.app",
			apiKeySecretARN: full["AISTATS_API_KEY_SECRET_ARN"], bucket: "videojobs-videos", downloadTTL: time.Minute, metricsNamespace: "videojobs"}},
		{name: "empty", env: map[string]string{}, wantErr: []string{"TABLE_NAME is required", "AISTATS_API_KEY_SECRET_ARN is required", "BUCKET_NAME is required"}},
		{name: "ttl too long", env: with("DOWNLOAD_URL_TTL_SECONDS", "86400"), wantErr: []string{"DOWNLOAD_URL_TTL_SECONDS must be 1..3600"}},
		{name: "ttl not a number", env: with("DOWNLOAD_URL_TTL_SECONDS", "5m"), wantErr: []string{"DOWNLOAD_URL_TTL_SECONDS"}},
		{name: "bad base url", env: with("AISTATS_BASE_URL", "api.phaseo.app"), wantErr: []string{"AISTATS_BASE_URL must be an absolute"}},
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
