package main

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
)

// Config holds everything a user may set for one deployment. Each field is
// read from CDK context (cdk.json "context", or `cdk synth -c key=value`);
// the defaults below apply when a key is absent. docs/operations.md lists the
// keys with examples.
type Config struct {
	// StackName is the CloudFormation stack name (context "stackName").
	StackName string
	// AssetRoot holds one directory per function, each with the `bootstrap`
	// binary that `make build` writes (context "assetRoot", relative to infra/).
	AssetRoot string
	// WorkflowDefinition is the ASL file (context "workflowDefinition").
	WorkflowDefinition string

	// AIStatsBaseURL is the gateway base URL (context "aistatsBaseUrl").
	AIStatsBaseURL string
	// DefaultModel is used when POST /jobs omits a model (context "defaultModel").
	DefaultModel string
	// PollIntervalCapSeconds caps the poll back-off (context "pollIntervalCapSeconds").
	PollIntervalCapSeconds int
	// JobDeadlineSeconds ends a job that is not terminal this long after
	// submit as failed/deadline (context "jobDeadlineSeconds").
	JobDeadlineSeconds int
	// DownloadURLTTLSeconds is the presigned GET lifetime (context "downloadUrlTtlSeconds").
	DownloadURLTTLSeconds int
	// MetricsNamespace is the EMF namespace (context "metricsNamespace").
	MetricsNamespace string

	// AllowedOrigins enables CORS for these browser origins; empty means no
	// CORS configuration (context "allowedOrigins": JSON list or comma list).
	AllowedOrigins []string
	// JWTIssuer and JWTAudience, when both set, switch the job routes from
	// IAM authorization to a JWT authorizer (context "jwtIssuer", "jwtAudience").
	JWTIssuer   string
	JWTAudience []string

	// APIRateLimit and APIBurstLimit throttle every route of the stage;
	// WebhookRateLimit and WebhookBurstLimit throttle the unauthenticated
	// webhook route on its own (context "apiRateLimit", "apiBurstLimit",
	// "webhookRateLimit", "webhookBurstLimit").
	APIRateLimit      float64
	APIBurstLimit     int
	WebhookRateLimit  float64
	WebhookBurstLimit int

	// ReservedConcurrency reserves concurrency for store and watch so a burst
	// cannot overload the gateway's content endpoint; switch it off
	// (context "reservedConcurrency": "false") in accounts whose concurrency
	// limit is still the new-account default of 10.
	ReservedConcurrency bool

	// AlarmEmail subscribes an address to the alarm topic (context "alarmEmail").
	AlarmEmail string
	// AlarmTopicARN sends alarms to an existing SNS topic instead of a new
	// one (context "alarmTopicArn").
	AlarmTopicARN string
	// APIKeySecretARN imports an existing Secrets Manager secret (complete
	// ARN) holding the gateway API key instead of creating one
	// (context "apiKeySecretArn").
	APIKeySecretARN string
	// EventBusName names the custom bus for videojobs domain events
	// (context "eventBusName").
	EventBusName string
	// LogRetentionDays applies to every log group (context "logRetentionDays").
	LogRetentionDays int
	// FailureRateThresholdPercent is the generation failure rate that alarms
	// (context "failureRateThresholdPercent").
	FailureRateThresholdPercent float64
	// SignatureRejectionThreshold is the count of rejected webhooks in five
	// minutes that alarms (context "signatureRejectionThreshold").
	SignatureRejectionThreshold float64
}

// DefaultConfig returns the configuration used when no context is set.
func DefaultConfig() Config {
	return Config{
		StackName:                   "Videojobs",
		AssetRoot:                   "../bin",
		WorkflowDefinition:          "../workflow/job.asl.json",
		AIStatsBaseURL:              "https://api.phaseo.app",
		DefaultModel:                "google/veo-3.1-lite",
		PollIntervalCapSeconds:      300,
		JobDeadlineSeconds:          3600,
		DownloadURLTTLSeconds:       300,
		MetricsNamespace:            "videojobs",
		APIRateLimit:                50,
		APIBurstLimit:               100,
		WebhookRateLimit:            20,
		WebhookBurstLimit:           40,
		ReservedConcurrency:         true,
		EventBusName:                "videojobs",
		LogRetentionDays:            30,
		FailureRateThresholdPercent: 20,
		SignatureRejectionThreshold: 20,
	}
}

