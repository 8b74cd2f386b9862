package chaos

import (
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/videojobs/videojobs/internal/job"
	"github.com/videojobs/videojobs/internal/simulator"
)

// Row is one job of a run.
type Row struct {
	Index  int
	Script Script
	ID     string
	// ProviderJobID is the gateway job the bundle recorded.
	ProviderJobID string
	// SubmitStatuses are the POST /jobs answers, retries included (0: no
	// answer).
	SubmitStatuses []int
	Expected       job.State
	// FirstTerminal is the state the job was first seen terminal in;
	// Final the state read again after the run settled.
	FirstTerminal, Final job.State
	// ProviderJobs counts the gateway jobs made with this job's webhook
	// URL: one per submission, never more.
	ProviderJobs int
	// GatewayJobID is the one gateway job made for this submission; the
	// job must be bound to it.
	GatewayJobID string
	Stuck        bool
	Took         time.Duration
	// Execution is the Step Functions execution's status ("none" without one).
	Execution string
	// StoredOK: the S3 object's sha256 and size equal the gateway's, and
	// the job and object metadata agree. StoredNote says what differs.
	StoredOK   bool
	StoredNote string
	SHA256     string
	// ForgedClaims are the states forged callbacks claimed; ForgedSeen is
	// set if the job's history ever entered one.
	ForgedClaims []string
	ForgedSeen   bool
	Deliveries   job.Deliveries
	// TerminalSource is who made the job's last terminal (or completed)
	// transition: webhook, poll, workflow or api.
	TerminalSource string
	// Reconciled: the create was ambiguous and the job was matched to its
	// provider job by webhook URL.
	Reconciled bool
	// History is the job's transitions with their sources; Trace the
	// execution's path, for jobs that went wrong.
	History, Trace string
	Err            string
}

// Ledger is the record of one chaos run.
type Ledger struct {
	Seed              int64
	Jobs              int
	Profile           simulator.Settings
	KillProbabilities map[string]float64
	// Elapsed is the time until every job ended; Total adds the settle
	// and the checks.
	Elapsed, Total time.Duration
	Rows           []Row
	Forgeries      []Forgery
	// ForgedWrites are table items a forgery made (none allowed).
	ForgedWrites []string
	// Items is the number of items in the table at the end.
	Items int
	// Faults counts the faults the simulator injected (its own request
	// and delivery records).
	Faults map[string]int
	// DeliveryAnswers counts, per delivery fault, the receiver's HTTP
	// answers (0: no answer).
	DeliveryAnswers map[string]map[int]int
	// PollFaults counts faulted status GETs; PollFaultsRecovered those
	// followed by a successful GET of the same job.
	PollFaults, PollFaultsRecovered int
	// AmbiguousCreates counts creates the gateway made a job for and then
	// failed (5xx, cut connection); AmbiguousAdopted those whose job the
	// bundle adopted as its one provider job (at submit or a later poll).
	AmbiguousCreates, AmbiguousAdopted int
	// Metrics are the functions' EMF totals.
	Metrics Metrics
	Kills   map[string]KillStats
	// SimPending is the number of gateway deliveries still scheduled when
	// the run stopped waiting.
	SimPending int
}

// Violations lists every broken guarantee, one line each, empty when the
// run upheld them all.
func (l *Ledger) Violations() []string {
	var out []string
	add := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	for _, r := range l.Rows {
		name := fmt.Sprintf("job #%d %s", r.Index, r.ID)
		switch {
		case r.ID == "":
			add("%s: never accepted (%v): %s", name, r.SubmitStatuses, r.Err)
			continue
		case r.Err != "":
			add("%s: %s", name, r.Err)
		}
		if r.Stuck {
			add("%s: stuck in %s after %s (script %s; history %s; execution %s: %s)", name, r.FirstTerminal, r.Took.Round(time.Second), r.Script.Prompt(r.Index), r.History, r.Execution, r.Trace)
		} else if r.Final != r.FirstTerminal {
			add("%s: terminal state changed from %s to %s", name, r.FirstTerminal, r.Final)
		}
		if !r.Stuck && r.Final != r.Expected {
			add("%s: ended %s, scripted outcome %s wants %s (%s; history %s; execution: %s)", name, r.Final, r.Script.Outcome, r.Expected, r.Script.Prompt(r.Index), r.History, r.Trace)
		}
		if r.ProviderJobs != 1 {
			add("%s: %d provider jobs for one submission", name, r.ProviderJobs)
		} else if r.ProviderJobID != r.GatewayJobID {
			add("%s: bound to provider job %q, but the gateway made %s for it", name, r.ProviderJobID, r.GatewayJobID)
		}
		if r.ForgedSeen {
			add("%s: history entered a state only forged callbacks claimed (%v)", name, r.ForgedClaims)
		}
		if r.StoredNote != "" {
			add("%s: %s", name, r.StoredNote)
		}
		if r.Execution != "none" && r.Execution != "SUCCEEDED" {
			add("%s: workflow execution %s: %s", name, r.Execution, r.Trace)
		}
	}
	for _, f := range l.Forgeries {
		if !forgeryRefused(f) {
			add("forged %s callback at job %s answered %v %s, want 401", f.Kind, f.JobID, f.Answers, f.Err)
		}
	}
	for _, pk := range l.ForgedWrites {
		add("a forged callback wrote item %s", pk)
	}
	for _, fault := range []string{simulator.FaultWebhookBadSignature, simulator.FaultWebhookStaleTimestamp, simulator.FaultWebhookForeign} {
		for status, n := range l.DeliveryAnswers[fault] {
			if status >= 200 && status < 300 {
				add("%d %s deliveries answered %d, want 401", n, fault, status)
			}
		}
	}
	return out
}

