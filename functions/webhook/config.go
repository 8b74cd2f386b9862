package main

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

type config struct {
	table            string
	aistatsBaseURL   string
	apiKeySecretARN  string
	masterSecretARN  string
	metricsNamespace string
}

// loadConfig reads the environment once at init (docs/internals.md,
// "Function configuration") and reports every problem at once.
func loadConfig(getenv func(string) string) (config, error) {
	c := config{
		table:            strings.TrimSpace(getenv("TABLE_NAME")),
		aistatsBaseURL:   withDefault(getenv("AISTATS_BASE_URL"), "https://api.phaseo.app"),
		apiKeySecretARN:  strings.TrimSpace(getenv("AISTATS_API_KEY_SECRET_ARN")),
		masterSecretARN:  strings.TrimSpace(getenv("WEBHOOK_MASTER_SECRET_ARN")),
		metricsNamespace: withDefault(getenv("METRICS_NAMESPACE"), "videojobs"),
	}
	var errs []error
	for _, v := range []struct{ name, value string }{
		{"TABLE_NAME", c.table},
		{"AISTATS_API_KEY_SECRET_ARN", c.apiKeySecretARN},
		{"WEBHOOK_MASTER_SECRET_ARN", c.masterSecretARN},
	} {
		if v.value == "" {
			errs = append(errs, fmt.Errorf("%s is required", v.name))
		}
	}
	if u, err := url.Parse(c.aistatsBaseURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		errs = append(errs, fmt.Errorf("AISTATS_BASE_URL must be an absolute http(s) url, got %q", c.aistatsBaseURL))
	}
	if err := errors.Join(errs...); err != nil {
		return config{}, fmt.Errorf("webhook config: %w", err)
	}
	return c, nil
}

func withDefault(v, def string) string {
	if v = strings.TrimSpace(v); v == "" {
		return def
	}
	return v
}
