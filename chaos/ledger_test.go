package chaos

import (
	"bytes"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/videojobs/videojobs/internal/job"
	"github.com/videojobs/videojobs/internal/metrics"
	"github.com/videojobs/videojobs/internal/simulator"
)

// goodRow is a job that upheld every guarantee.
func goodRow() Row {
	return Row{
		Index: 1, ID: "vj_01m8dwk47zqydkn87yq14smsy4", Script: Script{Outcome: "completed"},
		Expected: job.Stored, FirstTerminal: job.Stored, Final: job.Stored,
		ProviderJobs: 1, ProviderJobID: "G-01M8DWK48JTK4K31NN0AR2QNZ0", GatewayJobID: "G-01M8DWK48JTK4K31NN0AR2QNZ0", Execution: "SUCCEEDED", StoredOK: true, ForgedClaims: []string{"failed"},
	}
}

// TestViolations: each broken guarantee shows up as a violation, and a run
// that kept them all has none. The chaos run's verdict rests on this.
func TestViolations(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(l *Ledger)
		want   string // substring of the one violation; "" for none
	}{
		{name: "all upheld", mutate: func(*Ledger) {}},
		{name: "stuck", mutate: func(l *Ledger) { l.Rows[0].Stuck, l.Rows[0].FirstTerminal = true, job.Processing }, want: "stuck in processing"},
		{name: "wrong state", mutate: func(l *Ledger) { l.Rows[0].FirstTerminal, l.Rows[0].Final = job.Failed, job.Failed }, want: "ended failed"},
		{name: "terminal state moved", mutate: func(l *Ledger) { l.Rows[0].FirstTerminal = job.Failed }, want: "changed from failed to stored"},
		{name: "two provider jobs", mutate: func(l *Ledger) { l.Rows[0].ProviderJobs = 2 }, want: "2 provider jobs"},
		{name: "bound to another provider job", mutate: func(l *Ledger) { l.Rows[0].ProviderJobID = "" }, want: "bound to provider job"},
		{name: "no provider job", mutate: func(l *Ledger) { l.Rows[0].ProviderJobs = 0 }, want: "0 provider jobs"},
		{name: "forged state applied", mutate: func(l *Ledger) { l.Rows[0].ForgedSeen = true }, want: "only forged callbacks claimed"},
		{name: "object differs", mutate: func(l *Ledger) { l.Rows[0].StoredOK, l.Rows[0].StoredNote = false, "object 1 bytes" }, want: "object 1 bytes"},
		{name: "execution failed", mutate: func(l *Ledger) { l.Rows[0].Execution = "FAILED" }, want: "execution FAILED"},
		{name: "never accepted", mutate: func(l *Ledger) { l.Rows[0].ID, l.Rows[0].Err = "", "POST /jobs never accepted" }, want: "never accepted"},
		{name: "forgery accepted", mutate: func(l *Ledger) {
			l.Forgeries = []Forgery{{Kind: ForgeUnsigned, Status: http.StatusOK, Answers: []int{200}}}
		}, want: "forged unsigned callback"},
		{name: "forgery accepted then refused", mutate: func(l *Ledger) {
			l.Forgeries = []Forgery{{Kind: ForgeWrongSecret, Status: http.StatusUnauthorized, Answers: []int{200, 401}}}
		}, want: "forged wrong_secret callback"},
		{name: "forgery killed then refused", mutate: func(l *Ledger) {
			l.Forgeries = []Forgery{{Kind: ForgeStaleReplay, Status: http.StatusUnauthorized, Answers: []int{500, 401}}}
		}},
		{name: "forgery wrote an item", mutate: func(l *Ledger) { l.ForgedWrites = []string{"JOB#vj_x"} }, want: "wrote item JOB#vj_x"},
		{name: "bad signature accepted", mutate: func(l *Ledger) {
			l.DeliveryAnswers = map[string]map[int]int{simulator.FaultWebhookBadSignature: {200: 1, 401: 3}}
		}, want: "1 webhook.bad_signature deliveries answered 200"},
		{name: "failed job left an object", mutate: func(l *Ledger) {
			r := &l.Rows[0]
			r.Script.Outcome, r.Expected, r.FirstTerminal, r.Final = "failed", job.Failed, job.Failed, job.Failed
			r.StoredOK, r.StoredNote = false, "ended failed with 1 objects"
		}, want: "ended failed with 1 objects"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := &Ledger{Jobs: 1, Rows: []Row{goodRow()}}
			tc.mutate(l)
			got := l.Violations()
			if tc.want == "" {
				if len(got) != 0 {
					t.Errorf("violations %q, want none", got)
				}
				return
			}
			if len(got) != 1 || !strings.Contains(got[0], tc.want) {
				t.Errorf("violations %q, want exactly one containing %q", got, tc.want)
			}
			var out bytes.Buffer
			l.Print(&out)
			if !strings.Contains(out.String(), "VIOLATED") {
				t.Errorf("printed ledger shows no VIOLATED line:\n%s", out.String())
			}
		})
	}
}

