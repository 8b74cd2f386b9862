package benchreport

import (
	"fmt"
	"io"
	"strings"
)

// Prices are the AWS list prices the cost rows use.
type Prices struct {
	Note string // where the prices come from, printed with the table
	// StepFunctionsPerTransition is Standard workflows, per state transition.
	StepFunctionsPerTransition float64
	LambdaPerRequest           float64
	LambdaPerGBSecond          float64
	DynamoDBPerWRU             float64
	DynamoDBPerRRU             float64
}

// ListPrices are the prices BENCHMARKS.md states: us-east-1 list prices
// as assumed for Nov 2026 (Lambda on arm64, DynamoDB on-demand).
var ListPrices = Prices{
	Note:                       "us-east-1 list prices, Nov 2026, as assumed",
	StepFunctionsPerTransition: 0.025 / 1000,
	LambdaPerRequest:           0.20 / 1e6,
	LambdaPerGBSecond:          0.0000133334,
	DynamoDBPerWRU:             0.625 / 1e6,
	DynamoDBPerRRU:             0.125 / 1e6,
}

// Benchmark names the table reads.
const (
	simulator   = "BenchmarkConcurrentJobs/scale="
	verifyParse = "BenchmarkVerifyAndParse4KiB"
	bareHMAC    = "BenchmarkHMACBaseline4KiB"
	stormOurs   = "BenchmarkWebhookStorm/fn=webhook"
	stormBase   = "BenchmarkWebhookStorm/fn=ok200"
	steadyOurs  = "BenchmarkWebhookStorm/fn=webhook-steady"
	steadyBase  = "BenchmarkWebhookStorm/fn=ok200-steady"
	coldPrefix  = "BenchmarkColdStart/fn="
	costPrefix  = "BenchmarkJobCost/path="
)

// Functions whose cold start the table lists, after the hello baseline.
var coldFunctions = []string{"submit", "webhook", "watch", "store", "jobs"}

// Job paths the cost table lists; the last is the baseline.
var costPaths = []string{"webhook", "poll-only", "fixed-20s-loop"}

// Render writes the markdown table for results.
func Render(w io.Writer, r Results, p Prices) error {
	t := &table{r: r}
	t.webhookParse()
	t.storm()
	t.copies()
	t.coldStarts()
	t.simulators()
	fmt.Fprintln(&t.b)
	t.costs(p)
	_, err := io.WriteString(w, t.b.String())
	return err
}

type table struct {
	r Results
	b strings.Builder
	n int
}

const notRun = "not run"

func (t *table) header() {
	t.b.WriteString("| # | measure | result | baseline (same run) | ratio | target | verdict |\n")
	t.b.WriteString("|---|---|---|---|---|---|---|\n")
}

// line writes one row; the first call writes the header.
func (t *table) line(num, what, result, baseline, ratio, target, verdict string) {
	if t.n == 0 {
		t.header()
	}
	t.n++
	fmt.Fprintf(&t.b, "| %s | %s | %s | %s | %s | %s | %s |\n", num, what, result, baseline, ratio, target, verdict)
}

func (t *table) metric(name, unit string) (float64, bool) { return t.r.Metric(name, unit) }

func verdict(ok bool) string {
	if ok {
		return "meets"
	}
	return "**misses**"
}

func x(v float64) string { return fmt.Sprintf("%.2f×", v) }

func msText(v float64) string {
	if v >= 1000 {
		return fmt.Sprintf("%.2f s", v/1000)
	}
	if v >= 100 {
		return fmt.Sprintf("%.0f ms", v)
	}
	return fmt.Sprintf("%.1f ms", v)
}

func (t *table) webhookParse() {
	ours, ok1 := t.metric(verifyParse, "ns/op")
	base, ok2 := t.metric(bareHMAC, "ns/op")
	ratio, ok3 := t.metric(verifyParse, "x-hmac")
	if !ok1 || !ok2 || !ok3 {
		t.line("1", "webhook verify + parse, 4 KiB body", notRun, "", "", "≤ 1.50×", "")
		return
	}
	t.line("1", "webhook verify (current + previous secret) + parse, 4 KiB body",
		fmt.Sprintf("%.2f µs/op", ours/1000), fmt.Sprintf("bare HMAC-SHA256: %.2f µs/op", base/1000),
		x(ratio)+" (median of alternating rounds)", "≤ 1.50×", verdict(ratio <= 1.5))
}

