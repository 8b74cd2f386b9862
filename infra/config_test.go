package main

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func lookup(m map[string]any) func(string) (any, bool) {
	return func(k string) (any, bool) {
		v, ok := m[k]
		return v, ok
	}
}

func TestLoadConfig(t *testing.T) {
	tests := []struct {
		name    string
		context map[string]any
		edit    func(*Config)
	}{
		{"defaults", nil, func(*Config) {}},
		{"strings from -c", map[string]any{
			"defaultModel":           "openai/sora-2",
			"pollIntervalCapSeconds": "120",
			"jobDeadlineSeconds":     "7200",
			"allowedOrigins":         "https://a.example.com, https://b.example.com",
			"jwtIssuer":              "https://issuer.example.com/",
			"jwtAudience":            "api",
			"reservedConcurrency":    "false",
			"alarmEmail":             "ops@example.com",
			"logRetentionDays":       "90",
		}, func(c *Config) {
			c.DefaultModel = "openai/sora-2"
			c.PollIntervalCapSeconds = 120
			c.JobDeadlineSeconds = 7200
			c.AllowedOrigins = []string{"https://a.example.com", "https://b.example.com"}
			c.JWTIssuer = "https://issuer.example.com/"
			c.JWTAudience = []string{"api"}
			c.ReservedConcurrency = false
			c.AlarmEmail = "ops@example.com"
			c.LogRetentionDays = 90
		}},
		{"JSON values from cdk.json", map[string]any{
			"pollIntervalCapSeconds": float64(600),
			"allowedOrigins":         []any{"https://app.example.com"},
			"jwtAudience":            `["a","b"]`,
			"jwtIssuer":              "https://issuer.example.com/",
			"reservedConcurrency":    true,
			"webhookRateLimit":       float64(5.5),
		}, func(c *Config) {
			c.PollIntervalCapSeconds = 600
			c.AllowedOrigins = []string{"https://app.example.com"}
			c.JWTAudience = []string{"a", "b"}
			c.JWTIssuer = "https://issuer.example.com/"
			c.WebhookRateLimit = 5.5
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := LoadConfig(lookup(tt.context))
			if err != nil {
				t.Fatalf("LoadConfig: %v", err)
			}
			want := DefaultConfig()
			tt.edit(&want)
			if diff := cmp.Diff(got, want); diff != "" {
				t.Errorf("config (-got +want):\n%s", diff)
			}
		})
	}
}

func TestLoadConfigRejects(t *testing.T) {
	tests := []struct {
		name    string
		context map[string]any
		want    []string
	}{
		{"not a number", map[string]any{"jobDeadlineSeconds": "an hour"}, []string{"jobDeadlineSeconds: \"an hour\" is not an integer"}},
		{"JWT half set", map[string]any{"jwtIssuer": "https://issuer.example.com/"}, []string{"set both"}},
		{"plain http gateway", map[string]any{"aistatsBaseUrl": "http://api.phaseo.app"}, []string{"aistatsBaseUrl"}},
		{"bad origin", map[string]any{"allowedOrigins": "example.com"}, []string{"allowedOrigins"}},
		{"retention", map[string]any{"logRetentionDays": "31"}, []string{"logRetentionDays: 31"}},
		{"default bus", map[string]any{"eventBusName": "default"}, []string{"eventBusName"}},
		{"several at once", map[string]any{"pollIntervalCapSeconds": "1", "downloadUrlTtlSeconds": "0", "alarmEmail": "ops"},
			[]string{"pollIntervalCapSeconds", "downloadUrlTtlSeconds", "alarmEmail"}},
		{"bool", map[string]any{"reservedConcurrency": "maybe"}, []string{"reservedConcurrency"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadConfig(lookup(tt.context))
			if err == nil {
				t.Fatal("LoadConfig succeeded, want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestCheckInputsWantsBuiltFunctions(t *testing.T) {
	cfg := DefaultConfig()
	cfg.AssetRoot = t.TempDir()
	cfg.WorkflowDefinition = "testdata/job.asl.json"
	err := checkInputs(cfg)
	if err == nil || !strings.Contains(err.Error(), "run `make build` first") {
		t.Fatalf("checkInputs = %v, want a hint to run make build", err)
	}
	root, err := placeholderAssets(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cfg.AssetRoot = root
	if err := checkInputs(cfg); err != nil {
		t.Fatalf("checkInputs with binaries present = %v", err)
	}
}