// TestReadMetrics reads the EMF lines the functions' metrics.Recorder
// writes, mixed with other log lines, back into totals.
func TestReadMetrics(t *testing.T) {
	var log bytes.Buffer
	log.WriteString("START RequestId: 1 Version: $LATEST\n")
	r := metrics.New(&log, "webhook")
	r.Count(metrics.WebhooksReceived)
	r.Count(metrics.WebhookRejected, metrics.Reason("stale"))
	r.Count(metrics.WebhookRejected, metrics.Reason("stale"))
	r.Count(metrics.WebhookRejected, metrics.Reason("mismatch"))
	r.Count(metrics.WebhookRetries, metrics.Attempt(2))
	if err := r.Flush(); err != nil {
		t.Fatal(err)
	}
	log.WriteString(`timestamp=2026-11-27T06:53:50.451Z level=INFO message="webhook delivery" jobId=vj_x` + "\n")
	s := metrics.New(&log, "store")
	s.Add(metrics.BytesCopied, 100)
	s.Add(metrics.BytesCopied, 50)
	s.Duration(metrics.CopyDuration, 0)
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	path := t.TempDir() + "/fn.log"
	if err := os.WriteFile(path, log.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := ReadMetrics([]string{path})
	if err != nil {
		t.Fatal(err)
	}
	want := Metrics{
		"webhook/WebhooksReceived":                1,
		"webhook/WebhookRejected/Reason=stale":    2,
		"webhook/WebhookRejected/Reason=mismatch": 1,
		"webhook/WebhookRetries/Attempt=2":        1,
		"store/BytesCopied":                       150,
		"store/CopyDuration":                      0,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("metrics (-want +got):\n%s", diff)
	}
	if got, want := got.Sum("webhook/WebhookRejected"), 3.0; got != want {
		t.Errorf("Sum(WebhookRejected) = %v, want %v", got, want)
	}
}

// TestParentFromStat reads the parent PID even when the command name holds
// spaces and parentheses.
func TestParentFromStat(t *testing.T) {
	tests := []struct {
		stat string
		want int
		ok   bool
	}{
		{"22625 (bootstrap) S 22600 22600 22600 0 -1 4194560", 22600, true},
		{"7 (a) b (c)) R 1 7 7 0 -1", 1, true},
		{"garbage", 0, false},
		{"9 (x) S", 0, false},
	}
	for _, tc := range tests {
		got, ok := parentFromStat(tc.stat)
		if got != tc.want || ok != tc.ok {
			t.Errorf("parentFromStat(%q) = %d, %v; want %d, %v", tc.stat, got, ok, tc.want, tc.ok)
		}
	}
}

// TestScripts: the same seed gives the same scripts, the first jobs carry
// the coverage faults, and prompts hold a directive the simulator accepts.
func TestScripts(t *testing.T) {
	a, b := Scripts(7, 40), Scripts(7, 40)
	if diff := cmp.Diff(a, b); diff != "" {
		t.Fatalf("same seed, different scripts:\n%s", diff)
	}
	if diff := cmp.Diff(a, Scripts(8, 40)); diff == "" {
		t.Error("different seeds gave the same scripts")
	}
	for i, s := range a {
		if i < len(coverage) && (len(s.Faults) != 1 || s.Faults[0] != coverage[i] || s.Outcome != "completed") {
			t.Errorf("job %d: script %+v, want completed with fault %s", i, s, coverage[i])
		}
		p, ok, err := simulator.ParseDirective(s.Prompt(i))
		if !ok || err != nil {
			t.Fatalf("job %d: prompt %q: directive ok=%v err=%v", i, s.Prompt(i), ok, err)
		}
		if p.Outcome != s.Outcome || p.Size != s.Size {
			t.Errorf("job %d: directive %+v does not carry script %+v", i, p, s)
		}
	}
}