func (t *table) storm() {
	// The burst: more deliveries in flight than the local pool has warm
	// processes, so most of the latency is the queue for one; the steady
	// run keeps one in flight per process, as Lambda would give each its
	// own environment. The 1 s target is judged on the steady run.
	for _, run := range []struct {
		ours, base, num, detailNum, label string
		target                            bool
	}{
		{stormOurs, stormBase, "2a", "2b", "burst", false},
		{steadyOurs, steadyBase, "2e", "2f", "steady", true},
	} {
		what := "webhook λ end to end via the local HTTP API (" + run.label + ")"
		if n, ok := t.metric(run.ours, "requests"); ok {
			c, _ := t.metric(run.ours, "concurrency")
			what = fmt.Sprintf("webhook λ end to end via the local HTTP API (%s): %.0f signed deliveries, %.0f in flight, 4 warm RIE processes", run.label, n, c)
		}
		ours50, ok1 := t.metric(run.ours, "p50-ms")
		ours99, ok2 := t.metric(run.ours, "p99-ms")
		base50, ok3 := t.metric(run.base, "p50-ms")
		base99, ok4 := t.metric(run.base, "p99-ms")
		target, v := "", ""
		if run.target {
			target = "p99 < 1 s"
		}
		if !ok1 || !ok2 || !ok3 || !ok4 {
			t.line(run.num, what+", p50 / p99", notRun, "", "", target, "")
			continue
		}
		if run.target {
			v = verdict(ours99 < 1000)
		}
		t.line(run.num, what+", p50 / p99", msText(ours50)+" / "+msText(ours99),
			"empty 200 handler, same front and pool: "+msText(base50)+" / "+msText(base99), x(ours99/base99)+" (p99)", target, v)
		fnP50, ok1 := t.metric(run.ours, "fn-p50-ms")
		fnP99, ok2 := t.metric(run.ours, "fn-p99-ms")
		if !ok1 || !ok2 {
			continue
		}
		ddb, _ := t.metric(run.ours, "ddb-ms/req")
		calls, _ := t.metric(run.ours, "ddb-calls/req")
		own, _ := t.metric(run.ours, "own-ms/req")
		rps, _ := t.metric(run.ours, "req/s")
		fails, _ := t.metric(run.ours, "5xx")
		t.line(run.detailNum, "… inside the function (RIE REPORT duration) p50 / p99; of its mean, waiting for DynamoDB (moto) vs our own code",
			fmt.Sprintf("%s / %s; DynamoDB %s in %.1f calls, own code %s; %.0f deliveries/s, %.0f answered 5xx", msText(fnP50), msText(fnP99), msText(ddb), calls, msText(own), rps, fails),
			"", "", "", "")
	}
}

func (t *table) copies() {
	rows := []struct{ num, name, size, source string }{
		{"3a", "BenchmarkCopyHTTPSimulator1GiB", "1 GiB", "the simulator's GET /content"},
		{"3b", "BenchmarkCopyHTTPSimulator4GiB", "4 GiB", "the simulator's GET /content"},
		{"3c", "BenchmarkCopyHTTP1GiB", "1 GiB", "a synthetic stream (memcpy-cheap server)"},
		{"3d", "BenchmarkCopyHTTP4GiB", "4 GiB", "a synthetic stream (memcpy-cheap server)"},
	}
	for _, c := range rows {
		what := "copy a " + c.size + " video from " + c.source + " over loopback HTTP into S3 multipart, sha256 + size check"
		cp, ok1 := t.metric(c.name, "copy-MB/s")
		io, ok2 := t.metric(c.name, "iocopy-MB/s")
		ratio, ok3 := t.metric(c.name, "x-iocopy")
		if !ok1 || !ok2 || !ok3 {
			t.line(c.num, what, notRun, "", "", "≥ 0.70× io.Copy", "")
			continue
		}
		sha, _ := t.metric(c.name, "sha256-MB/s")
		xsha, _ := t.metric(c.name, "x-sha256")
		shaCeil, _ := t.metric(c.name, "sha256-x-iocopy")
		heap, _ := t.metric(c.name, "peak-heap-MiB")
		live, _ := t.metric(c.name, "peak-live-MiB")
		rss, _ := t.metric(c.name, "peak-rss-MiB")
		t.line(c.num, what,
			fmt.Sprintf("%.0f MB/s; peak heap %.0f MiB (live %.0f), peak RSS %.0f MiB", cp, heap, live, rss),
			fmt.Sprintf("io.Copy of the same stream to io.Discard: %.0f MB/s (into SHA-256: %.0f MB/s = %s of io.Copy)", io, sha, x(shaCeil)),
			fmt.Sprintf("%s of io.Copy (%s of io.Copy into SHA-256)", x(ratio), x(xsha)), "≥ 0.70× io.Copy", verdict(ratio >= 0.7))
	}
	for _, c := range []struct{ num, name, source string }{
		{"3e", "BenchmarkCopyHTTPSimulator4GiB", "simulator"},
		{"3f", "BenchmarkCopyHTTP4GiB", "synthetic"},
	} {
		h, ok1 := t.metric(c.name, "x-peak-heap-vs-1GiB")
		r, ok2 := t.metric(c.name, "x-peak-rss-vs-1GiB")
		if !ok1 || !ok2 {
			continue
		}
		t.line(c.num, "peak heap and peak RSS, 4 GiB copy over 1 GiB copy ("+c.source+" source)",
			fmt.Sprintf("heap %s, RSS %s", x(h), x(r)), "the 1 GiB copy in the same process", "", "both within 1.10× (flat)",
			verdict(h <= 1.1 && r <= 1.1))
	}
}

