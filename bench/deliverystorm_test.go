package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/videojobs/videojobs/internal/intake"
	"github.com/videojobs/videojobs/internal/job"
	"github.com/videojobs/videojobs/internal/localstack"
	"github.com/videojobs/videojobs/internal/webhook"
)

// The storm: stormDeliveries signed deliveries, stormConcurrency in flight,
// spread over stormJobs jobs, bounded by stormLimit in time.
const (
	stormDeliveries  = 500
	stormConcurrency = 24
	stormJobs        = 25
	stormLimit       = 2 * time.Minute
	// steadyDeliveries go out with one in flight per warm process of the
	// pool: what a delivery waits for when Lambda has an environment for
	// it, as it scales out, instead of queueing behind the local pool.
	steadyDeliveries = 200
)

// BenchmarkWebhookStorm sends a storm of signed webhook deliveries through
// the local HTTP API to the real webhook bootstrap (a pool of warm RIE
// processes), and the same storm of requests to an empty 200 handler
// behind the same front and an equal pool, as the baseline that isolates
// our cost. Target (design.md guarantee 5): p99 < 1 s.
//
// The deliveries are video.progress events for processing jobs created in
// the table, signed with each job's derived secret: every one is verified,
// recorded (the dedupe transaction) and applied (a conditional job write);
// none needs the provider's word or wakes a workflow. Consecutive
// deliveries go to different jobs, as a gateway's storm across many jobs
// would, so optimistic-lock retries are rare but possible.
func BenchmarkWebhookStorm(b *testing.B) {
	s := requireSystem(b)
	ctx, cancel := context.WithTimeout(context.Background(), 2*stormLimit+time.Minute)
	defer cancel()

	jobs := make([]*job.Job, stormJobs)
	now := time.Now().UTC()
	for i := range jobs {
		j := &job.Job{
			ID:            intake.NewJobID(),
			State:         job.Processing,
			ProviderJobID: fmt.Sprintf("vid_bench_storm_%02d", i),
			Model:         model,
			Fingerprint:   "bench-storm",
			CreatedAt:     now,
			UpdatedAt:     now,
		}
		j.WebhookURL = s.stack.APIURL() + "/webhooks/ai-stats?job=" + j.ID
		if err := s.store.CreateJob(ctx, j); err != nil {
			b.Fatalf("create job: %v", err)
		}
		jobs[i] = j
	}

	webhookReq := func(i int) (*http.Request, error) {
		j := jobs[i%len(jobs)]
		seq := i / len(jobs)
		body := progressPayload(j, seq)
		ts := strconv.FormatInt(time.Now().Unix(), 10)
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.stack.APIURL()+"/webhooks/ai-stats?job="+j.ID, bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		setDeliveryHeaders(req.Header, ts, webhook.Sign(webhook.DeriveSecret([]byte(webhookSecret), j.ID), ts, body), seq)
		return req, nil
	}
	baselineReq := func(i int) (*http.Request, error) {
		// The same bytes and headers, so the front and the event
		// encoding cost the same.
		j := jobs[i%len(jobs)]
		body := progressPayload(j, i/len(jobs))
		ts := strconv.FormatInt(time.Now().Unix(), 10)
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.stack.APIURL()+"/bench/ok?job="+j.ID, bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		setDeliveryHeaders(req.Header, ts, "unused", 0)
		return req, nil
	}

	// Warm every process of both pools first: cold starts are
	// BenchmarkColdStart's subject.
	for _, warm := range []func(int) (*http.Request, error){baselineReq, webhookReq} {
		if _, err := storm(s.api, 2*pools["webhook"], pools["webhook"], stormLimit, func(i int) (*http.Request, error) {
			return warm(stormDeliveries + i) // sequence numbers after the storm's own
		}); err != nil {
			b.Fatalf("warm up: %v", err)
		}
	}

	run := func(fn string, deliveries, concurrency int, newReq func(int) (*http.Request, error)) stormResult {
		rie, ok := s.stack.RIE(fn)
		if !ok {
			b.Fatalf("no RIE pool for %s", fn)
		}
		before, err := reportsByLog(rie)
		if err != nil {
			b.Fatal(err)
		}
		s.ledger.reset()
		res, err := storm(s.api, deliveries, concurrency, stormLimit, newReq)
		if err != nil {
			b.Fatalf("%s storm: %v", fn, err)
		}
		after, err := reportsByLog(rie)
		if err != nil {
			b.Fatal(err)
		}
		for path, reps := range after {
			for _, r := range reps[len(before[path]):] {
				res.inFunction = append(res.inFunction, r.Duration)
			}
		}
		slices.Sort(res.inFunction)
		res.inside(s.ledger, fn)
		res.concurrency = concurrency
		return res
	}
	pool := pools["webhook"]
	// The steady runs use sequence numbers after the burst's, so every
	// delivery is new to the dedupe.
	after := func(newReq func(int) (*http.Request, error)) func(int) (*http.Request, error) {
		return func(i int) (*http.Request, error) { return newReq(2*stormDeliveries + i) }
	}
	base := run("ok200", stormDeliveries, stormConcurrency, baselineReq)
	ours := run("webhook", stormDeliveries, stormConcurrency, webhookReq)
	baseSteady := run("ok200", steadyDeliveries, pool, after(baselineReq))
	oursSteady := run("webhook", steadyDeliveries, pool, after(webhookReq))
	for _, r := range []struct {
		name string
		res  stormResult
	}{{"fn=ok200", base}, {"fn=webhook", ours}, {"fn=ok200-steady", baseSteady}, {"fn=webhook-steady", oursSteady}} {
		b.Run(r.name, func(b *testing.B) {
			// End to end = the front + waiting for a free process in
			// the pool (the storm's concurrency exceeds it, as a burst
			// beyond the warm environments does) + the function's own
			// duration (its REPORT line), which is mostly waiting for
			// DynamoDB, answered here by moto. own-ms/req is the mean
			// duration without that wait: our code's share.
			b.ReportMetric(ms(percentile(r.res.inFunction, 50)), "fn-p50-ms")
			b.ReportMetric(ms(percentile(r.res.inFunction, 99)), "fn-p99-ms")
			b.ReportMetric(ms(r.res.ddbPerReq), "ddb-ms/req")
			b.ReportMetric(r.res.ddbCallsPerReq, "ddb-calls/req")
			b.ReportMetric(ms(mean(r.res.inFunction)-r.res.ddbPerReq), "own-ms/req")
			// A 4xx is a delivery we refused: a bug in the storm or the
			// function. A 5xx is what the gateway retries; moto 5.x
			// answers some concurrent TransactWriteItems with a 500 of its
			// own (it deep-copies the table for rollback while another
			// request changes it), so 5xx are counted, not failed.
			if r.res.non2xx > r.res.s5xx {
				b.Errorf("%d of %d answers were 4xx (first: %s)", r.res.non2xx-r.res.s5xx, r.res.sent, r.res.firstBad)
			}
			b.ReportMetric(ms(r.res.p(50)), "p50-ms")
			b.ReportMetric(ms(r.res.p(99)), "p99-ms")
			b.ReportMetric(ms(r.res.p(100)), "max-ms")
			b.ReportMetric(float64(r.res.sent)/r.res.elapsed.Seconds(), "req/s")
			b.ReportMetric(float64(r.res.sent), "requests")
			b.ReportMetric(float64(r.res.s5xx), "5xx")
			b.ReportMetric(float64(r.res.concurrency), "concurrency")
		})
	}
}

