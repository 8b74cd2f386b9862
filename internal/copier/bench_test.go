package copier

import (
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime/debug"
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

// BenchmarkCopy1GiB and BenchmarkCopy4GiB copy the synthetic stream
// straight from memory into sink over TLS, as production S3 is reached: the
// SDK then sends each part as aws-chunked with UNSIGNED-PAYLOAD and a
// trailing CRC32, exactly the requests the store λ makes, at the cost of
// the sink decrypting every byte on the same machine.
//
//	go test -run '^$' -bench '^BenchmarkCopy[14]GiB' -benchtime 1x ./internal/copier
//
// They report the metrics of the HTTP benchmarks (http_bench_test.go), in
// the same run, against the same in-memory stream. The stream costs little
// more than a memcpy, so io.Copy of it into io.Discard runs at memory speed
// and x-iocopy is tiny by construction; x-sha256 and x-sha256mem are the
// ratios that say something here. The HTTP benchmarks are the ones to
// quote.
func BenchmarkCopy1GiB(b *testing.B) { benchmarkCopy(b, 1<<30) }
func BenchmarkCopy4GiB(b *testing.B) { benchmarkCopy(b, 4<<30) }

func benchmarkCopy(b *testing.B, size int64) {
	// As the store function runs copies (copier.GCPercent).
	defer debug.SetGCPercent(debug.SetGCPercent(GCPercent))
	sk := newSink()
	srv := httptest.NewTLSServer(sk)
	defer srv.Close()
	client := s3.New(s3.Options{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("bench", "bench", ""),
		BaseEndpoint: aws.String(srv.URL),
		HTTPClient:   srv.Client(),
		UsePathStyle: true,
	})
	open := func() io.ReadCloser { return io.NopCloser(newStream(size, 1)) }
	runCopyBenchmark(b, "memory-tls", size, open, New(client), sk)
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
		n, err := discard(r.Body)
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
		n, _ := discard(r.Body)
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

// discard reads r to the end in 256 KiB reads. io.Copy into io.Discard
// would make a read(2) per 8 KiB, and receiving the bytes costs the copier
// nothing in production, where S3 does it on its own machines.
func discard(r io.Reader) (int64, error) {
	var buf []byte
	select {
	case buf = <-discardBufs:
	default:
		buf = make([]byte, 256<<10)
	}
	defer func() {
		select {
		case discardBufs <- buf:
		default:
		}
	}()
	return io.CopyBuffer(struct{ io.Writer }{io.Discard}, r, buf)
}

// discardBufs keeps the sink's read buffers across garbage collections,
// which a sync.Pool would empty, so the sink adds no garbage per part to
// the heap the benchmarks measure.
var discardBufs = make(chan []byte, 16)

func writeXML(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/xml")
	_ = xml.NewEncoder(w).Encode(v)
}
