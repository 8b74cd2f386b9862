package benchreport

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const sample = `goos: linux
goarch: amd64
pkg: github.com/videojobs/videojobs/internal/webhook
cpu: AMD EPYC
BenchmarkHMACBaseline4KiB-2     	  366890	      4000 ns/op	1209.20 MB/s	     480 B/op	       5 allocs/op
BenchmarkVerifyAndParse4KiB-2   	  145428	     10000 ns/op	 409.70 MB/s	         2.500 x-hmac	    1936 B/op	      37 allocs/op
bench: local stack up in 6s (logs in /tmp/x)
BenchmarkColdStart/fn=hello-2     	       1	      2233 ns/op	         6.0 bootstrap-MiB	         5.0 first-invoke-ms	         8.0 init-max-ms	         4.0 init-ms
BenchmarkColdStart/fn=webhook-2   	       1	      2193 ns/op	        10.9 bootstrap-MiB	        12.0 first-invoke-ms	        11.0 init-max-ms	        10.0 init-ms
BenchmarkWebhookStorm/fn=ok200-2  	       1	      2564 ns/op	        24.00 concurrency	   20.0 p50-ms	        25.0 p99-ms	      1622 req/s	       500.0 requests
BenchmarkWebhookStorm/fn=webhook-2	       1	      1983 ns/op	        24.00 concurrency	  400.0 p50-ms	       800.0 p99-ms	        13.19 req/s	       500.0 requests
BenchmarkWebhookStorm/fn=ok200-steady-2  	       1	      2564 ns/op	        4.00 concurrency	   10.0 p50-ms	        20.0 p99-ms	      400 req/s	       200.0 requests
BenchmarkWebhookStorm/fn=webhook-steady-2	       1	      1983 ns/op	        4.00 concurrency	  200.0 p50-ms	       1200.0 p99-ms	        15 req/s	       200.0 requests
BenchmarkJobCost/path=webhook-2         	       1	      8122 ns/op	         0.5 GB-s/job	        14.00 RRU/job	        22.00 WRU/job	        12.00 ddb-writes/job	        180.00 generation-s	         8.000 invocations/job	         0 watch/job	        181 s-to-done	         8.000 transitions/job	         2.000 webhooks/job
BenchmarkJobCost/path=fixed-20s-loop-2  	       1	      4267 ns/op	         0.5 GB-s/job	         8.000 RRU/job	         7.000 WRU/job	         6.000 ddb-writes/job	        180.00 generation-s	         4.000 invocations/job	         0 watch/job	        200 s-to-done	        16.000 transitions/job	         0 webhooks/job
BenchmarkCopyHTTPSimulator4GiB-2	1	4935818239 ns/op	870.16 MB/s	900.0 copy-MB/s	15.00 gc-cycles	1000 iocopy-MB/s	67.25 peak-heap-MiB	53.80 peak-live-MiB	86.51 peak-rss-MiB	1000 sha256-MB/s	1.000 sha256-x-iocopy	0.9000 x-iocopy	1.040 x-peak-heap-vs-1GiB	1.030 x-peak-rss-vs-1GiB	0.9000 x-sha256
--- FAIL: BenchmarkSomething
PASS
ok  	github.com/videojobs/videojobs/bench	51.012s
`

func TestParse(t *testing.T) {
	got, err := Parse(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 11 {
		t.Errorf("parsed %d benchmarks, want 11: %v", len(got), got)
	}
	want := Result{Name: "BenchmarkVerifyAndParse4KiB", N: 145428, Metrics: map[string]float64{
		"ns/op": 10000, "MB/s": 409.70, "x-hmac": 2.5, "B/op": 1936, "allocs/op": 37,
	}}
	if diff := cmp.Diff(got["BenchmarkVerifyAndParse4KiB"], want); diff != "" {
		t.Errorf("VerifyAndParse (-got +want):\n%s", diff)
	}
	if v, ok := got.Metric("BenchmarkWebhookStorm/fn=webhook", "p99-ms"); !ok || v != 800 {
		t.Errorf("storm p99 = %v, %v; want 800, true", v, ok)
	}
}

func TestRender(t *testing.T) {
	res, err := Parse(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := Render(&b, res, ListPrices); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		// 1: the ratio the benchmark measured, against the 1.5× target.
		"| 1 | webhook verify (current + previous secret) + parse, 4 KiB body | 10.00 µs/op | bare HMAC-SHA256: 4.00 µs/op | 2.50× (median of alternating rounds) | ≤ 1.50× | **misses** |",
		// 2a: the burst, p50 / p99 against the baseline, no target.
		"| 400 ms / 800 ms | empty 200 handler, same front and pool: 20.0 ms / 25.0 ms | 32.00× (p99) |  |  |",
		// 2e: the steady run holds the 1 s target.
		"| 200 ms / 1.20 s | empty 200 handler, same front and pool: 10.0 ms / 20.0 ms | 60.00× (p99) | p99 < 1 s | **misses** |",
		// 4: INIT ratio to hello-world.
		"| 10.0 ms (first invoke 12.0 ms; bootstrap 10.9 MiB) | hello-world aws-lambda-go: 4.0 ms (6.0 MiB) | 2.50× | ≤ 2.00× | **misses** |",
		"| 4a | cold start (INIT) of submit | not run |",
		"| 3a | copy a 1 GiB video from the simulator's GET /content over loopback HTTP into S3 multipart, sha256 + size check | not run |",
		// 3: throughput against io.Copy of the same stream, memory 4 GiB over 1 GiB.
		"| 900 MB/s; peak heap 67 MiB (live 54), peak RSS 87 MiB | io.Copy of the same stream to io.Discard: 1000 MB/s (into SHA-256: 1000 MB/s = 1.00× of io.Copy) | 0.90× of io.Copy (0.90× of io.Copy into SHA-256) | ≥ 0.70× io.Copy | meets |",
		"| 3e | peak heap and peak RSS, 4 GiB copy over 1 GiB copy (simulator source) | heap 1.04×, RSS 1.03× | the 1 GiB copy in the same process |  | both within 1.10× (flat) | meets |",
		// 5: webhook 8 transitions × $0.025/1000 × 1000 jobs = $0.2;
		// Lambda 8 × $0.2/1M × 1000 + 0.5 GB-s × $0.0000133334 × 1000;
		// DynamoDB 22 WRU × $0.625/1M × 1000 + 14 RRU × $0.125/1M × 1000.
		"| 5a | webhook | 8 | 8 (0, 2) | 0.500 | 22.0 / 14.0 (12) | 181 s | $0.2000 + $0.0083 + $0.0155 = **$0.2238** |",
		"| 5b | poll-only | not run |",
		"| 5c | fixed-20s-loop | 16 |",
		"us-east-1 list prices, Nov 2026, as assumed",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q\ntable:\n%s", want, out)
		}
	}
}
