package simulator

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"
)

// DefaultAPIKey is the Bearer key the simulator accepts when Config.APIKey is
// empty. It has the gateway's aistats_v1_sk_<kid>_<secret> format.
const DefaultAPIKey = "aistats_v1_sk_simkid_simsecret"

// Protocol variants (Config.Variant).
const (
	VariantAIStats = "ai-stats"
	VariantPhaseo  = "phaseo"
)

// Create response shapes (Settings.CreateResponse), contract §3.2 and §9.
const (
	CreateSlim    = "slim"
	CreateFull    = "full"
	CreateVideoID = "video_id"
	CreateOpenAI  = "openai"
)

// Config configures a simulator. The zero value is usable: real clock, time
// scale 1, the default key, the ai-stats variant, no faults, every job
// completes after 10 s queued and 180 s generating.
type Config struct {
	// Now is the clock; nil means time.Now. Every timestamp the simulator
	// reports or signs comes from it, unscaled.
	Now func() time.Time
	// TimeScale speeds up job progress, webhook retry delays, the webhook
	// delay fault and the background sweep (60 turns a 3-minute generation
	// into 3 s). 0 means 1.
	TimeScale float64
	// Seed drives every random choice (job ids, outcomes, faults, synthetic
	// content), so a run with the same seed and profile reproduces.
	Seed int64
	// APIKey is the one accepted Bearer key; "" means DefaultAPIKey.
	APIKey string
	// ExpiredKeys answer 401 key_expired instead of key_not_found_or_revoked.
	ExpiredKeys []string
	// Variant is VariantAIStats (default) or VariantPhaseo (x-phaseo-*
	// headers, job.status_changed events, endpoint_id subscriptions).
	Variant string
	// Endpoints resolves phaseo "endpoint_id" subscriptions.
	Endpoints map[string]Endpoint
	// BaseURL is the public base for absolute URLs (polling_url, content_url,
	// download_url); "" means http://<Host of the create request>.
	BaseURL string
	// Sweep is the background reconciliation interval in simulated time;
	// 0 means 5 min, negative disables the sweep.
	Sweep time.Duration
	// DeliveryWorkers bounds concurrent webhook deliveries; 0 means 16.
	DeliveryWorkers int
	// WebhookTimeout is the real-time limit for one delivery; 0 means 30 s.
	WebhookTimeout time.Duration
	// RetryDelays are the simulated delays before attempts 2, 3 and 4;
	// nil means 60 s, 300 s, 900 s. Its length+1 is max_attempts.
	RetryDelays []time.Duration
	// HangFor is how long (real time) a hang/timeout fault holds a request;
	// 0 means 35 s. A client that gives up earlier ends it sooner.
	HangFor time.Duration
	// SlowFirstByte is the real delay of the content.slow_first_byte fault;
	// 0 means 2 s.
	SlowFirstByte time.Duration
	// ThrottleBytesPerSecond is the content.throttle rate; 0 means 256 KiB/s.
	ThrottleBytesPerSecond int64
	// WebhookDelayMax is the simulated upper bound of the webhook.delay
	// fault; 0 means 120 s.
	WebhookDelayMax time.Duration
	// MaxRecords bounds each inspection log (requests, deliveries); when
	// full the older half is dropped. 0 means 100 000.
	MaxRecords int
	// HTTPClient sends webhook deliveries; nil means a plain client.
	HTTPClient *http.Client
	// Logger receives one line per delivery attempt; nil discards.
	Logger *slog.Logger

	// Settings can also be changed at run time (Server.Configure,
	// POST /_sim/config). New takes them as given: check a hand-built
	// value with Settings.Validate (ParseProfile and Configure do).
	Settings
}

// Endpoint is a dashboard-registered webhook endpoint (phaseo variant).
type Endpoint struct {
	URL    string `json:"url"`
	Secret string `json:"secret"`
}

