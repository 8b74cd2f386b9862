package main

import "github.com/videojobs/videojobs/internal/lambdaenv"

type config struct {
	table            string
	aistatsBaseURL   string
	apiKeySecretARN  string
	masterSecretARN  string
	metricsNamespace string
}

// APIKeySecretARN tells lambdaenv.Start which secret holds the API key.
func (c config) APIKeySecretARN() string { return c.apiKeySecretARN }

// loadConfig reads the environment once at init (docs/internals.md,
// "Function configuration") and reports every problem at once.
func loadConfig(getenv func(string) string) (config, error) {
	var r lambdaenv.Reader
	c := config{
		table:            r.Required(getenv, "TABLE_NAME"),
		aistatsBaseURL:   r.URL(getenv, "AISTATS_BASE_URL", "https://api.phaseo.app"),
		apiKeySecretARN:  r.Required(getenv, "AISTATS_API_KEY_SECRET_ARN"),
		masterSecretARN:  r.Required(getenv, "WEBHOOK_MASTER_SECRET_ARN"),
		metricsNamespace: r.Default(getenv, "METRICS_NAMESPACE", "videojobs"),
	}
	if err := r.Err("webhook config"); err != nil {
		return config{}, err
	}
	return c, nil
}
