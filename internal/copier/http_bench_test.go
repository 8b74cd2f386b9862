package copier

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go/middleware"

	"github.com/videojobs/videojobs/internal/simulator"
)

// The HTTP copy benchmarks copy a video that arrives the way the store λ
// receives it, over loopback HTTP from a server on 127.0.0.1, into a
// multipart upload on sink, a plain-HTTP S3 on 127.0.0.1 that counts and
// discards part bodies:
//
//	go test -run '^$' -bench '^BenchmarkCopyHTTP' -benchtime 1x -timeout 10m ./internal/copier
//
// Two sources serve the video, each at 1 GiB and 4 GiB:
//   - BenchmarkCopyHTTP*: the synthetic stream (a 1 MiB pseudo-random block
//     repeated), which costs the server little more than a memcpy;
//   - BenchmarkCopyHTTPSimulator*: the project's AI Stats simulator, a
//     completed job's GET /v1/videos/{id}/content (the sample MP4 and a
//     seeded ChaCha8 "free" box), as the store λ fetches it locally.
//
// In the same run, on the same source and HTTP client, each benchmark
// measures three baselines, each once before and once after the copies
// (the faster run counts, so a slow moment of the machine flatters no
// one):
//   - iocopy: io.Copy of the stream into io.Discard, which never touches
//     the bytes;
//   - sha256: io.Copy of the stream into SHA-256 (read, then hash, in one
//     goroutine), the per-byte work the copier cannot skip;
//   - sha256mem: SHA-256 over the same number of bytes already in memory,
//     what one core hashes with no I/O at all: the bound for a copier
//     whose one hasher goroutine runs beside its reading and uploading.
//
// Metrics:
//   - copy-MB/s, iocopy-MB/s, sha256-MB/s, sha256mem-MB/s; x-iocopy,
//     x-sha256 and x-sha256mem: copy throughput over each baseline's;
//     sha256-x-iocopy: the sha256 baseline over the iocopy one, the
//     fraction of io.Copy's speed left once every byte is also hashed;
//   - peak-heap-MiB (heap spans in use: objects and free slots in them),
//     peak-live-MiB (heap marked live by the last GC) and peak-sys-MiB
//     (everything the Go runtime has mapped), sampled every 2 ms with
//     runtime/metrics during the copies;
//   - peak-rss-MiB: the process's peak resident set during the copies
//     (Linux VmHWM, reset through /proc/self/clear_refs before them); it
//     counts what the heap metrics cannot see (the runtime's own memory,
//     freed heap not yet returned) and the benchmark's own source and sink;
//   - gc-cycles: garbage collections during the copies;
//   - on the 4 GiB runs, x-peak-heap-vs-1GiB and x-peak-rss-vs-1GiB: those
//     peaks over the 1 GiB run's of the same source in the same process.
//
// The copy's result is checked against the sha256 baseline's digest of the
// same stream, and the sink must have received every byte.
//
// The S3 client talks plain HTTP, so that decrypting TLS in the sink does
// not eat the second core of a two-core machine, and it sends
// UNSIGNED-PAYLOAD. Over TLS (production S3) the SDK sends parts with
// UNSIGNED-PAYLOAD and a trailing CRC32 and hashes nothing else; over
// plain HTTP it would otherwise also run SHA-256 over every part for the
// SigV4 payload hash, work that production does not do (unsignedPayload).
// The sink reads part bodies with 256 KiB reads, not io.Discard's 8 KiB,
// since in production receiving the bytes is S3's work on S3's machines.
//
// The copies run with the store function's GC target (GCPercent) and soft
// memory limit (MemoryBudget), which here also covers the source server
// and the sink in the same process; the baselines allocate next to
// nothing either way.
//
// Everything shares the machine: the source server, the copier and the
// sink run in one process, so on two cores the copy also pays for serving
// the video, for sending every byte over loopback a second time, and for
// receiving it; production's gateway and S3 do that elsewhere. Against
// the iocopy baseline, which pays only for serving and reading, the ratios
// are a floor.

func BenchmarkCopyHTTP1GiB(b *testing.B) { benchmarkCopyHTTP(b, "synthetic", 1<<30) }
func BenchmarkCopyHTTP4GiB(b *testing.B) { benchmarkCopyHTTP(b, "synthetic", 4<<30) }

func BenchmarkCopyHTTPSimulator1GiB(b *testing.B) { benchmarkCopyHTTP(b, "simulator", 1<<30) }
func BenchmarkCopyHTTPSimulator4GiB(b *testing.B) { benchmarkCopyHTTP(b, "simulator", 4<<30) }

// peaksBySource holds each source's 1 GiB peaks for its 4 GiB run's ratios.
var peaksBySource sync.Map // source name → memPeaks