// retentionDays maps the retention periods CloudWatch Logs accepts to the
// CDK enum.
var retentionDays = map[int]awslogs.RetentionDays{
	1: awslogs.RetentionDays_ONE_DAY, 3: awslogs.RetentionDays_THREE_DAYS,
	5: awslogs.RetentionDays_FIVE_DAYS, 7: awslogs.RetentionDays_ONE_WEEK,
	14: awslogs.RetentionDays_TWO_WEEKS, 30: awslogs.RetentionDays_ONE_MONTH,
	60: awslogs.RetentionDays_TWO_MONTHS, 90: awslogs.RetentionDays_THREE_MONTHS,
	120: awslogs.RetentionDays_FOUR_MONTHS, 150: awslogs.RetentionDays_FIVE_MONTHS,
	180: awslogs.RetentionDays_SIX_MONTHS, 365: awslogs.RetentionDays_ONE_YEAR,
	400: awslogs.RetentionDays_THIRTEEN_MONTHS, 545: awslogs.RetentionDays_EIGHTEEN_MONTHS,
	731: awslogs.RetentionDays_TWO_YEARS, 1096: awslogs.RetentionDays_THREE_YEARS,
	1827: awslogs.RetentionDays_FIVE_YEARS, 2192: awslogs.RetentionDays_SIX_YEARS,
	2557: awslogs.RetentionDays_SEVEN_YEARS, 2922: awslogs.RetentionDays_EIGHT_YEARS,
	3288: awslogs.RetentionDays_NINE_YEARS, 3653: awslogs.RetentionDays_TEN_YEARS,
}

// Retention returns the log retention as the CDK enum.
func (c Config) Retention() awslogs.RetentionDays { return retentionDays[c.LogRetentionDays] }

// LoadConfig builds a Config from a context lookup: get returns the value set
// for a key and whether it was set. Values may be strings (from -c) or JSON
// values (from cdk.json).
func LoadConfig(get func(key string) (any, bool)) (Config, error) {
	c := DefaultConfig()
	str := func(key string, dst *string) {
		if v, ok := get(key); ok {
			*dst = strings.TrimSpace(fmt.Sprint(v))
		}
	}
	var errs []string
	integer := func(key string, dst *int) {
		v, ok := get(key)
		if !ok {
			return
		}
		n, err := strconv.Atoi(strings.TrimSpace(fmt.Sprint(v)))
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s: %q is not an integer", key, fmt.Sprint(v)))
			return
		}
		*dst = n
	}
	number := func(key string, dst *float64) {
		v, ok := get(key)
		if !ok {
			return
		}
		n, err := strconv.ParseFloat(strings.TrimSpace(fmt.Sprint(v)), 64)
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s: %q is not a number", key, fmt.Sprint(v)))
			return
		}
		*dst = n
	}
	list := func(key string, dst *[]string) {
		v, ok := get(key)
		if !ok {
			return
		}
		got, err := stringList(v)
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s: %v", key, err))
			return
		}
		*dst = got
	}

	str("stackName", &c.StackName)
	str("assetRoot", &c.AssetRoot)
	str("workflowDefinition", &c.WorkflowDefinition)
	str("aistatsBaseUrl", &c.AIStatsBaseURL)
	str("defaultModel", &c.DefaultModel)
	integer("pollIntervalCapSeconds", &c.PollIntervalCapSeconds)
	integer("jobDeadlineSeconds", &c.JobDeadlineSeconds)
	integer("downloadUrlTtlSeconds", &c.DownloadURLTTLSeconds)
	str("metricsNamespace", &c.MetricsNamespace)
	list("allowedOrigins", &c.AllowedOrigins)
	str("jwtIssuer", &c.JWTIssuer)
	list("jwtAudience", &c.JWTAudience)
	number("apiRateLimit", &c.APIRateLimit)
	integer("apiBurstLimit", &c.APIBurstLimit)
	number("webhookRateLimit", &c.WebhookRateLimit)
	integer("webhookBurstLimit", &c.WebhookBurstLimit)
	if v, ok := get("reservedConcurrency"); ok {
		b, err := strconv.ParseBool(strings.TrimSpace(fmt.Sprint(v)))
		if err != nil {
			errs = append(errs, fmt.Sprintf("reservedConcurrency: %q is not true or false", fmt.Sprint(v)))
		}
		c.ReservedConcurrency = b
	}
	str("alarmEmail", &c.AlarmEmail)
	str("alarmTopicArn", &c.AlarmTopicARN)
	str("apiKeySecretArn", &c.APIKeySecretARN)
	str("eventBusName", &c.EventBusName)
	integer("logRetentionDays", &c.LogRetentionDays)
	number("failureRateThresholdPercent", &c.FailureRateThresholdPercent)
	number("signatureRejectionThreshold", &c.SignatureRejectionThreshold)

	errs = append(errs, c.problems()...)
	if len(errs) > 0 {
		return Config{}, fmt.Errorf("invalid videojobs context: %s", strings.Join(errs, "; "))
	}
	return c, nil
}