func (t *table) coldStarts() {
	hello, ok := t.metric(coldPrefix+"hello", "init-ms")
	for i, fn := range coldFunctions {
		num := fmt.Sprintf("4%c", 'a'+i)
		ours, ok2 := t.metric(coldPrefix+fn, "init-ms")
		if !ok || !ok2 {
			t.line(num, "cold start (INIT) of "+fn, notRun, "", "", "≤ 2× hello-world", "")
			continue
		}
		first, _ := t.metric(coldPrefix+fn, "first-invoke-ms")
		size, _ := t.metric(coldPrefix+fn, "bootstrap-MiB")
		helloSize, _ := t.metric(coldPrefix+"hello", "bootstrap-MiB")
		t.line(num, "cold start under the RIE: INIT duration of "+fn+" (median of 5)",
			fmt.Sprintf("%s (first invoke %s; bootstrap %.1f MiB)", msText(ours), msText(first), size),
			fmt.Sprintf("hello-world aws-lambda-go: %s (%.1f MiB)", msText(hello), helloSize),
			x(ours/hello), "≤ 2.00×", verdict(ours/hello <= 2))
	}
}

func (t *table) costs(p Prices) {
	fmt.Fprintf(&t.b, "Cost per 1,000 jobs (5), %s: Step Functions Standard $%.3f per 1,000 transitions; "+
		"Lambda $%.2f per 1M requests + $%.10f per GB-s (arm64); DynamoDB on-demand $%.3f per million write request units, $%.3f per million read units.\n\n",
		p.Note, p.StepFunctionsPerTransition*1000, p.LambdaPerRequest*1e6, p.LambdaPerGBSecond, p.DynamoDBPerWRU*1e6, p.DynamoDBPerRRU*1e6)
	gen, ok := t.metric(costPrefix+costPaths[0], "generation-s")
	if !ok {
		fmt.Fprintf(&t.b, "%s\n", notRun)
		return
	}
	fmt.Fprintf(&t.b, "| 5 | job path (%.0f s generation, measured on the local stack) | transitions | Lambda invocations (watch steps, webhooks) | Lambda GB-s | DynamoDB WRU / RRU (write requests) | time to done | $ per 1,000 jobs: SFN + Lambda + DynamoDB = total | ratio to fixed loop |\n", gen)
	t.b.WriteString("|---|---|---|---|---|---|---|---|---|\n")
	baseline := costPaths[len(costPaths)-1]
	total := func(path string) (sfn, lambda, ddb float64) {
		m := func(u string) float64 { v, _ := t.metric(costPrefix+path, u); return v }
		sfn = m("transitions/job") * p.StepFunctionsPerTransition * 1000
		lambda = (m("invocations/job")*p.LambdaPerRequest + m("GB-s/job")*p.LambdaPerGBSecond) * 1000
		ddb = (m("WRU/job")*p.DynamoDBPerWRU + m("RRU/job")*p.DynamoDBPerRRU) * 1000
		return sfn, lambda, ddb
	}
	bs, bl, bd := total(baseline)
	for i, path := range costPaths {
		name := costPrefix + path
		if _, ok := t.r[name]; !ok {
			fmt.Fprintf(&t.b, "| 5%c | %s | %s | | | | | | |\n", 'a'+i, path, notRun)
			continue
		}
		m := func(u string) float64 { v, _ := t.metric(name, u); return v }
		s, l, d := total(path)
		fmt.Fprintf(&t.b, "| 5%c | %s | %.0f | %.0f (%.0f, %.0f) | %.3f | %.1f / %.1f (%.0f) | %.0f s | $%.4f + $%.4f + $%.4f = **$%.4f** | %s |\n",
			'a'+i, path, m("transitions/job"), m("invocations/job"), m("watch/job"), m("webhooks/job"), m("GB-s/job"),
			m("WRU/job"), m("RRU/job"), m("ddb-writes/job"), m("s-to-done"), s, l, d, s+l+d, x((s+l+d)/(bs+bl+bd)))
	}
}

// simulators reports whether the gateway simulator keeps up with its time
// scale serving 200 concurrent jobs with webhooks (lag ratio ≤ 1.05: the
// jobs finish when the scale promises), at the local stack's scale (60)
// and at ten times that.
func (t *table) simulators() {
	for i, scale := range []string{"60", "600"} {
		num := fmt.Sprintf("6%c", 'a'+i)
		what := "simulator: 200 concurrent jobs with created/progress/completed webhooks, time scale " + scale
		lag, ok1 := t.metric(simulator+scale, "lag-ratio")
		cores, ok2 := t.metric(simulator+scale, "cores-needed")
		rate, ok3 := t.metric(simulator+scale, "deliveries/s")
		if !ok1 || !ok2 || !ok3 {
			t.line(num, what, notRun, "", "", "lag ≤ 1.05×", "")
			continue
		}
		t.line(num, what, fmt.Sprintf("%.0f deliveries/s; CPU %.2f cores", rate, cores),
			"the time the scale promises", x(lag)+" lag", "lag ≤ 1.05×", verdict(lag <= 1.05))
	}
}
