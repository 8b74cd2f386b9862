// Package metrics records videojobs metrics in CloudWatch Embedded Metric
// Format (EMF): JSON lines on a Lambda's stdout that CloudWatch Logs turns
// into metrics, with no API calls and no latency on the request path.
//
// A Recorder collects observations during an invocation; Flush writes them
// as EMF and empties the recorder. Every metric carries the dimension
// Function; Reason, Status and Attempt are added where docs/internals.md
// names them. Each metric with extra dimensions is also published under
// Function alone, so alarms and dashboards can use the total without
// knowing every reason.
//
// EMF keeps dimension values at the top level of the JSON document, so one
// line can carry only one value per dimension: Flush writes one line per
// distinct set of dimension values (usually one or two per invocation).
//
// See https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html.
package metrics

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DefaultNamespace is the CloudWatch namespace unless METRICS_NAMESPACE says
// otherwise.
const DefaultNamespace = "videojobs"

// Metric names (docs/internals.md "Metrics").
const (
	JobsSubmitted             = "JobsSubmitted"
	JobsCompleted             = "JobsCompleted"
	JobsFailed                = "JobsFailed" // Reason
	TimeToTerminal            = "TimeToTerminal"
	Polls                     = "Polls"
	ProviderErrors            = "ProviderErrors" // Status
	WebhooksReceived          = "WebhooksReceived"
	WebhookDuplicates         = "WebhookDuplicates"
	WebhookRejected           = "WebhookRejected" // Reason
	WebhookRetries            = "WebhookRetries"  // Attempt
	WebhookLate               = "WebhookLate"
	GatewayDeliveryFailures   = "GatewayDeliveryFailures"
	GatewayLastResponseStatus = "GatewayLastResponseStatus"
	BytesCopied               = "BytesCopied"
	CopyDuration              = "CopyDuration"
	CopyFailures              = "CopyFailures"
)

// Dimension names.
const (
	DimFunction = "Function"
	DimReason   = "Reason"
	DimStatus   = "Status"
	DimAttempt  = "Attempt"
)

// Units, as CloudWatch spells them.
const (
	UnitCount        = "Count"
	UnitMilliseconds = "Milliseconds"
	UnitBytes        = "Bytes"
	UnitNone         = "None"
)

// units gives each metric its unit; a name not listed is recorded with
// UnitNone.
var units = map[string]string{
	JobsSubmitted:             UnitCount,
	JobsCompleted:             UnitCount,
	JobsFailed:                UnitCount,
	TimeToTerminal:            UnitMilliseconds,
	Polls:                     UnitCount,
	ProviderErrors:            UnitCount,
	WebhooksReceived:          UnitCount,
	WebhookDuplicates:         UnitCount,
	WebhookRejected:           UnitCount,
	WebhookRetries:            UnitCount,
	WebhookLate:               UnitCount,
	GatewayDeliveryFailures:   UnitCount,
	GatewayLastResponseStatus: UnitNone,
	BytesCopied:               UnitBytes,
	CopyDuration:              UnitMilliseconds,
	CopyFailures:              UnitCount,
}

// Unit returns the unit a metric is recorded with.
func Unit(name string) string {
	if u, ok := units[name]; ok {
		return u
	}
	return UnitNone
}

// Dimension is an extra dimension on one observation.
type Dimension struct{ Name, Value string }

// Reason is the Reason dimension (JobsFailed, WebhookRejected).
func Reason(r string) Dimension { return Dimension{DimReason, r} }

// Status is the Status dimension (ProviderErrors), an HTTP status or a
// class such as "network".
func Status(s string) Dimension { return Dimension{DimStatus, s} }

// Attempt is the Attempt dimension (WebhookRetries).
func Attempt(n int) Dimension { return Dimension{DimAttempt, strconv.Itoa(n)} }

// maxValues is EMF's limit of values per metric in one document.
const maxValues = 100

// Recorder collects metrics and writes them as EMF. It is safe for
// concurrent use.
type Recorder struct {
	w         io.Writer
	namespace string
	function  string
	now       func() time.Time

	mu     sync.Mutex
	groups map[string]*group // by canonical dimension values
}

// group is the observations sharing one set of dimension values.
type group struct {
	dims   []Dimension // extra dimensions, sorted by name
	values map[string][]float64
}

// Option configures a Recorder.
type Option func(*Recorder)

// WithNamespace sets the CloudWatch namespace; empty keeps the default.
func WithNamespace(ns string) Option {
	return func(r *Recorder) {
		if ns != "" {
			r.namespace = ns
		}
	}
}