func benchmarkCopyHTTP(b *testing.B, source string, size int64) {
	// As the store function runs copies (copier.GCPercent).
	defer debug.SetGCPercent(debug.SetGCPercent(GCPercent))
	var url string
	switch source {
	case "synthetic":
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "video/mp4")
			w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
			_, _ = io.Copy(w, newStream(size, 1))
		}))
		defer srv.Close()
		url = srv.URL + "/video.mp4"
	case "simulator":
		var stop func()
		url, stop = simulatorVideo(b, size)
		defer stop()
	}
	sk := newSink()
	sinkSrv := httptest.NewServer(sk)
	defer sinkSrv.Close()
	client := s3.New(s3.Options{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("bench", "bench", ""),
		BaseEndpoint: aws.String(sinkSrv.URL),
		UsePathStyle: true,
		HTTPClient:   &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}},
		APIOptions:   []func(*middleware.Stack) error{unsignedPayload},
	})
	httpc := &http.Client{Transport: &http.Transport{}}
	open := func() io.ReadCloser {
		req, err := http.NewRequest(http.MethodGet, url, nil)
		if err != nil {
			b.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+simulator.DefaultAPIKey)
		resp, err := httpc.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		if resp.StatusCode != http.StatusOK || resp.ContentLength != size {
			b.Fatalf("source: status %d, content-length %d; want 200, %d", resp.StatusCode, resp.ContentLength, size)
		}
		return resp.Body
	}
	c := New(client)
	// As the store function runs copies (functions/store).
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(c.MemoryBudget()))
	runCopyBenchmark(b, source, size, open, c, sk)
}

// runCopyBenchmark measures the baselines and the copies of the stream
// open returns, and reports the metrics described above.
func runCopyBenchmark(b *testing.B, source string, size int64, open func() io.ReadCloser, c *Copier, sk *sink) {
	drain := func(w io.Writer) time.Duration {
		return measure(func() {
			body := open()
			defer body.Close()
			if n, err := io.Copy(w, body); err != nil || n != size {
				b.Fatalf("io.Copy: %d bytes, %v", n, err)
			}
		})
	}
	discardBefore := drain(io.Discard)
	h := sha256.New()
	hashBefore := drain(h)
	sum := hex.EncodeToString(h.Sum(nil))
	hashMemBefore := hashInMemory(size)

	peaks := startPeakSampler()
	b.SetBytes(size)
	b.ResetTimer()
	var elapsed time.Duration
	for i := 0; b.Loop(); i++ {
		key := fmt.Sprintf("videos/vj_bench/%d.mp4", i)
		elapsed += measure(func() {
			body := open()
			defer body.Close()
			res, err := c.Copy(context.Background(), Input{
				Bucket: "bench", Key: key, Body: body, ContentLength: size, JobID: "vj_bench",
			})
			if err != nil {
				b.Fatal(err)
			}
			if res.Size != size || res.SHA256 != sum {
				b.Fatalf("copied %d bytes sha256 %s, want %d bytes sha256 %s", res.Size, res.SHA256, size, sum)
			}
		})
	}
	b.StopTimer()
	p := peaks.stop()
	baseline := min(discardBefore, drain(io.Discard))
	hashOnly := min(hashBefore, drain(sha256.New()))
	hashMem := min(hashMemBefore, hashInMemory(size))

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
	b.ReportMetric(baseline.Seconds()/hashOnly.Seconds(), "sha256-x-iocopy")
	b.ReportMetric(mbps(hashMem), "sha256mem-MB/s")
	b.ReportMetric(hashMem.Seconds()/perCopy.Seconds(), "x-sha256mem")
	p.report(b)
	switch size {
	case 1 << 30:
		peaksBySource.Store(source, p)
	case 4 << 30:
		if v, ok := peaksBySource.Load(source); ok {
			small := v.(memPeaks)
			b.ReportMetric(float64(p.heap)/float64(small.heap), "x-peak-heap-vs-1GiB")
			if p.rss > 0 && small.rss > 0 {
				b.ReportMetric(float64(p.rss)/float64(small.rss), "x-peak-rss-vs-1GiB")
			}
		}
	}
}

// hashInMemory times SHA-256 over size bytes already in memory (an 8 MiB
// buffer, hashed again and again): what one core can hash with no I/O at
// all, the bound for a copier whose hashing overlaps its reading.
func hashInMemory(size int64) time.Duration {
	buf := make([]byte, 8<<20)
	_, _ = newStream(int64(len(buf)), 1).Read(buf)
	h := sha256.New()
	return measure(func() {
		for n := int64(0); n < size; n += int64(len(buf)) {
			h.Write(buf[:min(int64(len(buf)), size-n)])
		}
	})
}

