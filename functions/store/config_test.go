package main

import (
	"testing"

	"github.com/videojobs/videojobs/internal/lambdaenv/lambdaenvtest"
)

// Generic reading (trimming, URL checks, error joining) is tested in
// internal/lambdaenv; these cases pin what this function requires.
func TestLoadConfig(t *testing.T) {
	lambdaenvtest.Run(t, loadConfig, []lambdaenvtest.Case[config]{
		{Name: "defaults", Env: map[string]string{"TABLE_NAME": "t", "BUCKET_NAME": "b", "AISTATS_API_KEY_SECRET_ARN": "arn:k"},
			Want: config{table: "t", bucket: "b", aistatsBaseURL: "https://api.phaseo.app", apiKeySecretARN: "arn:k", metricsNamespace: "videojobs"}},
		{Name: "missing", Env: map[string]string{},
			WantErr: []string{"store config: ", "TABLE_NAME is required", "BUCKET_NAME is required", "AISTATS_API_KEY_SECRET_ARN is required"}},
	})
}
