package copier

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"runtime/metrics"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go/middleware"
)

// The HTTP copy benchmarks compare the copier with the fairest baseline:
// plain io.Copy into io.Discard of the same video stream, arriving the same
// way the store λ receives it, over loopback HTTP from a server on
// 127.0.0.1. The synthetic in-memory stream of BenchmarkCopy1GiB costs
// almost nothing to read, which makes its x-iocopy ratio meaningless.
//
// The S3 sink is plain HTTP on 127.0.0.1, so decrypting TLS in the sink
// does not eat the second core of a two-core machine. Over plain HTTP the
// SDK would otherwise sha256 every part for the SigV4 payload hash; over
// TLS (production S3) it sends UNSIGNED-PAYLOAD with a trailing checksum
// instead, so the client here is told to do the same and pays no hash that
// production does not pay.
//
//	go test -run '^$' -bench CopyHTTP -benchtime 1x ./internal/copier
//
// Metrics: copy-MB/s, iocopy-MB/s and x-iocopy (copy throughput / io.Copy
// throughput); sha256-MB/s and x-sha256 (io.Copy of the same HTTP stream
// into SHA-256, the per-byte work the copier cannot avoid); and peak heap
// in use, peak live heap and peak Sys during the copy. Each baseline runs
// just before and just after the copies and the faster run counts.
//
// Everything shares the machine: the source server, the copier and the
// sink run in one process, so on two cores the copy also pays for
// serving and for receiving every byte, which production's remote
// gateway and S3 do elsewhere. The ratios are therefore a floor.

func BenchmarkCopyHTTP1GiB(b *testing.B) { benchmarkCopyHTTP(b, 1<<30) }
func BenchmarkCopyHTTP4GiB(b *testing.B) { benchmarkCopyHTTP(b, 4<<30) }

func benchmarkCopyHTTP(b *testing.B, size int64) {
	source := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "video/mp4")
		w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
		_, _ = io.Copy(w, newStream(size, 1))
	}))
	defer source.Close()
	sk := newSink()
	sinkSrv := httptest.NewServer(sk)
	defer sinkSrv.Close()

	client := s3.New(s3.Options{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("bench", "bench", ""),
		BaseEndpoint: aws.String(sinkSrv.URL),
		UsePathStyle: true,
		HTTPClient:   &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}},
		APIOptions:   []func(*middleware.Stack) error{v4.SwapComputePayloadSHA256ForUnsignedPayloadMiddleware},
	})
	c := New(client)
	httpc := &http.Client{Transport: &http.Transport{}}

	get := func() *http.Response {
		resp, err := httpc.Get(source.URL + "/video.mp4")
		if err != nil {
			b.Fatal(err)
		}
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("source status %d", resp.StatusCode)
		}
		return resp
	}
	drain := func(w io.Writer) time.Duration {
		return measure(func() {
			resp := get()
			defer resp.Body.Close()
			n, err := io.Copy(w, resp.Body)
			if err != nil || n != size {
				b.Fatalf("io.Copy: %d bytes, %v", n, err)
			}
		})
	}

	discardBefore := drain(io.Discard)
	hashBefore := drain(sha256.New())

	runtime.GC()
	peaks := startPeakSampler()
	b.SetBytes(size)
	b.ResetTimer()
	var elapsed time.Duration
	for i := 0; b.Loop(); i++ {
		key := fmt.Sprintf("videos/vj_bench/%d.mp4", i)
		elapsed += measure(func() {
			resp := get()
			defer resp.Body.Close()
			res, err := c.Copy(context.Background(), Input{
				Bucket: "bench", Key: key, Body: resp.Body, ContentLength: resp.ContentLength, JobID: "vj_bench",
			})
			if err != nil {
				b.Fatal(err)
			}
			if res.Size != size {
				b.Fatalf("copied %d bytes, want %d", res.Size, size)
			}
		})
	}
	b.StopTimer()
	heap, live, sys := peaks.stop()
	// The baselines are ceilings: take the faster of the runs before and
	// after the copies, so a slow moment of the machine flatters no one.
	baseline := min(discardBefore, drain(io.Discard))
	hashOnly := min(hashBefore, drain(sha256.New()))

	if got := sk.received.Load(); got < int64(b.N)*size {
		b.Fatalf("sink received %d bytes, want at least %d", got, int64(b.N)*size)
	}
	perCopy := elapsed / time.Duration(b.N)
	mbps := func(d time.Duration) float64 { return float64(size) / d.Seconds() / 1e6 }
	b.ReportMetric(mbps(perCopy), "copy-MB/s")
	b.ReportMetric(mbps(baseline), "iocopy-MB/s")
	b.ReportMetric(mbps(hashOnly), "sha256-MB/s")
	b.ReportMetric(baseline.Seconds()/perCopy.Seconds(), "x-iocopy")
	b.ReportMetric(hashOnly.Seconds()/perCopy.Seconds(), "x-sha256")
	b.ReportMetric(float64(heap)/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(live)/(1<<20), "peak-live-MiB")
	b.ReportMetric(float64(sys)/(1<<20), "peak-sys-MiB")
}

// peakSampler records the peak HeapInuse, live heap (as of the last GC) and
// Sys every 10 ms until stopped.
type peakSampler struct {
	heap, live, sys atomic.Uint64
	done            chan struct{}
	wg              sync.WaitGroup
}

func startPeakSampler() *peakSampler {
	p := &peakSampler{done: make(chan struct{})}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			metrics.Read(sample)
			p.heap.Store(max(p.heap.Load(), ms.HeapInuse))
			p.sys.Store(max(p.sys.Load(), ms.Sys))
			p.live.Store(max(p.live.Load(), sample[0].Value.Uint64()))
			select {
			case <-p.done:
				return
			case <-t.C:
			}
		}
	}()
	return p
}

func (p *peakSampler) stop() (heap, live, sys uint64) {
	close(p.done)
	p.wg.Wait()
	return p.heap.Load(), p.live.Load(), p.sys.Load()
}
