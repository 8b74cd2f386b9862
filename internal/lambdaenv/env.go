// Package lambdaenv is what every videojobs Lambda reads once per cold start:
// its environment variables (docs/internals.md, "Function configuration"),
// through a [Reader] that collects every problem so a misconfigured function
// says everything that is wrong in one init failure, and its AWS side
// ([LoadAWS]): the SDK configuration, a cached Secrets Manager reader and the
// gateway API key.
package lambdaenv

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Reader reads environment variables and remembers every problem it finds;
// the zero Reader is ready to use. Each method takes the getenv to read
// from (os.Getenv in main, a map in tests) so that every call site reads
// getenv, "NAME": infra's stack test finds each variable a function reads
// by that shape and checks the stack sets it.
//
// Values are trimmed of surrounding space; an all-space value counts as
// unset. Error messages name the variable and never echo a required value,
// since required variables are mostly secret ARNs and names.
type Reader struct {
	errs []error
}

func get(getenv func(string) string, name string) string { return strings.TrimSpace(getenv(name)) }

// Required returns the variable's value, or records that it is missing.
func (r *Reader) Required(getenv func(string) string, name string) string {
	v := get(getenv, name)
	if v == "" {
		r.errs = append(r.errs, fmt.Errorf("%s is required", name))
	}
	return v
}

// Default returns the variable's value, or def when it is unset.
func (r *Reader) Default(getenv func(string) string, name, def string) string {
	if v := get(getenv, name); v != "" {
		return v
	}
	return def
}

// Optional returns the variable's value, or "" when it is unset.
func (r *Reader) Optional(getenv func(string) string, name string) string { return get(getenv, name) }

// URL returns the variable's value, or def when it is unset, and records a
// problem unless it is an absolute http(s) URL. An empty def makes the
// variable required.
func (r *Reader) URL(getenv func(string) string, name, def string) string {
	v := r.Default(getenv, name, def)
	if v == "" {
		r.errs = append(r.errs, fmt.Errorf("%s is required", name))
		return ""
	}
	u, err := url.Parse(v)
	if err != nil {
		// Only the cause: the value itself may carry a password.
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		r.errs = append(r.errs, fmt.Errorf("%s must be an absolute http(s) url: %w", name, err))
		return v
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		// Redacted: a password in the URL's userinfo stays out of the logs.
		r.errs = append(r.errs, fmt.Errorf("%s must be an absolute http(s) url, got %q", name, u.Redacted()))
	}
	return v
}

// Seconds returns the variable as a whole number of seconds, or def when it
// is unset, and records a problem unless it lies within [min, max].
func (r *Reader) Seconds(getenv func(string) string, name string, def, min, max time.Duration) time.Duration {
	v := get(getenv, name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if d := time.Duration(n) * time.Second; err == nil && d >= min && d <= max {
		return d
	}
	r.errs = append(r.errs, fmt.Errorf("%s must be a whole number of seconds between %d and %d, got %q",
		name, int(min/time.Second), int(max/time.Second), v))
	return def
}

// Err returns every recorded problem joined under context (such as
// "watch config"), or nil when there were none.
func (r *Reader) Err(context string) error {
	if err := errors.Join(r.errs...); err != nil {
		return fmt.Errorf("%s: %w", context, err)
	}
	return nil
}