// unsignedPayload makes the S3 client send UNSIGNED-PAYLOAD over plain
// HTTP as it does over TLS. Setting the payload hash before the Finalize
// step keeps the SDK's checksum middleware from computing a SHA-256 of
// every part for the signature; swapping ComputePayloadSHA256 alone
// (v4.SwapComputePayloadSHA256ForUnsignedPayloadMiddleware) only changes
// the header, after the hash has been computed.
func unsignedPayload(stack *middleware.Stack) error {
	if err := v4.SwapComputePayloadSHA256ForUnsignedPayloadMiddleware(stack); err != nil {
		return err
	}
	return stack.Build.Add(middleware.BuildMiddlewareFunc("BenchUnsignedPayload",
		func(ctx context.Context, in middleware.BuildInput, next middleware.BuildHandler) (middleware.BuildOutput, middleware.Metadata, error) {
			return next.HandleBuild(v4.SetPayloadHash(ctx, "UNSIGNED-PAYLOAD"), in)
		}), middleware.After)
}

// simulatorVideo starts the AI Stats simulator on loopback, creates a job
// whose video is size bytes, lets it complete and returns the job's
// /content URL (which wants the simulator's Bearer key) and a function
// that stops the simulator.
func simulatorVideo(b *testing.B, size int64) (string, func()) {
	var later atomic.Int64 // simulated time skipped ahead, ns
	sim := simulator.New(simulator.Config{
		Now:   func() time.Time { return time.Now().Add(time.Duration(later.Load())) },
		Seed:  1,
		Sweep: -1,
	})
	srv := httptest.NewServer(sim)
	stop := func() {
		_ = sim.Close()
		srv.Close()
	}
	body, _ := json.Marshal(map[string]any{
		"model":  "google/veo-3.1-lite",
		"prompt": fmt.Sprintf("[sim queue=0s duration=1s size=%d] benchmark", size),
	})
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/videos", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+simulator.DefaultAPIKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		stop()
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var created struct {
		ID string `json:"id"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&created); err != nil || resp.StatusCode != http.StatusAccepted || created.ID == "" {
		stop()
		b.Fatalf("simulator create: status %d, id %q, %v", resp.StatusCode, created.ID, err)
	}
	later.Store(int64(time.Minute)) // the job's generation is over
	return srv.URL + "/v1/videos/" + created.ID + "/content", stop
}

// memPeaks are the peaks a peakSampler saw, in bytes; rss is 0 where the
// process's peak resident set cannot be read.
// gcs is how many garbage collections ran meanwhile.
type memPeaks struct{ heap, live, sys, rss, gcs uint64 }

func (p memPeaks) report(b *testing.B) {
	b.ReportMetric(float64(p.heap)/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(p.live)/(1<<20), "peak-live-MiB")
	b.ReportMetric(float64(p.sys)/(1<<20), "peak-sys-MiB")
	if p.rss > 0 {
		b.ReportMetric(float64(p.rss)/(1<<20), "peak-rss-MiB")
	}
	b.ReportMetric(float64(p.gcs), "gc-cycles")
}

// peakSampler records the peak heap in use, live heap and runtime-mapped
// memory every 2 ms (runtime/metrics, which does not stop the world as
// runtime.ReadMemStats does), and the peak RSS from the kernel's own
// high-water mark, which misses nothing between samples.
type peakSampler struct {
	heap, live, sys atomic.Uint64
	gcs             uint64 // GC cycles so far, at the start
	rssReset        bool
	done            chan struct{}
	wg              sync.WaitGroup
}

// startPeakSampler collects garbage and returns freed memory to the
// system first, so the peaks are the copy's and not what came before.
func startPeakSampler() *peakSampler {
	runtime.GC()
	debug.FreeOSMemory()
	p := &peakSampler{done: make(chan struct{}), gcs: gcCycles()}
	// Writing 5 resets the peak RSS (VmHWM) to the current RSS
	// (proc_pid_clear_refs(5), Linux 4.0+).
	p.rssReset = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
	samples := []metrics.Sample{
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/heap/unused:bytes"},
		{Name: "/gc/heap/live:bytes"},
		{Name: "/memory/classes/total:bytes"},
	}
	p.wg.Go(func() {
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(samples)
			p.heap.Store(max(p.heap.Load(), samples[0].Value.Uint64()+samples[1].Value.Uint64()))
			p.live.Store(max(p.live.Load(), samples[2].Value.Uint64()))
			p.sys.Store(max(p.sys.Load(), samples[3].Value.Uint64()))
			select {
			case <-p.done:
				return
			case <-t.C:
			}
		}
	})
	return p
}

func (p *peakSampler) stop() memPeaks {
	close(p.done)
	p.wg.Wait()
	m := memPeaks{heap: p.heap.Load(), live: p.live.Load(), sys: p.sys.Load(), gcs: gcCycles() - p.gcs}
	if p.rssReset {
		m.rss = vmHWM()
	}
	return m
}

func gcCycles() uint64 {
	s := []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// vmHWM is the process's peak resident set in bytes, or 0.
func vmHWM() uint64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}
