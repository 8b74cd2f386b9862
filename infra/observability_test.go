package main

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// dashboardWidget is the part of a CloudWatch dashboard widget the tests read.
type dashboardWidget struct {
	Type       string         `json:"type"`
	Y          float64        `json:"y"`
	Properties map[string]any `json:"properties"`
}

// dashboardRows parses the dashboard body and groups its metric widgets
// under the text header above them: row title → the JSON of its widgets.
func dashboardRows(t *testing.T, s *synthesized) (titles []string, rows map[string]string) {
	t.Helper()
	dashboards := s.resources("AWS::CloudWatch::Dashboard")
	if len(dashboards) != 1 {
		t.Fatalf("got %d dashboards, want 1", len(dashboards))
	}
	var body string
	for _, d := range dashboards {
		body = bodyText(props(d)["DashboardBody"])
	}
	var doc struct {
		Widgets []dashboardWidget `json:"widgets"`
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatalf("dashboard body is not JSON: %v\n%s", err, body)
	}
	type header struct {
		title string
		y     float64
	}
	var headers []header
	for _, w := range doc.Widgets {
		if w.Type == "text" {
			md, _ := w.Properties["markdown"].(string)
			title := strings.TrimPrefix(strings.SplitN(md, "\n", 2)[0], "## ")
			headers = append(headers, header{title, w.Y})
		}
	}
	sort.Slice(headers, func(i, j int) bool { return headers[i].y < headers[j].y })
	rows = map[string]string{}
	for _, w := range doc.Widgets {
		if w.Type != "metric" {
			continue
		}
		row := ""
		for _, h := range headers {
			if h.y <= w.Y {
				row = h.title
			}
		}
		if row == "" {
			t.Errorf("widget %v sits above every row header", w.Properties["title"])
			continue
		}
		b, _ := json.Marshal(w.Properties)
		rows[row] += string(b)
	}
	for _, h := range headers {
		titles = append(titles, h.title)
	}
	return titles, rows
}

// bodyText turns the DashboardBody (a string or an Fn::Join around
// references such as the region) into plain JSON text; references become a
// placeholder, which is always inside a JSON string.
func bodyText(v any) string {
	switch b := v.(type) {
	case string:
		return b
	case map[string]any:
		parts := b["Fn::Join"].([]any)[1].([]any)
		var sb strings.Builder
		for _, p := range parts {
			if s, ok := p.(string); ok {
				sb.WriteString(s)
			} else {
				sb.WriteString("REF")
			}
		}
		return sb.String()
	}
	return ""
}

func TestDashboardHasFourRows(t *testing.T) {
	s := defaultStack(t)
	titles, rows := dashboardRows(t, s)
	if diff := cmp.Diff(titles, []string{RowGeneration, RowWebhookDelivery, RowStorage, RowPlatform}); diff != "" {
		t.Fatalf("row headers top to bottom (-got +want):\n%s", diff)
	}
	tests := []struct {
		row        string
		want       []string
		mustNotSee []string
	}{
		{RowGeneration,
			[]string{"JobsSubmitted", "JobsCompleted", `JobsFailed\"', 'Sum'`, "{videojobs,Function,Reason}",
				`TimeToTerminal\"', 'p50'`, `TimeToTerminal\"', 'p90'`},
			[]string{"Webhook", "GatewayDelivery"}},
		{RowWebhookDelivery,
			[]string{"WebhooksReceived", "WebhookDuplicates", "WebhookRetries", "{videojobs,Function,Attempt}",
				"WebhookRejected", "GatewayDeliveryFailures", "GatewayLastResponseStatus"},
			[]string{"JobsFailed", "CopyFailures"}},
		{RowStorage,
			[]string{"BytesCopied", "CopyDuration", "CopyFailures"},
			[]string{"JobsFailed", "Webhook"}},
		{RowPlatform,
			[]string{`"AWS/Lambda","Errors"`, `"AWS/Lambda","Throttles"`, `"AWS/Lambda","Duration"`, `"stat":"p99"`,
				`"AWS/States","ExecutionsFailed"`, `"AWS/States","ExecutionsTimedOut"`,
				`"AWS/SQS","ApproximateNumberOfMessagesVisible"`},
			[]string{"videojobs,Function"}},
	}
	for _, tt := range tests {
		t.Run(tt.row, func(t *testing.T) {
			got := rows[tt.row]
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("row lacks %s", w)
				}
			}
			for _, w := range tt.mustNotSee {
				if strings.Contains(got, w) {
					t.Errorf("row shows %s, which belongs to another row", w)
				}
			}
		})
	}
}

