package main

import (
	"testing"

	"github.com/videojobs/videojobs/internal/lambdaenv/lambdaenvtest"
)

// Generic reading (trimming, URL checks, error joining) is tested in
// internal/lambdaenv; these cases pin what this function requires.
func TestLoadConfig(t *testing.T) {
	full := map[string]string{
		"TABLE_NAME":                 "videojobs",
		"AISTATS_API_KEY_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:aistats-key",
		"WEBHOOK_MASTER_SECRET_ARN":  "arn:aws:secretsmanager:us-east-1:123456789012:secret:webhook-master",
		"WEBHOOK_BASE_URL":           "https://abc123.execute-api.us-east-1.amazonaws.com",
		"STATE_MACHINE_ARN":          "arn:aws:states:us-east-1:123456789012:stateMachine:job",
		"DEFAULT_MODEL":              "google/veo-3.1-lite",
	}
	lambdaenvtest.Run(t, loadConfig, []lambdaenvtest.Case[config]{
		{Name: "complete with defaults", Env: full, Want: config{
			table: "videojobs", aistatsBaseURL: "https://api.phaseo.app",
			apiKeySecretARN: full["AISTATS_API_KEY_SECRET_ARN"], masterSecretARN: full["WEBHOOK_MASTER_SECRET_ARN"],
			webhookBaseURL: full["WEBHOOK_BASE_URL"], stateMachineARN: full["STATE_MACHINE_ARN"],
			defaultModel: "google/veo-3.1-lite", metricsNamespace: "videojobs",
		}},
		{Name: "empty", Env: map[string]string{}, WantErr: []string{"submit config: ", "TABLE_NAME is required", "AISTATS_API_KEY_SECRET_ARN is required",
			"WEBHOOK_MASTER_SECRET_ARN is required", "WEBHOOK_BASE_URL is required", "STATE_MACHINE_ARN is required"}},
		{Name: "relative webhook base", Env: lambdaenvtest.With(full, "WEBHOOK_BASE_URL", "/webhooks"),
			WantErr: []string{"WEBHOOK_BASE_URL must be an absolute http(s) url"}},
	})
}