type stormResult struct {
	concurrency int
	latencies   []time.Duration // sorted
	// inFunction are the function's own durations (RIE REPORT lines),
	// sorted.
	inFunction     []time.Duration
	ddbPerReq      time.Duration
	ddbCallsPerReq float64
	sent           int
	non2xx         int
	s5xx           int
	firstBad       string
	elapsed        time.Duration
}

// inside fills in what the ledger saw of fn during the storm.
func (r *stormResult) inside(l *ledger, fn string) {
	calls, _ := l.snapshot()
	var total time.Duration
	n := 0
	for _, c := range calls {
		if c.Function == fn {
			total += c.Duration
			n++
		}
	}
	if r.sent > 0 {
		r.ddbPerReq = total / time.Duration(r.sent)
		r.ddbCallsPerReq = float64(n) / float64(r.sent)
	}
}

// reportsByLog returns an RIE pool's REPORT lines per process log.
func reportsByLog(rie *localstack.RIE) (map[string][]localstack.Report, error) {
	reps, err := rie.Reports()
	if err != nil {
		return nil, err
	}
	out := map[string][]localstack.Report{}
	for _, r := range reps {
		out[r.LogPath] = append(out[r.LogPath], r)
	}
	return out, nil
}

func mean(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	var t time.Duration
	for _, d := range ds {
		t += d
	}
	return t / time.Duration(len(ds))
}

