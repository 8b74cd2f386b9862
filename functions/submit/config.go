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
	webhookBaseURL   string
	stateMachineARN  string
	defaultModel     string
	metricsNamespace string
}

// loadConfig reads the environment once at init (docs/internals.md,
// "Function configuration") and reports every problem at once.
func loadConfig(getenv func(string) string) (config, error) {
	c := config{
		table:            getenv("TABLE_NAME"),
		aistatsBaseURL:   withDefault(getenv("AISTATS_BASE_URL"), "https://api.phaseo.app"),
		apiKeySecretARN:  getenv("AISTATS_API_KEY_SECRET_ARN"),
		masterSecretARN:  getenv("WEBHOOK_MASTER_SECRET_ARN"),
		webhookBaseURL:   getenv("WEBHOOK_BASE_URL"),
		stateMachineARN:  getenv("STATE_MACHINE_ARN"),
		defaultModel:     strings.TrimSpace(getenv("DEFAULT_MODEL")),
		metricsNamespace: withDefault(getenv("METRICS_NAMESPACE"), "videojobs"),
	}
	var errs []error
	for _, v := range []struct{ name, value string }{
		{"TABLE_NAME", c.table},
		{"AISTATS_API_KEY_SECRET_ARN", c.apiKeySecretARN},
		{"WEBHOOK_MASTER_SECRET_ARN", c.masterSecretARN},
		{"WEBHOOK_BASE_URL", c.webhookBaseURL},
		{"STATE_MACHINE_ARN", c.stateMachineARN},
	} {
		if strings.TrimSpace(v.value) == "" {
			errs = append(errs, fmt.Errorf("%s is required", v.name))
		}
	}
	for _, v := range []struct{ name, value string }{
		{"AISTATS_BASE_URL", c.aistatsBaseURL},
		{"WEBHOOK_BASE_URL", c.webhookBaseURL},
	} {
		if v.value == "" {
			continue
		}
		if u, err := url.Parse(v.value); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			errs = append(errs, fmt.Errorf("%s must be an absolute http(s) url, got %q", v.name, v.value))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return config{}, fmt.Errorf("submit config: %w", err)
	}
	return c, nil
}

func withDefault(v, def string) string {
	if strings.TrimSpace(v) == "" {
		return def
	}
	return v
}
