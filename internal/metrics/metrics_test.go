package metrics

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// emf is the EMF document shape the tests decode lines into.
type emf struct {
	AWS struct {
		Timestamp         int64 `json:"Timestamp"`
		CloudWatchMetrics []struct {
			Namespace  string     `json:"Namespace"`
			Dimensions [][]string `json:"Dimensions"`
			Metrics    []struct {
				Name string `json:"Name"`
				Unit string `json:"Unit"`
			} `json:"Metrics"`
		} `json:"CloudWatchMetrics"`
	} `json:"_aws"`
}

// decode parses each line into its _aws metadata and its top-level members.
func decode(t *testing.T, out string) ([]emf, []map[string]any) {
	t.Helper()
	var metas []emf
	var roots []map[string]any
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		var m emf
		var root map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		if err := json.Unmarshal([]byte(line), &root); err != nil {
			t.Fatal(err)
		}
		delete(root, "_aws")
		metas = append(metas, m)
		roots = append(roots, root)
	}
	return metas, roots
}

func TestFlushWritesEMF(t *testing.T) {
	var buf bytes.Buffer
	r := New(&buf, "store", WithClock(func() time.Time { return t0 }))
	r.Count(JobsCompleted)
	r.Add(BytesCopied, 1000)
	r.Duration(CopyDuration, 1500*time.Millisecond)
	r.Duration(CopyDuration, 250*time.Millisecond)
	if err := r.Flush(); err != nil {
		t.Fatal(err)
	}
	metas, roots := decode(t, buf.String())
	if len(metas) != 1 {
		t.Fatalf("%d lines, want 1:\n%s", len(metas), buf.String())
	}
	m := metas[0].AWS
	if m.Timestamp != t0.UnixMilli() {
		t.Errorf("Timestamp %d, want %d", m.Timestamp, t0.UnixMilli())
	}
	if len(m.CloudWatchMetrics) != 1 {
		t.Fatalf("%d directives, want 1", len(m.CloudWatchMetrics))
	}
	d := m.CloudWatchMetrics[0]
	if d.Namespace != DefaultNamespace {
		t.Errorf("namespace %q, want %q", d.Namespace, DefaultNamespace)
	}
	if diff := cmp.Diff(d.Dimensions, [][]string{{"Function"}}); diff != "" {
		t.Errorf("dimensions (-got +want):\n%s", diff)
	}
	units := map[string]string{}
	for _, mm := range d.Metrics {
		units[mm.Name] = mm.Unit
	}
	wantUnits := map[string]string{BytesCopied: "Bytes", CopyDuration: "Milliseconds", JobsCompleted: "Count"}
	if diff := cmp.Diff(units, wantUnits); diff != "" {
		t.Errorf("metric units (-got +want):\n%s", diff)
	}
	wantRoot := map[string]any{
		"Function":    "store",
		JobsCompleted: 1.0,
		BytesCopied:   1000.0,
		CopyDuration:  []any{1500.0, 250.0},
	}
	if diff := cmp.Diff(roots[0], wantRoot); diff != "" {
		t.Errorf("document members (-got +want):\n%s", diff)
	}

	buf.Reset()
	if err := r.Flush(); err != nil || buf.Len() != 0 {
		t.Errorf("second Flush wrote %q, err %v; want nothing (the recorder was emptied)", buf.String(), err)
	}
}

func TestDimensionsSplitLines(t *testing.T) {
	var buf bytes.Buffer
	r := New(&buf, "webhook", WithNamespace("custom"), WithClock(func() time.Time { return t0 }))
	r.Count(WebhooksReceived)
	r.Count(WebhooksReceived)
	r.Count(WebhookRejected, Reason("bad_signature"))
	r.Count(WebhookRejected, Reason("stale"))
	r.Count(WebhookRejected, Reason("bad_signature"))
	r.Count(WebhookRetries, Attempt(3))
	r.Count(ProviderErrors, Status("503"))
	if err := r.Flush(); err != nil {
		t.Fatal(err)
	}
	metas, roots := decode(t, buf.String())

	type line struct {
		Root       map[string]any
		Dimensions [][]string
		Namespace  string
	}
	var got []line
	for i := range metas {
		d := metas[i].AWS.CloudWatchMetrics[0]
		got = append(got, line{roots[i], d.Dimensions, d.Namespace})
	}
	byExtra := [][]string{{"Function", "Reason"}, {"Function"}}
	want := []line{
		{map[string]any{"Function": "webhook", "WebhooksReceived": 2.0}, [][]string{{"Function"}}, "custom"},
		{map[string]any{"Function": "webhook", "Attempt": "3", "WebhookRetries": 1.0}, [][]string{{"Function", "Attempt"}, {"Function"}}, "custom"},
		{map[string]any{"Function": "webhook", "Reason": "bad_signature", "WebhookRejected": 2.0}, byExtra, "custom"},
		{map[string]any{"Function": "webhook", "Reason": "stale", "WebhookRejected": 1.0}, byExtra, "custom"},
		{map[string]any{"Function": "webhook", "Status": "503", "ProviderErrors": 1.0}, [][]string{{"Function", "Status"}, {"Function"}}, "custom"},
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("lines (-got +want):\n%s", diff)
	}
}

func TestManyValuesSplitAtEMFLimit(t *testing.T) {
	var buf bytes.Buffer
	r := New(&buf, "store")
	for i := range 150 {
		r.Add(CopyDuration, float64(i))
	}
	if err := r.Flush(); err != nil {
		t.Fatal(err)
	}
	_, roots := decode(t, buf.String())
	var n int
	for _, root := range roots {
		vs, _ := root[CopyDuration].([]any)
		if len(vs) > maxValues {
			t.Errorf("a line carries %d values, EMF allows %d", len(vs), maxValues)
		}
		n += len(vs)
	}
	if len(roots) != 2 || n != 150 {
		t.Errorf("%d lines with %d values, want 2 lines with 150", len(roots), n)
	}
}

func TestConcurrentRecording(t *testing.T) {
	var buf bytes.Buffer
	r := New(&buf, "watch")
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				r.Count(Polls)
			}
		}()
	}
	wg.Wait()
	if err := r.Flush(); err != nil {
		t.Fatal(err)
	}
	_, roots := decode(t, buf.String())
	if got := roots[0][Polls]; got != 800.0 {
		t.Errorf("Polls = %v, want 800", got)
	}
}

func TestEveryNameHasAUnit(t *testing.T) {
	names := []string{JobsSubmitted, JobsCompleted, JobsFailed, TimeToTerminal, Polls, ProviderErrors,
		WebhooksReceived, WebhookDuplicates, WebhookRejected, WebhookRetries, WebhookLate,
		GatewayDeliveryFailures, GatewayLastResponseStatus, BytesCopied, CopyDuration, CopyFailures}
	for _, n := range names {
		if _, ok := units[n]; !ok {
			t.Errorf("metric %s has no unit", n)
		}
	}
	if len(units) != len(names) {
		t.Errorf("%d units for %d names", len(units), len(names))
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("closed") }

func TestFlushReportsWriteError(t *testing.T) {
	r := New(failingWriter{}, "jobs")
	r.Count(JobsSubmitted)
	if err := r.Flush(); err == nil {
		t.Error("Flush to a failing writer returned nil")
	}
}
