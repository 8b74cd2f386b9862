package main

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

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

// loadConfig reads the environment once at init (docs/internals.md,
// "Function configuration") and reports every problem at once.
func loadConfig(getenv func(string) string) (config, error) {
	c := config{
		table:            strings.TrimSpace(getenv("TABLE_NAME")),
		aistatsBaseURL:   withDefault(getenv("AISTATS_BASE_URL"), "https://api.phaseo.app"),
		apiKeySecretARN:  strings.TrimSpace(getenv("AISTATS_API_KEY_SECRET_ARN")),
		metricsNamespace: withDefault(getenv("METRICS_NAMESPACE"), "videojobs"),
	}
	var errs []error
	for _, v := range []struct{ name, value string }{
		{"TABLE_NAME", c.table},
		{"AISTATS_API_KEY_SECRET_ARN", c.apiKeySecretARN},
	} {
		if v.value == "" {
			errs = append(errs, fmt.Errorf("%s is required", v.name))
		}
	}
	if u, err := url.Parse(c.aistatsBaseURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		errs = append(errs, fmt.Errorf("AISTATS_BASE_URL must be an absolute http(s) url, got %q", c.aistatsBaseURL))
	}
	var err error
	if c.pollCap, err = seconds(getenv, "POLL_INTERVAL_CAP_SECONDS", tracking.DefaultPollCap); err != nil {
		errs = append(errs, err)
	} else if c.pollCap < tracking.DefaultPollAfter {
		// A cap under the gateway's poll interval would be ignored
		// (never poll faster than poll_after_seconds): say so now.
		errs = append(errs, fmt.Errorf("POLL_INTERVAL_CAP_SECONDS must be at least %d, got %d",
			int(tracking.DefaultPollAfter/time.Second), int(c.pollCap/time.Second)))
	}
	if c.jobDeadline, err = seconds(getenv, "JOB_DEADLINE_SECONDS", tracking.DefaultJobDeadline); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return config{}, fmt.Errorf("watch config: %w", err)
	}
	return c, nil
}

// seconds reads a positive whole number of seconds, or def when unset.
func seconds(getenv func(string) string, name string, def time.Duration) (time.Duration, error) {
	v := strings.TrimSpace(getenv(name))
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 || n > 365*24*3600 {
		return 0, fmt.Errorf("%s must be a whole number of seconds between 1 and 31536000, got %q", name, v)
	}
	return time.Duration(n) * time.Second, nil
}

func withDefault(v, def string) string {
	if v = strings.TrimSpace(v); v == "" {
		return def
	}
	return v
}
