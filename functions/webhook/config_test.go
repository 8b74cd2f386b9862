package main

import (
	"testing"

	"github.com/videojobs/videojobs/internal/lambdaenv/lambdaenvtest"
)

// Generic reading (trimming, URL checks, error joining) is tested in
// internal/lambdaenv; these cases pin what this function requires.
func TestLoadConfig(t *testing.T) {
	full := map[string]string{
		"TABLE_NAME":                 "videojobs-jobs",
		"AISTATS_API_KEY_SECRET_ARN": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:api-key",
		"WEBHOOK_MASTER_SECRET_ARN":  "arn:aws:secretsmanager:eu-west-1:123456789012:secret:master",
	}
	def := config{table: "videojobs-jobs", aistatsBaseURL: "https://api.phaseo.app",
		apiKeySecretARN: full["AISTATS_API_KEY_SECRET_ARN"], masterSecretARN: full["WEBHOOK_MASTER_SECRET_ARN"], metricsNamespace: "videojobs"}
	local := def
	local.aistatsBaseURL, local.metricsNamespace = "http://127.0.0.1:8089", "vj-dev"
	lambdaenvtest.Run(t, loadConfig, []lambdaenvtest.Case[config]{
		{Name: "defaults", Env: full, Want: def},
		{Name: "overrides", Env: lambdaenvtest.With(full, "AISTATS_BASE_URL", "http://127.0.0.1:8089", "METRICS_NAMESPACE", "vj-dev"), Want: local},
		{Name: "everything missing", Env: map[string]string{},
			WantErr: []string{"webhook config: ", "TABLE_NAME is required", "AISTATS_API_KEY_SECRET_ARN is required", "WEBHOOK_MASTER_SECRET_ARN is required"}},
	})
}
