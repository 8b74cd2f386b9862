package main

import (
	"time"

	"github.com/videojobs/videojobs/internal/lambdaenv"
)

type config struct {
	table            string
	aistatsBaseURL   string
	apiKeySecretARN  string
	bucket           string
	downloadTTL      time.Duration
	metricsNamespace string
}

// maxDownloadTTL keeps presigned URLs short-lived: they are bearer
// credentials for the video.
const maxDownloadTTL = time.Hour

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
		bucket:           r.Required(getenv, "BUCKET_NAME"),
		downloadTTL:      r.Seconds(getenv, "DOWNLOAD_URL_TTL_SECONDS", 300*time.Second, time.Second, maxDownloadTTL),
		metricsNamespace: r.Default(getenv, "METRICS_NAMESPACE", "videojobs"),
	}
	if err := r.Err("jobs config"); err != nil {
		return config{}, err
	}
	return c, nil
}
