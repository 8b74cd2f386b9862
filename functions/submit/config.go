package main

import "github.com/videojobs/videojobs/internal/lambdaenv"

type config struct {
	table            string
	aistatsBaseURL   string
	apiKeySecretARN  string
	masterSecretARN  string
	webhookBaseURL   string
	stateMachineARN  string
	defaultModel     string
	metricsNamespace string
}

// APIKeySecretARN tells lambdaenv.Start which secret holds the API key.
func (c config) APIKeySecretARN() string { return c.apiKeySecretARN }

// loadConfig reads the environment once at init (docs/internals.md,
// "Function configuration") and reports every problem at once.
func loadConfig(getenv func(string) string) (config, error) {
	var r lambdaenv.Reader
	c := config{
		table:           r.Required(getenv, "TABLE_NAME"),
		aistatsBaseURL:  r.URL(getenv, "AISTATS_BASE_URL", "https://api.phaseo.app"),
		apiKeySecretARN: r.Required(getenv, "AISTATS_API_KEY_SECRET_ARN"),
		masterSecretARN: r.Required(getenv, "WEBHOOK_MASTER_SECRET_ARN"),
		// No default: the job's webhook URL is built on it.
		webhookBaseURL:   r.URL(getenv, "WEBHOOK_BASE_URL", ""),
		stateMachineARN:  r.Required(getenv, "STATE_MACHINE_ARN"),
		defaultModel:     r.Optional(getenv, "DEFAULT_MODEL"),
		metricsNamespace: r.Default(getenv, "METRICS_NAMESPACE", "videojobs"),
	}
	if err := r.Err("submit config"); err != nil {
		return config{}, err
	}
	return c, nil
}
