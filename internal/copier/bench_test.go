package copier

import (
	"context"
	"crypto/sha256"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// The copy benchmarks stream synthetic videos through the real SDK and
// transfer manager into sink, a loopback S3 that discards part bodies:
// moto would keep gigabytes in memory and measure itself. The sink speaks
// TLS because production S3 does, and the SDK then streams parts with a
// trailing CRC32 and an unsigned payload instead of hashing each part for
// the signature, as it does against real S3.
//
//	go test -run '^$' -bench . -benchtime 1x ./internal/copier
//
// Each copy benchmark also measures, in the same run, plain io.Copy of the
// same stream to io.Discard and io.Copy of it into SHA-256, and reports its
// throughput as ratios of those ("x-iocopy", "x-sha256"), with peak
// HeapInuse and Sys sampled every 10 ms during the copy, and the peak live
// heap as of the last GC. HeapInuse includes garbage the GC has not yet
// collected, so its peak drifts up towards the GC goal (about twice the
// live heap with GOGC=100) as a longer copy makes more small garbage; the
// live heap is what the part buffers actually hold. The stream is a
// memcpy-cheap source, so io.Copy runs at memory speed and "x-iocopy" is
// tiny; SHA-256, which the copier must compute serially over every byte,
// is the ceiling that matters.

func BenchmarkCopy1GiB(b *testing.B) { benchmarkCopy(b, 1<<30) }
func BenchmarkCopy4GiB(b *testing.B) { benchmarkCopy(b, 4<<30) }

// BenchmarkIOCopyBaseline is plain io.Copy of the 1 GiB stream to
// io.Discard: the ceiling any copier of this source could reach.
func BenchmarkIOCopyBaseline(b *testing.B) {
	b.SetBytes(1 << 30)
	for b.Loop() {
		if _, err := io.Copy(io.Discard, newStream(1<<30, 1)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSHA256Baseline is io.Copy of the 1 GiB stream into SHA-256: the
// work the copier cannot avoid, so its ceiling in practice.
func BenchmarkSHA256Baseline(b *testing.B) {
	b.SetBytes(1 << 30)
	for b.Loop() {
		if _, err := io.Copy(sha256.New(), newStream(1<<30, 1)); err != nil {
			b.Fatal(err)
		}
	}
}

func benchmarkCopy(b *testing.B, size int64) {
	sink := newSink()
	srv := httptest.NewTLSServer(sink)
	defer srv.Close()
	client := s3.New(s3.Options{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("bench", "bench", ""),
		BaseEndpoint: aws.String(srv.URL),
		HTTPClient:   srv.Client(),
		UsePathStyle: true,
	})
	c := New(client)
	baseline := measure(func() {
		if _, err := io.Copy(io.Discard, newStream(size, 1)); err != nil {
			b.Fatal(err)
		}
	})
	hashOnly := measure(func() {
		if _, err := io.Copy(sha256.New(), newStream(size, 1)); err != nil {
			b.Fatal(err)
		}
	})

	runtime.GC()
	var peakHeap, peakSys, peakLive atomic.Uint64
	live := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	stop := make(chan struct{})
	var sampler sync.WaitGroup
	sampler.Add(1)
	go func() {
		defer sampler.Done()
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			peakHeap.Store(max(peakHeap.Load(), ms.HeapInuse))
			peakSys.Store(max(peakSys.Load(), ms.Sys))
			metrics.Read(live)
			peakLive.Store(max(peakLive.Load(), live[0].Value.Uint64()))
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()

	b.SetBytes(size)
	b.ResetTimer()
	var elapsed time.Duration
	for i := 0; b.Loop(); i++ {
		key := fmt.Sprintf("videos/vj_bench/%d.mp4", i)
		elapsed += measure(func() {
			res, err := c.Copy(context.Background(), Input{
				Bucket: "bench", Key: key, Body: newStream(size, 1), ContentLength: size, JobID: "vj_bench",
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
	close(stop)
	sampler.Wait()

	if got := sink.received.Load(); got < int64(b.N)*size {
		b.Fatalf("sink received %d bytes, want at least %d", got, int64(b.N)*size)
	}
	perCopy := elapsed / time.Duration(b.N)
	b.ReportMetric(float64(peakHeap.Load())/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(peakSys.Load())/(1<<20), "peak-sys-MiB")
	b.ReportMetric(float64(peakLive.Load())/(1<<20), "peak-live-MiB")
	b.ReportMetric(float64(size)/perCopy.Seconds()/1e6, "copy-MB/s")
	b.ReportMetric(float64(size)/baseline.Seconds()/1e6, "iocopy-MB/s")
	b.ReportMetric(baseline.Seconds()/perCopy.Seconds(), "x-iocopy")
	b.ReportMetric(hashOnly.Seconds()/perCopy.Seconds(), "x-sha256")
}

func measure(f func()) time.Duration {
	start := time.Now()
	f()
	return time.Since(start)
}

// sink is the smallest S3 the copier runs against: multipart uploads whose
// parts it counts and discards, CopyObject, HeadObject and DeleteObject.
type sink struct {
	received atomic.Int64
	mu       sync.Mutex
	uploads  map[string]int64  // upload id → bytes so far
	objects  map[string]object // key → object
	nextID   int
}

type object struct {
	size int64
	meta http.Header
}

func newSink() *sink {
	return &sink{uploads: map[string]int64{}, objects: map[string]object{}}
}

func (s *sink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	key := r.URL.Path // /bucket/key: the bucket does not matter here
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case r.Method == http.MethodPost && q.Has("uploads"):
		s.nextID++
		id := strconv.Itoa(s.nextID)
		s.uploads[id] = 0
		writeXML(w, struct {
			XMLName  xml.Name `xml:"InitiateMultipartUploadResult"`
			UploadID string   `xml:"UploadId"`
		}{UploadID: id})
	case r.Method == http.MethodPut && q.Has("partNumber"):
		id := q.Get("uploadId")
		if _, ok := s.uploads[id]; !ok {
			http.Error(w, "no such upload", http.StatusNotFound)
			return
		}
		// Parts arrive in parallel; count them outside the lock.
		s.mu.Unlock()
		n, err := io.Copy(io.Discard, r.Body)
		s.mu.Lock()
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if d := r.Header.Get("X-Amz-Decoded-Content-Length"); d != "" {
			n, _ = strconv.ParseInt(d, 10, 64) // the body carried aws-chunked framing
		}
		s.uploads[id] += n
		s.received.Add(n)
		w.Header().Set("ETag", `"part-`+q.Get("partNumber")+`"`)
	case r.Method == http.MethodPost && q.Has("uploadId"):
		id := q.Get("uploadId")
		_, _ = io.Copy(io.Discard, r.Body)
		s.objects[key] = object{size: s.uploads[id], meta: http.Header{}}
		delete(s.uploads, id)
		writeXML(w, struct {
			XMLName xml.Name `xml:"CompleteMultipartUploadResult"`
			Key     string
			ETag    string
		}{Key: key, ETag: `"done"`})
	case r.Method == http.MethodDelete && q.Has("uploadId"):
		delete(s.uploads, q.Get("uploadId"))
		w.WriteHeader(http.StatusNoContent)
	case r.Method == http.MethodPut && r.Header.Get("X-Amz-Copy-Source") != "":
		src := "/" + strings.TrimPrefix(r.Header.Get("X-Amz-Copy-Source"), "/")
		o, ok := s.objects[src]
		if !ok {
			http.Error(w, "no such key "+src, http.StatusNotFound)
			return
		}
		meta := http.Header{}
		for k, v := range r.Header {
			if strings.HasPrefix(k, "X-Amz-Meta-") {
				meta[k] = v
			}
		}
		s.objects[key] = object{size: o.size, meta: meta}
		writeXML(w, struct {
			XMLName xml.Name `xml:"CopyObjectResult"`
			ETag    string
		}{ETag: `"copy"`})
	case r.Method == http.MethodPut:
		n, _ := io.Copy(io.Discard, r.Body)
		s.received.Add(n)
		s.objects[key] = object{size: n, meta: http.Header{}}
	case r.Method == http.MethodHead:
		o, ok := s.objects[key]
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		for k, v := range o.meta {
			w.Header()[k] = v
		}
		w.Header().Set("Content-Length", strconv.FormatInt(o.size, 10))
	case r.Method == http.MethodDelete:
		delete(s.objects, key)
		w.WriteHeader(http.StatusNoContent)
	default:
		http.Error(w, "not implemented: "+r.Method+" "+r.URL.String(), http.StatusNotImplemented)
	}
}

func writeXML(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/xml")
	_ = xml.NewEncoder(w).Encode(v)
}
