package main

import (
	"testing"
	"time"

	"github.com/videojobs/videojobs/internal/lambdaenv/lambdaenvtest"
)

// Generic reading (trimming, URL checks, error joining) is tested in
// internal/lambdaenv; these cases pin what this function requires and the
// download URL's lifetime bounds.
func TestLoadConfig(t *testing.T) {
	full := map[string]string{
		"TABLE_NAME":                 "videojobs",
		"AISTATS_API_KEY_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:aistats-key",
		"BUCKET_NAME":                "videojobs-videos",
	}
	ttl := func(v string) map[string]string { return lambdaenvtest.With(full, "DOWNLOAD_URL_TTL_SECONDS", v) }
	withTTL := func(d time.Duration) config {
		return config{table: "videojobs", aistatsBaseURL: "https://api.phaseo.app", apiKeySecretARN: full["AISTATS_API_KEY_SECRET_ARN"],
			bucket: "videojobs-videos", downloadTTL: d, metricsNamespace: "videojobs"}
	}
	lambdaenvtest.Run(t, loadConfig, []lambdaenvtest.Case[config]{
		{Name: "defaults", Env: full, Want: withTTL(5 * time.Minute)},
		{Name: "ttl", Env: ttl("60"), Want: withTTL(time.Minute)},
		{Name: "ttl at the cap", Env: ttl("3600"), Want: withTTL(time.Hour)},
		{Name: "empty", Env: map[string]string{},
			WantErr: []string{"jobs config: ", "TABLE_NAME is required", "AISTATS_API_KEY_SECRET_ARN is required", "BUCKET_NAME is required"}},
		// Presigned URLs are bearer credentials: never longer than an hour.
		{Name: "ttl too long", Env: ttl("86400"), WantErr: []string{"DOWNLOAD_URL_TTL_SECONDS must be a whole number of seconds between 1 and 3600"}},
		{Name: "ttl zero", Env: ttl("0"), WantErr: []string{"DOWNLOAD_URL_TTL_SECONDS must be"}},
		{Name: "ttl not a number", Env: ttl("5m"), WantErr: []string{`DOWNLOAD_URL_TTL_SECONDS must be a whole number of seconds between 1 and 3600, got "5m"`}},
	})
}