// Settings are the knobs that can change while the simulator runs. The JSON
// form is the fault profile accepted by `ai-stats-sim -faults` and
// POST /_sim/config.
type Settings struct {
	// Faults maps fault names (see doc.go) to probabilities in [0,1].
	Faults Faults `json:"faults,omitempty"`
	// Outcomes weights the terminal outcome of jobs that no directive or
	// rule scripts, e.g. {"completed":0.9,"failed":0.1}. Empty: completed.
	Outcomes map[string]float64 `json:"outcomes,omitempty"`
	// Rules script jobs by model or prompt; the first match wins.
	Rules []Rule `json:"rules,omitempty"`
	// Defaults apply to every job before rules and directives.
	Defaults Plan `json:"defaults,omitzero"`
	// Disabled makes every /v1 route answer 501 video_api_temporarily_disabled.
	Disabled bool `json:"disabled,omitempty"`
	// CreateResponse is slim (default), full, video_id or openai.
	CreateResponse string `json:"create_response,omitempty"`
	// StatusWords is "canonical" (queued/processing, default) or "legacy"
	// (pending/in_progress).
	StatusWords string `json:"status_words,omitempty"`
	// CreatedAt is "unix" (default), "iso" or "db" (2026-06-17 16:00:00+00).
	CreatedAt string `json:"created_at,omitempty"`
	// NullProgress reports progress null while processing, for every job.
	NullProgress bool `json:"null_progress,omitempty"`
}

// Rule scripts the jobs it matches. Empty match fields match everything.
type Rule struct {
	Model          string `json:"model,omitempty"`
	PromptContains string `json:"prompt_contains,omitempty"`
	Plan           Plan   `json:"plan"`
}

// Plan is a job's script. Zero (nil) fields keep the value from the layer
// below (built-in defaults, Settings.Defaults, rule, prompt directive).
type Plan struct {
	// Outcome is completed, failed, cancelled or expired.
	Outcome string `json:"outcome,omitempty"`
	// Queue is the simulated time spent queued; Duration the simulated
	// generation time after that. The terminal outcome happens at
	// Queue+Duration.
	Queue    *Duration `json:"queue,omitempty"`
	Duration *Duration `json:"duration,omitempty"`
	// Size is the content size in bytes; 0 serves the embedded sample MP4.
	// Larger sizes serve the sample followed by a seeded MP4 "free" box.
	Size int64 `json:"size,omitempty"`
	// Faults are fault names forced (probability 1) for this job.
	Faults []string `json:"faults,omitempty"`
	// Provider overrides the provider derived from the model prefix.
	Provider string `json:"provider,omitempty"`
	// Cancel is "yes" or "no" to override provider cancel support.
	Cancel string `json:"cancel,omitempty"`
	// Progress "none" reports progress null while processing.
	Progress string `json:"progress,omitempty"`
	// ContentType overrides video/mp4.
	ContentType string `json:"content_type,omitempty"`
	// Error is the upstream error message of a failed job.
	Error string `json:"error,omitempty"`
}

// Duration is a time.Duration that reads "180s", "3m" or a number of seconds.
type Duration time.Duration

// UnmarshalJSON accepts a Go duration string or a number of seconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		v, err := parseDuration(s)
		if err != nil {
			return err
		}
		*d = Duration(v)
		return nil
	}
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return fmt.Errorf("duration: want a string like \"180s\" or seconds: %w", err)
	}
	*d = Duration(f * float64(time.Second))
	return nil
}

// MarshalJSON writes the Go duration string.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

func parseDuration(s string) (time.Duration, error) {
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return time.Duration(f * float64(time.Second)), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("duration %q: %w", s, err)
	}
	return d, nil
}

// Fault names. Per run they take a probability (Settings.Faults); per job a
// prompt directive or rule forces them.
const (
	FaultWebhookDrop           = "webhook.drop"
	FaultWebhookDuplicate      = "webhook.duplicate"
	FaultWebhookLostAck        = "webhook.lost_ack"
	FaultWebhookReorder        = "webhook.reorder"
	FaultWebhookDelay          = "webhook.delay"
	FaultWebhookBadSignature   = "webhook.bad_signature"
	FaultWebhookStaleTimestamp = "webhook.stale_timestamp"
	FaultWebhookForeign        = "webhook.foreign"

	FaultPoll5xx             = "poll.5xx"
	FaultPoll5xxHTML         = "poll.5xx_html"
	FaultPoll429             = "poll.429"
	FaultPoll429NoRetryAfter = "poll.429_no_retry_after"
	FaultPollKeyLimit        = "poll.key_limit"
	FaultPollHang            = "poll.hang"
	FaultPollNotReady        = "poll.not_ready"

	FaultCreate5xx     = "create.5xx"
	FaultCreateTimeout = "create.timeout"
	FaultCreate402     = "create.402"
	FaultCreate503     = "create.503"

	FaultContentSlowFirstByte = "content.slow_first_byte"
	FaultContentThrottle      = "content.throttle"
	FaultContentTruncateCut   = "content.truncate_cut"
	FaultContentTruncateShort = "content.truncate_short"
	FaultContentWrongType     = "content.wrong_type"
	FaultContentExpiredURL    = "content.expired_url"

	FaultListTombstones = "list.tombstones"
)