// TestDashboardShowsEveryInternalsMetric keeps the dashboard in step with
// the metric list in docs/internals.md.
func TestDashboardShowsEveryInternalsMetric(t *testing.T) {
	s := defaultStack(t)
	_, rows := dashboardRows(t, s)
	all := strings.Join([]string{rows[RowGeneration], rows[RowWebhookDelivery], rows[RowStorage]}, "")
	raw, err := os.ReadFile("../docs/internals.md")
	if err != nil {
		t.Fatal(err)
	}
	section := string(raw)
	if i := strings.Index(section, "## Metrics"); i >= 0 {
		section = section[i:]
		if j := strings.Index(section[3:], "\n## "); j >= 0 {
			section = section[:j+3]
		}
	} else {
		t.Fatal("docs/internals.md has no Metrics section")
	}
	names := regexp.MustCompile("`([A-Z][A-Za-z]+)`").FindAllStringSubmatch(section, -1)
	dims := map[string]bool{"Function": true, "Reason": true, "Status": true, "Attempt": true}
	var checked int
	for _, m := range names {
		if dims[m[1]] {
			continue
		}
		checked++
		if !strings.Contains(all, fmt.Sprintf(`MetricName=\"%s\"`, m[1])) {
			t.Errorf("metric %s from docs/internals.md is not on the dashboard", m[1])
		}
	}
	if checked < 10 {
		t.Fatalf("read only %d metric names from docs/internals.md", checked)
	}
}

func TestAlarmsNotifyTheTopic(t *testing.T) {
	s := defaultStack(t)
	alarms := s.resources("AWS::CloudWatch::Alarm")
	topics := s.resources("AWS::SNS::Topic")
	if len(topics) != 1 {
		t.Fatalf("got %d topics, want 1", len(topics))
	}
	var topic string
	for id := range topics {
		topic = id
	}
	// Each alarm is identified by what it watches.
	want := map[string]string{
		"generation failure rate":   `"MetricName":"JobsFailed"`,
		"signature rejections":      "SELECT SUM(WebhookRejected)",
		"webhook delivery failures": "SELECT SUM(GatewayDeliveryFailures)",
		"DLQ not empty":             "ApproximateNumberOfMessagesVisible",
		"workflow failures":         "ExecutionsFailed",
		"function errors":           `"MetricName":"Errors"`,
	}
	found := map[string]bool{}
	for id, a := range alarms {
		p := props(a)
		actions := asList(p["AlarmActions"])
		if len(actions) != 1 || ref(actions[0]) != topic {
			t.Errorf("alarm %s actions = %v, want the alarm topic", id, actions)
		}
		b, _ := json.Marshal(p)
		for name, marker := range want {
			if strings.Contains(string(b), marker) {
				found[name] = true
			}
		}
		if p["TreatMissingData"] != "notBreaching" {
			t.Errorf("alarm %s treats missing data as %v; quiet periods are healthy", id, p["TreatMissingData"])
		}
	}
	for name := range want {
		if !found[name] {
			t.Errorf("no alarm on %s", name)
		}
	}
}

func TestOutputs(t *testing.T) {
	s := defaultStack(t)
	outputs := s.json["Outputs"].(map[string]any)
	for _, k := range []string{"ApiUrl", "BucketName", "TableName", "DashboardName", "StateMachineArn"} {
		if _, ok := outputs[k]; !ok {
			t.Errorf("output %s missing (have %v)", k, keys(outputs))
		}
	}
}
