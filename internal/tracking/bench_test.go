package tracking_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/videojobs/videojobs/internal/job"
	"github.com/videojobs/videojobs/internal/tracking"
	"github.com/videojobs/videojobs/internal/tracking/trackingtest"
	"github.com/videojobs/videojobs/internal/webhook"
)

// BenchmarkReceive measures the webhook path's own cost (verify, parse,
// dedupe, one job write) with in-memory adapters, against the HMAC
// verification alone as the baseline in the same run: the ratio shows how
// much the domain logic adds to the unavoidable crypto. Network round trips
// (DynamoDB, the reconciling GET) dominate in production and are not here.
func BenchmarkReceive(b *testing.B) {
	body := payload("video.progress", "video.progress:50", 1, "processing", 50)
	// Baseline first, outside the timed loop: testing.Benchmark cannot
	// nest inside a running benchmark.
	d := signedBy(masterCurrent, body, testNow)
	v := webhook.NewVerifier(func() time.Time { return testNow })
	secrets := []string{webhook.DeriveSecret([]byte(masterCurrent), testJobID), webhook.DeriveSecret([]byte(masterPrevious), testJobID)}
	const baseN = 5000
	start := time.Now()
	for range baseN {
		if _, err := v.Verify(d.Headers, []byte(d.Body), secrets); err != nil {
			b.Fatal(err)
		}
	}
	baseline := time.Since(start) / baseN
	store := trackingtest.NewStore(openJob(job.Processing))
	recv := tracking.NewReceiver(store, &trackingtest.Provider{}, &trackingtest.Tasks{}, &trackingtest.Secrets{Current: masterCurrent, Previous: masterPrevious},
		nil, tracking.ReceiverConfig{MasterSecretARN: "arn:test", Now: func() time.Time { return testNow }})
	// Distinct payload ids, so every delivery takes the full path rather
	// than the duplicate one.
	deliveries := make([]tracking.Delivery, 1024)
	for i := range deliveries {
		p := payload("video.progress", fmt.Sprintf("video.progress:%d", i), 1, "processing", 50)
		deliveries[i] = signedBy(masterCurrent, p, testNow)
	}
	i := 0
	for b.Loop() {
		if _, err := recv.Receive(context.Background(), deliveries[i%len(deliveries)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(baseline.Nanoseconds()), "x-verify")
}