// faultAliases are the short names accepted in prompt directives.
var faultAliases = map[string]string{
	"drop_webhooks":      FaultWebhookDrop,
	"duplicate_webhooks": FaultWebhookDuplicate,
	"lost_ack":           FaultWebhookLostAck,
	"reorder":            FaultWebhookReorder,
	"delay_webhooks":     FaultWebhookDelay,
	"bad_signature":      FaultWebhookBadSignature,
	"stale_timestamp":    FaultWebhookStaleTimestamp,
	"foreign_callbacks":  FaultWebhookForeign,
	"poll_5xx":           FaultPoll5xx,
	"poll_5xx_html":      FaultPoll5xxHTML,
	"poll_429":           FaultPoll429,
	"poll_hang":          FaultPollHang,
	"poll_not_ready":     FaultPollNotReady,
	"key_limit":          FaultPollKeyLimit,
	"slow_first_byte":    FaultContentSlowFirstByte,
	"throttle":           FaultContentThrottle,
	"truncate":           FaultContentTruncateCut,
	"short_length":       FaultContentTruncateShort,
	"wrong_type":         FaultContentWrongType,
	"expired_url":        FaultContentExpiredURL,
}

var knownFaults = map[string]bool{}

func init() {
	for _, f := range []string{
		FaultWebhookDrop, FaultWebhookDuplicate, FaultWebhookLostAck, FaultWebhookReorder,
		FaultWebhookDelay, FaultWebhookBadSignature, FaultWebhookStaleTimestamp, FaultWebhookForeign,
		FaultPoll5xx, FaultPoll5xxHTML, FaultPoll429, FaultPoll429NoRetryAfter, FaultPollKeyLimit,
		FaultPollHang, FaultPollNotReady,
		FaultCreate5xx, FaultCreateTimeout, FaultCreate402, FaultCreate503,
		FaultContentSlowFirstByte, FaultContentThrottle, FaultContentTruncateCut,
		FaultContentTruncateShort, FaultContentWrongType, FaultContentExpiredURL,
		FaultListTombstones,
	} {
		knownFaults[f] = true
	}
}

// FaultNames lists every fault name, sorted.
func FaultNames() []string {
	out := make([]string, 0, len(knownFaults))
	for f := range knownFaults {
		out = append(out, f)
	}
	sort.Strings(out)
	return out
}

// Faults maps fault names to probabilities.
type Faults map[string]float64

// Validate rejects unknown names and probabilities outside [0,1].
func (f Faults) Validate() error {
	for name, p := range f {
		if !knownFaults[name] {
			return fmt.Errorf("unknown fault %q (known: %s)", name, strings.Join(FaultNames(), ", "))
		}
		if p < 0 || p > 1 {
			return fmt.Errorf("fault %s: probability %v outside [0,1]", name, p)
		}
	}
	return nil
}

func canonicalFault(name string) (string, error) {
	name = strings.ToLower(strings.TrimSpace(name))
	if a, ok := faultAliases[name]; ok {
		return a, nil
	}
	if knownFaults[name] {
		return name, nil
	}
	return "", fmt.Errorf("unknown fault %q", name)
}

var outcomes = map[string]bool{"completed": true, "failed": true, "cancelled": true, "expired": true}

