package main

import (
	"time"

	"github.com/videojobs/videojobs/internal/lambdaenv"
	"github.com/videojobs/videojobs/internal/tracking"
)

type config struct {
	table            string
	aistatsBaseURL   string
	apiKeySecretARN  string
	pollCap          time.Duration
	jobDeadline      time.Duration
	metricsNamespace string
}

// maxWait bounds the watch durations at a year: anything longer is a typo.
const maxWait = 365 * 24 * time.Hour

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
		// A cap under the gateway's poll interval would be ignored (never
		// poll faster than poll_after_seconds): refuse it now.
		pollCap:          r.Seconds(getenv, "POLL_INTERVAL_CAP_SECONDS", tracking.DefaultPollCap, tracking.DefaultPollAfter, maxWait),
		jobDeadline:      r.Seconds(getenv, "JOB_DEADLINE_SECONDS", tracking.DefaultJobDeadline, time.Second, maxWait),
		metricsNamespace: r.Default(getenv, "METRICS_NAMESPACE", "videojobs"),
	}
	if err := r.Err("watch config"); err != nil {
		return config{}, err
	}
	return c, nil
}
