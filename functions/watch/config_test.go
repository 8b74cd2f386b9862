package main

import (
	"testing"
	"time"

	"github.com/videojobs/videojobs/internal/lambdaenv/lambdaenvtest"
)

// Generic reading (trimming, URL checks, error joining) is tested in
// internal/lambdaenv; these cases pin what this function requires and its
// bounds.
func TestLoadConfig(t *testing.T) {
	base := map[string]string{"TABLE_NAME": "videojobs-jobs", "AISTATS_API_KEY_SECRET_ARN": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:key"}
	with := func(kv ...string) map[string]string { return lambdaenvtest.With(base, kv...) }
	def := config{table: "videojobs-jobs", aistatsBaseURL: "https://api.phaseo.app", apiKeySecretARN: base["AISTATS_API_KEY_SECRET_ARN"],
		pollCap: 300 * time.Second, jobDeadline: time.Hour, metricsNamespace: "videojobs"}
	custom := def
	custom.pollCap, custom.jobDeadline, custom.metricsNamespace = 120*time.Second, 900*time.Second, "vj-dev"
	edges := def
	edges.pollCap, edges.jobDeadline = 20*time.Second, 365*24*time.Hour
	lambdaenvtest.Run(t, loadConfig, []lambdaenvtest.Case[config]{
		{Name: "defaults", Env: base, Want: def},
		{Name: "overrides", Env: with("POLL_INTERVAL_CAP_SECONDS", "120", "JOB_DEADLINE_SECONDS", " 900 ", "METRICS_NAMESPACE", "vj-dev"), Want: custom},
		{Name: "at the bounds", Env: with("POLL_INTERVAL_CAP_SECONDS", "20", "JOB_DEADLINE_SECONDS", "31536000"), Want: edges},
		{Name: "missing", Env: map[string]string{}, WantErr: []string{"watch config: ", "TABLE_NAME is required", "AISTATS_API_KEY_SECRET_ARN is required"}},
		{Name: "not a number", Env: with("POLL_INTERVAL_CAP_SECONDS", "5m"),
			WantErr: []string{`POLL_INTERVAL_CAP_SECONDS must be a whole number of seconds between 20 and 31536000, got "5m"`}},
		{Name: "zero deadline", Env: with("JOB_DEADLINE_SECONDS", "0"), WantErr: []string{"JOB_DEADLINE_SECONDS must be a whole number of seconds between 1 and 31536000"}},
		{Name: "deadline over a year", Env: with("JOB_DEADLINE_SECONDS", "31536001"), WantErr: []string{"JOB_DEADLINE_SECONDS must be"}},
		// Under the gateway's poll_after the cap would be ignored.
		{Name: "cap under poll_after", Env: with("POLL_INTERVAL_CAP_SECONDS", "19"),
			WantErr: []string{`POLL_INTERVAL_CAP_SECONDS must be a whole number of seconds between 20 and`}},
		{Name: "both wrong at once", Env: with("POLL_INTERVAL_CAP_SECONDS", "-1", "JOB_DEADLINE_SECONDS", "x"),
			WantErr: []string{"POLL_INTERVAL_CAP_SECONDS", "JOB_DEADLINE_SECONDS"}},
	})
}