func (r stormResult) p(q float64) time.Duration { return percentile(r.latencies, q) }

// storm sends n requests, concurrency at a time, and stops early when limit
// has passed. The latency of each is from sending it to reading its whole
// answer.
func storm(c *http.Client, n, concurrency int, limit time.Duration, newReq func(i int) (*http.Request, error)) (stormResult, error) {
	var (
		mu  sync.Mutex
		res stormResult
		err error
		wg  sync.WaitGroup
	)
	next := make(chan int)
	deadline := time.Now().Add(limit)
	start := time.Now()
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				req, rerr := newReq(i)
				if rerr != nil {
					mu.Lock()
					err = rerr
					mu.Unlock()
					continue
				}
				t0 := time.Now()
				resp, derr := c.Do(req)
				var body []byte
				if derr == nil {
					body, derr = io.ReadAll(resp.Body)
					resp.Body.Close()
				}
				d := time.Since(t0)
				mu.Lock()
				res.sent++
				res.latencies = append(res.latencies, d)
				switch {
				case derr != nil:
					err = derr
				case resp.StatusCode/100 == 5:
					res.non2xx++
					res.s5xx++
				case resp.StatusCode/100 != 2:
					res.non2xx++
					if res.firstBad == "" {
						res.firstBad = fmt.Sprintf("%d %s", resp.StatusCode, bytes.TrimSpace(body))
					}
				}
				mu.Unlock()
			}
		}()
	}
	for i := 0; i < n && time.Now().Before(deadline); i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	res.elapsed = time.Since(start)
	slices.Sort(res.latencies)
	return res, err
}

// progressPayload is a gateway video.progress delivery for j, about 2 KB
// like the simulator's, unique per sequence number (payload id and
// delivery key).
func progressPayload(j *job.Job, seq int) []byte {
	now := time.Now().UTC()
	key := fmt.Sprintf("video.progress.%d", seq)
	return fmt.Appendf(nil, `{"id":"evt_video_%[1]s_%[2]s","type":"video.progress","created_at":%[3]d,`+
		`"delivery":{"key":"%[2]s","attempt":1,"max_attempts":4},`+
		`"data":{"id":"%[1]s","object":"video","kind":"video","status":"processing","lifecycle_status":"processing",`+
		`"progress":%[4]d,"provider":"google-vertex","model":"%[5]s",`+
		`"polling_url":"https://api.phaseo.app/v1/videos/%[1]s","cancel_url":null,`+
		`"content_url":null,"download_url":null,"expires_at":null,"created_at":"%[6]s","updated_at":"%[6]s",`+
		`"webhook":{"url":"%[7]s","events":["video.progress","video.completed","video.failed"],"has_secret":true,`+
		`"delivery":{"total_attempts":%[8]d,"delivered_events":%[9]d,"delivered_event_types":["video.created"],"pending_retries":0,`+
		`"next_retry_at":null,"last_attempt_at":"%[6]s","last_attempt_status":"delivered","last_response_status":200,`+
		`"last_delivered_at":"%[6]s","last_failure_at":null,"last_error_message":null}}}}`,
		j.ProviderJobID, key, now.Unix(), min(1+seq, 99), model, now.Format(time.RFC3339Nano), j.WebhookURL, seq+1, seq)
}

func setDeliveryHeaders(h http.Header, ts, sig string, seq int) {
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", "AI-Stats-Async-Webhook/1.0")
	h.Set("X-AI-Stats-Timestamp", ts)
	h.Set("X-AI-Stats-Signature", sig)
	h.Set("X-AI-Stats-Event-Type", "video.progress")
	h.Set("X-AI-Stats-Delivery-Key", fmt.Sprintf("video.progress.%d", seq))
	h.Set("X-AI-Stats-Attempt", "1")
}