// WithClock sets the clock that timestamps flushed lines.
func WithClock(now func() time.Time) Option { return func(r *Recorder) { r.now = now } }

// New returns a Recorder that writes to w (os.Stdout in a Lambda) for the
// named function.
func New(w io.Writer, function string, opts ...Option) *Recorder {
	r := &Recorder{w: w, namespace: DefaultNamespace, function: function, now: time.Now, groups: map[string]*group{}}
	for _, o := range opts {
		o(r)
	}
	return r
}

// Add records value for the metric name. Counts with the same name and
// dimensions are summed; other units keep every value, so CloudWatch sees
// each observation (a copy's duration, say).
func (r *Recorder) Add(name string, value float64, dims ...Dimension) {
	dims = slices.Clone(dims)
	slices.SortFunc(dims, func(a, b Dimension) int { return strings.Compare(a.Name, b.Name) })
	var id strings.Builder
	for _, d := range dims {
		fmt.Fprintf(&id, "%q=%q;", d.Name, d.Value)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	g := r.groups[id.String()]
	if g == nil {
		g = &group{dims: dims, values: map[string][]float64{}}
		r.groups[id.String()] = g
	}
	if vs := g.values[name]; Unit(name) == UnitCount && len(vs) > 0 {
		vs[0] += value
		return
	}
	g.values[name] = append(g.values[name], value)
}

// Count adds 1 to the metric name.
func (r *Recorder) Count(name string, dims ...Dimension) { r.Add(name, 1, dims...) }

// Duration records d in milliseconds.
func (r *Recorder) Duration(name string, d time.Duration, dims ...Dimension) {
	r.Add(name, float64(d)/float64(time.Millisecond), dims...)
}

// Flush writes everything recorded since the last Flush, one EMF line per
// set of dimension values, and empties the recorder. It writes nothing when
// nothing was recorded.
func (r *Recorder) Flush() error {
	r.mu.Lock()
	groups := r.groups
	r.groups = map[string]*group{}
	r.mu.Unlock()

	ts := r.now().UnixMilli()
	var out []byte
	for _, id := range slices.Sorted(maps.Keys(groups)) {
		for _, doc := range r.documents(groups[id], ts) {
			line, err := json.Marshal(doc)
			if err != nil {
				return fmt.Errorf("flush metrics: %w", err)
			}
			out = append(append(out, line...), '\n')
		}
	}
	if len(out) == 0 {
		return nil
	}
	// One Write, so lines from concurrent flushes never interleave.
	if _, err := r.w.Write(out); err != nil {
		return fmt.Errorf("flush metrics: %w", err)
	}
	return nil
}

type metricDirective struct {
	Name string `json:"Name"`
	Unit string `json:"Unit"`
}

type directive struct {
	Namespace  string            `json:"Namespace"`
	Dimensions [][]string        `json:"Dimensions"`
	Metrics    []metricDirective `json:"Metrics"`
}

type awsMeta struct {
	Timestamp         int64       `json:"Timestamp"`
	CloudWatchMetrics []directive `json:"CloudWatchMetrics"`
}

// documents renders one group as EMF documents; more than one only when a
// metric has more values than one document may carry.
func (r *Recorder) documents(g *group, ts int64) []map[string]any {
	dimSet := []string{DimFunction}
	for _, d := range g.dims {
		dimSet = append(dimSet, d.Name)
	}
	dimSets := [][]string{dimSet}
	if len(dimSet) > 1 {
		dimSets = append(dimSets, []string{DimFunction})
	}
	names := slices.Sorted(maps.Keys(g.values))

	var docs []map[string]any
	for chunk := 0; ; chunk++ {
		doc := map[string]any{DimFunction: r.function}
		for _, d := range g.dims {
			doc[d.Name] = d.Value
		}
		var ms []metricDirective
		for _, name := range names {
			vs := g.values[name]
			lo := chunk * maxValues
			if lo >= len(vs) {
				continue
			}
			vs = vs[lo:min(lo+maxValues, len(vs))]
			ms = append(ms, metricDirective{Name: name, Unit: Unit(name)})
			if len(vs) == 1 {
				doc[name] = vs[0]
			} else {
				doc[name] = vs
			}
		}
		if len(ms) == 0 {
			return docs
		}
		doc["_aws"] = awsMeta{
			Timestamp:         ts,
			CloudWatchMetrics: []directive{{Namespace: r.namespace, Dimensions: dimSets, Metrics: ms}},
		}
		docs = append(docs, doc)
	}
}
