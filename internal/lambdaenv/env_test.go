package lambdaenv_test

import (
	"strings"
	"testing"
	"time"

	"github.com/videojobs/videojobs/internal/lambdaenv"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// checkErr fails t unless err's message holds every want and none of the
// values in never (secrets that must not reach an init-failure log line).
func checkErr(t *testing.T, err error, want, never []string) {
	t.Helper()
	if len(want) == 0 {
		if err != nil {
			t.Fatalf("Err = %v, want nil", err)
		}
		return
	}
	if err == nil {
		t.Fatalf("Err = nil, want one mentioning %q", want)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("Err = %q, want it to mention %q", err, w)
		}
	}
	for _, n := range never {
		if strings.Contains(err.Error(), n) {
			t.Errorf("Err = %q echoes %q", err, n)
		}
	}
}

func TestRequired(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		got     string
		wantErr []string
	}{
		{"set", map[string]string{"TABLE_NAME": "jobs"}, "jobs", nil},
		{"trimmed", map[string]string{"TABLE_NAME": " jobs\n"}, "jobs", nil},
		{"unset", nil, "", []string{"cfg: TABLE_NAME is required"}},
		{"blank", map[string]string{"TABLE_NAME": "  "}, "", []string{"TABLE_NAME is required"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			getenv, r := env(tt.env), new(lambdaenv.Reader)
			if got := r.Required(getenv, "TABLE_NAME"); got != tt.got {
				t.Errorf("Required = %q, want %q", got, tt.got)
			}
			checkErr(t, r.Err("cfg"), tt.wantErr, nil)
		})
	}
}

func TestDefaultAndOptional(t *testing.T) {
	tests := []struct {
		name         string
		env          map[string]string
		gotDefault   string
		wantOptional string
	}{
		{"set", map[string]string{"X": "vj-dev"}, "vj-dev", "vj-dev"},
		{"trimmed", map[string]string{"X": " vj-dev "}, "vj-dev", "vj-dev"},
		{"unset", nil, "videojobs", ""},
		{"blank", map[string]string{"X": " "}, "videojobs", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			getenv, r := env(tt.env), new(lambdaenv.Reader)
			if got := r.Default(getenv, "X", "videojobs"); got != tt.gotDefault {
				t.Errorf("Default = %q, want %q", got, tt.gotDefault)
			}
			if got := r.Optional(getenv, "X"); got != tt.wantOptional {
				t.Errorf("Optional = %q, want %q", got, tt.wantOptional)
			}
			checkErr(t, r.Err("cfg"), nil, nil)
		})
	}
}

func TestURL(t *testing.T) {
	const def = "https://api.phaseo.app"
	tests := []struct {
		name    string
		value   string
		def     string
		want    string
		wantErr []string
		never   []string
	}{
		{"default", "", def, def, nil, nil},
		{"http override", " http://127.0.0.1:8089 ", def, "http://127.0.0.1:8089", nil, nil},
		{"https with path", "https://abc.execute-api.eu-west-1.amazonaws.com/prod", "", "https://abc.execute-api.eu-west-1.amazonaws.com/prod", nil, nil},
		{"required when no default", "", "", "", []string{"BASE is required"}, nil},
		{"no scheme", "api.phaseo.app", def, "api.phaseo.app", []string{`BASE must be an absolute http(s) url, got "api.phaseo.app"`}, nil},
		{"relative", "/webhooks", "", "/webhooks", []string{"BASE must be an absolute http(s) url"}, nil},
		{"other scheme", "ftp://gw", def, "ftp://gw", []string{"BASE must be an absolute http(s) url"}, nil},
		{"no host", "https://", def, "https://", []string{"BASE must be an absolute http(s) url"}, nil},
		{"password redacted", "ftp://u:hunter2@gw", def, "ftp://u:hunter2@gw", []string{"BASE must be an absolute http(s) url"}, []string{"hunter2"}},
		{"unparsable, value withheld", "http://u:hunter2@gw\x7f", def, "http://u:hunter2@gw\x7f", []string{"BASE must be an absolute http(s) url: "}, []string{"hunter2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			getenv, r := env(map[string]string{"BASE": tt.value}), new(lambdaenv.Reader)
			if got := r.URL(getenv, "BASE", tt.def); got != tt.want {
				t.Errorf("URL = %q, want %q", got, tt.want)
			}
			checkErr(t, r.Err("cfg"), tt.wantErr, tt.never)
		})
	}
}

func TestSeconds(t *testing.T) {
	const def, min, max = 300 * time.Second, 20 * time.Second, time.Hour
	tests := []struct {
		name    string
		value   string
		want    time.Duration
		wantErr []string
	}{
		{"default", "", def, nil},
		{"set", "120", 2 * time.Minute, nil},
		{"trimmed", " 900 ", 15 * time.Minute, nil},
		{"at min", "20", min, nil},
		{"at max", "3600", max, nil},
		{"under min", "10", def, []string{`POLL must be a whole number of seconds between 20 and 3600, got "10"`}},
		{"over max", "3601", def, []string{"POLL must be a whole number of seconds between 20 and 3600"}},
		{"negative", "-1", def, []string{"POLL must be"}},
		{"not a number", "5m", def, []string{`got "5m"`}},
		{"fraction", "1.5", def, []string{"POLL must be"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			getenv, r := env(map[string]string{"POLL": tt.value}), new(lambdaenv.Reader)
			if got := r.Seconds(getenv, "POLL", def, min, max); got != tt.want {
				t.Errorf("Seconds = %v, want %v", got, tt.want)
			}
			checkErr(t, r.Err("cfg"), tt.wantErr, nil)
		})
	}
}

// TestErrCollectsEveryProblem is why Reader exists: one init failure lists
// everything an operator has to fix, each under its variable's name.
func TestErrCollectsEveryProblem(t *testing.T) {
	secret := "arn:aws:secretsmanager:eu-west-1:123456789012:secret:master"
	getenv, r := env(map[string]string{"MASTER": secret, "BASE": "gw", "POLL": "x"}), new(lambdaenv.Reader)
	r.Required(getenv, "TABLE_NAME")
	r.Required(getenv, "MASTER")
	r.URL(getenv, "BASE", "")
	r.Seconds(getenv, "POLL", time.Minute, time.Second, time.Hour)
	err := r.Err("watch config")
	checkErr(t, err, []string{"watch config: ", "TABLE_NAME is required", "BASE must be", "POLL must be"}, []string{secret})
	if got, want := strings.Count(err.Error(), "\n")+1, 3; got != want {
		t.Errorf("Err has %d lines, want %d: %q", got, want, err)
	}
}