// Validate checks the settings a profile or POST /_sim/config supplies.
func (s Settings) Validate() error {
	if err := s.Faults.Validate(); err != nil {
		return err
	}
	for o, w := range s.Outcomes {
		if !outcomes[o] {
			return fmt.Errorf("outcome %q: want completed, failed, cancelled or expired", o)
		}
		if w < 0 {
			return fmt.Errorf("outcome %s: negative weight", o)
		}
	}
	for i, r := range s.Rules {
		if err := r.Plan.validate(); err != nil {
			return fmt.Errorf("rule %d: %w", i, err)
		}
	}
	if err := s.Defaults.validate(); err != nil {
		return fmt.Errorf("defaults: %w", err)
	}
	switch s.CreateResponse {
	case "", CreateSlim, CreateFull, CreateVideoID, CreateOpenAI:
	default:
		return fmt.Errorf("create_response %q: want slim, full, video_id or openai", s.CreateResponse)
	}
	switch s.StatusWords {
	case "", "canonical", "legacy":
	default:
		return fmt.Errorf("status_words %q: want canonical or legacy", s.StatusWords)
	}
	switch s.CreatedAt {
	case "", "unix", "iso", "db":
	default:
		return fmt.Errorf("created_at %q: want unix, iso or db", s.CreatedAt)
	}
	return nil
}

func (p Plan) validate() error {
	if p.Outcome != "" && !outcomes[p.Outcome] {
		return fmt.Errorf("outcome %q: want completed, failed, cancelled or expired", p.Outcome)
	}
	if p.Queue != nil && *p.Queue < 0 || p.Duration != nil && *p.Duration < 0 || p.Size < 0 {
		return fmt.Errorf("negative queue, duration or size")
	}
	for _, f := range p.Faults {
		if _, err := canonicalFault(f); err != nil {
			return err
		}
	}
	switch p.Cancel {
	case "", "yes", "no":
	default:
		return fmt.Errorf("cancel %q: want yes or no", p.Cancel)
	}
	switch p.Progress {
	case "", "none", "provider":
	default:
		return fmt.Errorf("progress %q: want none or provider", p.Progress)
	}
	return nil
}

// overlay returns p with the non-zero fields of o on top.
func (p Plan) overlay(o Plan) Plan {
	if o.Outcome != "" {
		p.Outcome = o.Outcome
	}
	if o.Queue != nil {
		p.Queue = o.Queue
	}
	if o.Duration != nil {
		p.Duration = o.Duration
	}
	if o.Size != 0 {
		p.Size = o.Size
	}
	p.Faults = append(append([]string(nil), p.Faults...), o.Faults...)
	if o.Provider != "" {
		p.Provider = o.Provider
	}
	if o.Cancel != "" {
		p.Cancel = o.Cancel
	}
	if o.Progress != "" {
		p.Progress = o.Progress
	}
	if o.ContentType != "" {
		p.ContentType = o.ContentType
	}
	if o.Error != "" {
		p.Error = o.Error
	}
	return p
}

// ParseProfile reads a fault profile: either a Settings object, or a bare
// {"<fault>": probability} map.
func ParseProfile(b []byte) (Settings, error) {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(b, &probe); err != nil {
		return Settings{}, fmt.Errorf("parse profile: %w", err)
	}
	bare := len(probe) > 0
	for k := range probe {
		if !knownFaults[k] {
			bare = false
		}
	}
	var s Settings
	if bare {
		if err := json.Unmarshal(b, &s.Faults); err != nil {
			return Settings{}, fmt.Errorf("parse profile faults: %w", err)
		}
	} else {
		dec := json.NewDecoder(strings.NewReader(string(b)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&s); err != nil {
			return Settings{}, fmt.Errorf("parse profile: %w", err)
		}
	}
	if err := s.Validate(); err != nil {
		return Settings{}, fmt.Errorf("profile: %w", err)
	}
	return s, nil
}

// LoadProfile reads a fault profile given inline (starting with "{") or as
// a file path.
func LoadProfile(arg string) (Settings, error) {
	arg = strings.TrimSpace(arg)
	if strings.HasPrefix(arg, "{") {
		return ParseProfile([]byte(arg))
	}
	b, err := os.ReadFile(arg)
	if err != nil {
		return Settings{}, fmt.Errorf("read profile: %w", err)
	}
	return ParseProfile(b)
}
