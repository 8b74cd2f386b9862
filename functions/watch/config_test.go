package main

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestLoadConfig(t *testing.T) {
	base := map[string]string{"TABLE_NAME": "videojobs-jobs", "AISTATS_API_KEY_SECRET_ARN": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:key"}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	def := config{table: "videojobs-jobs", aistatsBaseURL: "https://api.phaseo.app", apiKeySecretARN: base["AISTATS_API_KEY_SECRET_ARN"],
		pollCap: 300 * time.Second, jobDeadline: time.Hour, metricsNamespace: "videojobs"}
	custom := def
	custom.pollCap, custom.jobDeadline, custom.metricsNamespace = 120*time.Second, 900*time.Second, "vj-dev"
	tests := []struct {
		name    string
		env     map[string]string
		want    config
		wantErr []string
	}{
		{"defaults", base, def, nil},
		{"overrides", with("POLL_INTERVAL_CAP_SECONDS", "120", "JOB_DEADLINE_SECONDS", " 900 ", "METRICS_NAMESPACE", "vj-dev"), custom, nil},
		{"missing", map[string]string{}, config{}, []string{"TABLE_NAME is required", "AISTATS_API_KEY_SECRET_ARN is required"}},
		{"not a number", with("POLL_INTERVAL_CAP_SECONDS", "5m"), config{}, []string{`POLL_INTERVAL_CAP_SECONDS must be a whole number of seconds between 1 and 31536000, got "5m"`}},
		{"zero deadline", with("JOB_DEADLINE_SECONDS", "0"), config{}, []string{"JOB_DEADLINE_SECONDS must be a whole number"}},
		{"cap under poll_after", with("POLL_INTERVAL_CAP_SECONDS", "10"), config{}, []string{"POLL_INTERVAL_CAP_SECONDS must be at least 20, got 10"}},
		{"both wrong at once", with("POLL_INTERVAL_CAP_SECONDS", "-1", "JOB_DEADLINE_SECONDS", "x"), config{},
			[]string{"POLL_INTERVAL_CAP_SECONDS", "JOB_DEADLINE_SECONDS"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := loadConfig(func(k string) string { return tt.env[k] })
			if len(tt.wantErr) == 0 && err != nil {
				t.Fatalf("loadConfig: %v", err)
			}
			for _, w := range tt.wantErr {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("error = %v, want it to mention %q", err, w)
				}
			}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(config{})); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
		})
	}
}