// problems lists every invalid setting so a user fixes them in one pass.
func (c Config) problems() []string {
	var p []string
	if c.StackName == "" {
		p = append(p, "stackName: must not be empty")
	}
	if !strings.HasPrefix(c.AIStatsBaseURL, "https://") {
		p = append(p, "aistatsBaseUrl: must be an https:// URL (the API key travels in it)")
	}
	if c.DefaultModel == "" {
		p = append(p, "defaultModel: must not be empty")
	}
	if c.PollIntervalCapSeconds < 5 {
		p = append(p, "pollIntervalCapSeconds: must be at least 5")
	}
	if c.JobDeadlineSeconds < 60 {
		p = append(p, "jobDeadlineSeconds: must be at least 60")
	}
	if c.DownloadURLTTLSeconds < 1 || c.DownloadURLTTLSeconds > 604800 {
		p = append(p, "downloadUrlTtlSeconds: must be between 1 and 604800 (the SigV4 presign limit)")
	}
	if c.MetricsNamespace == "" {
		p = append(p, "metricsNamespace: must not be empty")
	}
	for _, o := range c.AllowedOrigins {
		if o != "*" && !strings.HasPrefix(o, "https://") && !strings.HasPrefix(o, "http://") {
			p = append(p, fmt.Sprintf("allowedOrigins: %q is not an origin (scheme://host[:port])", o))
		}
	}
	if (c.JWTIssuer == "") != (len(c.JWTAudience) == 0) {
		p = append(p, "jwtIssuer and jwtAudience: set both to use a JWT authorizer, or neither for IAM")
	}
	if c.JWTIssuer != "" && !strings.HasPrefix(c.JWTIssuer, "https://") {
		p = append(p, "jwtIssuer: must be an https:// URL")
	}
	if c.APIRateLimit <= 0 || c.APIBurstLimit <= 0 || c.WebhookRateLimit <= 0 || c.WebhookBurstLimit <= 0 {
		p = append(p, "apiRateLimit, apiBurstLimit, webhookRateLimit, webhookBurstLimit: must be positive")
	}
	if c.AlarmEmail != "" && !strings.Contains(c.AlarmEmail, "@") {
		p = append(p, fmt.Sprintf("alarmEmail: %q is not an e-mail address", c.AlarmEmail))
	}
	if c.AlarmTopicARN != "" && !strings.HasPrefix(c.AlarmTopicARN, "arn:") {
		p = append(p, "alarmTopicArn: must be an SNS topic ARN")
	}
	if c.APIKeySecretARN != "" && !strings.HasPrefix(c.APIKeySecretARN, "arn:") {
		p = append(p, "apiKeySecretArn: must be the complete ARN of a Secrets Manager secret")
	}
	if c.EventBusName == "" || c.EventBusName == "default" {
		p = append(p, "eventBusName: must name a custom bus (S3 events already use the default bus)")
	}
	if _, ok := retentionDays[c.LogRetentionDays]; !ok {
		p = append(p, fmt.Sprintf("logRetentionDays: %d is not a CloudWatch Logs retention value", c.LogRetentionDays))
	}
	if c.FailureRateThresholdPercent <= 0 || c.FailureRateThresholdPercent > 100 {
		p = append(p, "failureRateThresholdPercent: must be in (0, 100]")
	}
	if c.SignatureRejectionThreshold < 1 {
		p = append(p, "signatureRejectionThreshold: must be at least 1")
	}
	return p
}

// stringList accepts a JSON list (from cdk.json), a JSON list in a string, or
// a comma-separated string (from -c key=a,b).
func stringList(v any) ([]string, error) {
	switch t := v.(type) {
	case []any:
		out := make([]string, 0, len(t))
		for _, e := range t {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("list element %v is not a string", e)
			}
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
		return out, nil
	case string:
		s := strings.TrimSpace(t)
		if strings.HasPrefix(s, "[") {
			var l []any
			if err := json.Unmarshal([]byte(s), &l); err != nil {
				return nil, fmt.Errorf("parse JSON list: %w", err)
			}
			return stringList(l)
		}
		var out []string
		for _, part := range strings.Split(s, ",") {
			if part = strings.TrimSpace(part); part != "" {
				out = append(out, part)
			}
		}
		return out, nil
	default:
		return nil, fmt.Errorf("%v is neither a list nor a string", v)
	}
}
