package main

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
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

// loadConfig reads the environment once at init (docs/internals.md,
// "Function configuration") and reports every problem at once.
func loadConfig(getenv func(string) string) (config, error) {
	c := config{
		table:            getenv("TABLE_NAME"),
		aistatsBaseURL:   withDefault(getenv("AISTATS_BASE_URL"), "https://api.phaseo.app"),
		apiKeySecretARN:  getenv("AISTATS_API_KEY_SECRET_ARN"),
		bucket:           getenv("BUCKET_NAME"),
		downloadTTL:      300 * time.Second,
		metricsNamespace: withDefault(getenv("METRICS_NAMESPACE"), "videojobs"),
	}
	var errs []error
	for _, v := range []struct{ name, value string }{
		{"TABLE_NAME", c.table}, {"AISTATS_API_KEY_SECRET_ARN", c.apiKeySecretARN}, {"BUCKET_NAME", c.bucket},
	} {
		if strings.TrimSpace(v.value) == "" {
			errs = append(errs, fmt.Errorf("%s is required", v.name))
		}
	}
	if u, err := url.Parse(c.aistatsBaseURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		errs = append(errs, fmt.Errorf("AISTATS_BASE_URL must be an absolute http(s) url, got %q", c.aistatsBaseURL))
	}
	if v := getenv("DOWNLOAD_URL_TTL_SECONDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || time.Duration(n)*time.Second > maxDownloadTTL {
			errs = append(errs, fmt.Errorf("DOWNLOAD_URL_TTL_SECONDS must be 1..%d, got %q", int(maxDownloadTTL/time.Second), v))
		} else {
			c.downloadTTL = time.Duration(n) * time.Second
		}
	}
	if err := errors.Join(errs...); err != nil {
		return config{}, fmt.Errorf("jobs config: %w", err)
	}
	return c, nil
}

func withDefault(v, def string) string {
	if strings.TrimSpace(v) == "" {
		return def
	}
	return v
}