// forgeryRefused: the forgery's last answer was 401 and no answer was 2xx
// (earlier 5xx answers are the harness's own kills).
func forgeryRefused(f Forgery) bool {
	accepted := slices.ContainsFunc(f.Answers, func(s int) bool { return s >= 200 && s < 300 })
	return f.Status == http.StatusUnauthorized && !accepted
}

// Count helpers over the rows.
func (l *Ledger) count(pred func(Row) bool) int {
	n := 0
	for _, r := range l.Rows {
		if pred(r) {
			n++
		}
	}
	return n
}

func (l *Ledger) deliveries(field func(job.Deliveries) int) int {
	n := 0
	for _, r := range l.Rows {
		n += field(r.Deliveries)
	}
	return n
}

// Print writes the ledger as tables.
func (l *Ledger) Print(w io.Writer) {
	tw := tabwriter.NewWriter(w, 2, 0, 2, ' ', 0)
	defer tw.Flush()
	fmt.Fprintf(tw, "CHAOS LEDGER\tseed %d\t%d jobs\tall ended after %s\t(total %s)\n\n", l.Seed, l.Jobs, l.Elapsed.Round(time.Second), l.Total.Round(time.Second))

	fmt.Fprintln(tw, "SCRIPTED OUTCOME\tEXPECTED STATE\tJOBS\tENDED RIGHT\tWRONG\tSTUCK\tP50\tMAX")
	for _, outcome := range []string{"completed", "failed", "cancelled", "expired"} {
		var rows []Row
		for _, r := range l.Rows {
			if r.Script.Outcome == outcome {
				rows = append(rows, r)
			}
		}
		if len(rows) == 0 {
			continue
		}
		right, wrong, stuck := 0, 0, 0
		var took []time.Duration
		for _, r := range rows {
			switch {
			case r.Stuck || r.ID == "":
				stuck++
			case r.Final == r.Expected:
				right++
			default:
				wrong++
			}
			took = append(took, r.Took)
		}
		slices.Sort(took)
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%s\t%s\n", outcome, rows[0].Expected, len(rows), right, wrong, stuck,
			took[len(took)/2].Round(100*time.Millisecond), took[len(took)-1].Round(100*time.Millisecond))
	}
	fmt.Fprintln(tw)

	ok := func(b bool) string {
		if b {
			return "ok"
		}
		return "VIOLATED"
	}
	maxProvider := 0
	for _, r := range l.Rows {
		maxProvider = max(maxProvider, r.ProviderJobs)
	}
	accepted := l.count(func(r Row) bool { return r.ID != "" })
	stuck := l.count(func(r Row) bool { return r.Stuck || r.ID == "" })
	wrong := l.count(func(r Row) bool { return !r.Stuck && r.ID != "" && r.Final != r.Expected })
	moved := l.count(func(r Row) bool { return !r.Stuck && r.ID != "" && r.Final != r.FirstTerminal })
	notOne := l.count(func(r Row) bool { return r.ID != "" && (r.ProviderJobs != 1 || r.ProviderJobID != r.GatewayJobID) })
	forgedSeen := l.count(func(r Row) bool { return r.ForgedSeen })
	forged401 := 0
	for _, f := range l.Forgeries {
		if forgeryRefused(f) {
			forged401++
		}
	}
	stored := l.count(func(r Row) bool { return r.Final == job.Stored })
	storedOK := l.count(func(r Row) bool { return r.Final == job.Stored && r.StoredOK })
	strays := l.count(func(r Row) bool { return r.Final != job.Stored && r.StoredNote != "" })
	execBad := l.count(func(r Row) bool { return r.ID != "" && r.Execution != "none" && r.Execution != "SUCCEEDED" })
	fmt.Fprintln(tw, "INVARIANT\tMEASURED\tRESULT")
	fmt.Fprintf(tw, "every job terminal, none stuck\t%d/%d terminal, %d stuck\t%s\n", accepted-stuck+l.count(func(r Row) bool { return r.ID == "" }), l.Jobs, stuck, ok(stuck == 0))
	fmt.Fprintf(tw, "terminal state = scripted outcome\t%d wrong\t%s\n", wrong, ok(wrong == 0))
	fmt.Fprintf(tw, "terminal state unchanged after settle\t%d moved\t%s\n", moved, ok(moved == 0))
	fmt.Fprintf(tw, "one provider job per submission, bound to it\tmax %d, %d jobs not\t%s\n", maxProvider, notOne, ok(notOne == 0))
	fmt.Fprintf(tw, "state changes by forged/unsigned requests\t%d\t%s\n", forgedSeen, ok(forgedSeen == 0))
	fmt.Fprintf(tw, "forged/unsigned requests answered 401\t%d/%d\t%s\n", forged401, len(l.Forgeries), ok(forged401 == len(l.Forgeries)))
	fmt.Fprintf(tw, "table items written by forgeries\t%d\t%s\n", len(l.ForgedWrites), ok(len(l.ForgedWrites) == 0))
	fmt.Fprintf(tw, "stored objects: sha256+size = gateway's\t%d/%d\t%s\n", storedOK, stored, ok(storedOK == stored))
	fmt.Fprintf(tw, "failed jobs left no object\t%d strays\t%s\n", strays, ok(strays == 0))
	fmt.Fprintf(tw, "workflow executions SUCCEEDED\t%d not\t%s\n", execBad, ok(execBad == 0))
	violations := len(l.Violations())
	fmt.Fprintf(tw, "all of the above (violations listed below)\t%d\t%s\n", violations, ok(violations == 0))
	fmt.Fprintln(tw)

	m := l.Metrics
	answers := func(fault string) string {
		a := l.DeliveryAnswers[fault]
		var parts []string
		for _, s := range slices.Sorted(maps.Keys(a)) {
			parts = append(parts, fmt.Sprintf("%d×%d", a[s], s))
		}
		if len(parts) == 0 {
			return "-"
		}
		return strings.Join(parts, " ")
	}
	sumFaults := func(names ...string) int {
		n := 0
		for _, f := range names {
			n += l.Faults[f]
		}
		return n
	}
	byPoll := l.count(func(r Row) bool { return r.TerminalSource == string(job.SourcePoll) })
	reconciled := l.count(func(r Row) bool { return r.Reconciled })
	fmt.Fprintln(tw, "FAULT INJECTED (simulator)\tCOUNT\tDEFENCE\tCAUGHT (job counters / metrics / answers)")
	fmt.Fprintf(tw, "webhook.duplicate\t%d\tdedupe on payload id, recorded first\tjobs.deliveries.duplicates=%d  WebhookDuplicates=%.0f\n",
		l.Faults[simulator.FaultWebhookDuplicate], l.deliveries(func(d job.Deliveries) int { return d.Duplicates }), m.Sum("webhook/WebhookDuplicates"))
	fmt.Fprintf(tw, "webhook.lost_ack\t%d\tredelivery deduped (attempt+1)\tjobs.deliveries.retries=%d  WebhookRetries=%.0f\n",
		l.Faults[simulator.FaultWebhookLostAck], l.deliveries(func(d job.Deliveries) int { return d.Retries }), m.Sum("webhook/WebhookRetries"))
	fmt.Fprintf(tw, "webhook.drop\t%d\tpoll loop\tjobs ended by a poll=%d  Polls=%.0f\n",
		l.Faults[simulator.FaultWebhookDrop], byPoll, m.Sum("watch/Polls"))
	fmt.Fprintf(tw, "webhook.reorder / webhook.delay\t%d / %d\tmonotonic state, late counted not applied\tjobs.deliveries.late=%d  WebhookLate=%.0f\n",
		l.Faults[simulator.FaultWebhookReorder], l.Faults[simulator.FaultWebhookDelay], l.deliveries(func(d job.Deliveries) int { return d.Late }), m.Sum("webhook/WebhookLate"))
	fmt.Fprintf(tw, "webhook.bad_signature\t%d\tHMAC on raw bytes → 401\tanswers %s  WebhookRejected{mismatch}=%.0f\n",
		l.Faults[simulator.FaultWebhookBadSignature], answers(simulator.FaultWebhookBadSignature), m.Get("webhook/WebhookRejected/Reason=mismatch"))
	fmt.Fprintf(tw, "webhook.stale_timestamp\t%d\t±300 s window → 401\tanswers %s  WebhookRejected{stale}=%.0f\n",
		l.Faults[simulator.FaultWebhookStaleTimestamp], answers(simulator.FaultWebhookStaleTimestamp), m.Get("webhook/WebhookRejected/Reason=stale"))
	fmt.Fprintf(tw, "webhook.foreign (unsigned)\t%d\tno signature → 401\tanswers %s  WebhookRejected{missing_header}=%.0f\n",
		l.Faults[simulator.FaultWebhookForeign], answers(simulator.FaultWebhookForeign), m.Get("webhook/WebhookRejected/Reason=missing_header"))
	fmt.Fprintf(tw, "poll.5xx / poll.5xx_html\t%d / %d\tretry with back-off, state unchanged\t\n",
		l.Faults[simulator.FaultPoll5xx], l.Faults[simulator.FaultPoll5xxHTML])
	fmt.Fprintf(tw, "poll.429 / no Retry-After / key_limit\t%d / %d / %d\thonour Retry-After / reset_at\t\n",
		l.Faults[simulator.FaultPoll429], l.Faults[simulator.FaultPoll429NoRetryAfter], l.Faults[simulator.FaultPollKeyLimit])
	fmt.Fprintf(tw, "poll.not_ready / poll.hang\t%d / %d\tretry with back-off\t\n",
		l.Faults[simulator.FaultPollNotReady], l.Faults[simulator.FaultPollHang])
	fmt.Fprintf(tw, "  (all status-GET faults)\t%d\t\trecovered by a later GET=%d  ProviderErrors after client retries=%.0f\n",
		l.PollFaults, l.PollFaultsRecovered, m.Sum("watch/ProviderErrors")+m.Sum("webhook/ProviderErrors"))
	fmt.Fprintf(tw, "content.truncate_cut / truncate_short\t%d / %d\tsize + sha256 check, copy retried\tCopyFailures=%.0f  stored intact=%d/%d\n",
		l.Faults[simulator.FaultContentTruncateCut], l.Faults[simulator.FaultContentTruncateShort], m.Sum("store/CopyFailures"), storedOK, stored)
	fmt.Fprintf(tw, "content.slow_first_byte / throttle / wrong_type\t%d\tstreamed copy, bounded memory\tBytesCopied=%.0f\n",
		sumFaults(simulator.FaultContentSlowFirstByte, simulator.FaultContentThrottle, simulator.FaultContentWrongType), m.Sum("store/BytesCopied"))
	fmt.Fprintf(tw, "create.timeout / create.5xx (job made)\t%d / %d\treconcile by webhook URL, never re-send\tadopted %d/%d (at submit %d)  provider jobs per submission max=%d\n",
		l.Faults[simulator.FaultCreateTimeout], l.Faults[simulator.FaultCreate5xx], l.AmbiguousAdopted, l.AmbiguousCreates, reconciled, maxProvider)
	for _, fn := range Killable {
		k := l.Kills[fn]
		fmt.Fprintf(tw, "kill -9 %s mid-invocation\t%d\t%s\tinvocations=%d attempted=%d missed=%d\n", fn, k.Landed, killDefence[fn], k.Invocations, k.Attempted, k.Missed)
	}
	fmt.Fprintf(tw, "forged/unsigned callbacks (harness)\t%d\tverify before anything → 401\t%d×401  WebhookRejected total=%.0f\n",
		len(l.Forgeries), forged401, m.Sum("webhook/WebhookRejected"))
	fmt.Fprintln(tw)

	fmt.Fprintln(tw, "WEBHOOK REJECTIONS BY REASON\tCOUNT")
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if r, ok := strings.CutPrefix(k, "webhook/WebhookRejected/Reason="); ok {
			fmt.Fprintf(tw, "%s\t%.0f\n", r, m[k])
		}
	}
	fmt.Fprintf(tw, "\ntable items at the end\t%d\tgateway deliveries still pending\t%d\n", l.Items, l.SimPending)
}

var killDefence = map[string]string{
	"webhook": "5xx → gateway retries the delivery",
	"watch":   "Step Functions retries the task",
	"store":   "Store retried; same key overwritten",
}
