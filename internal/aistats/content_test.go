package aistats

import (
	"errors"
	"io"
	"net/http"
	"runtime"
	"strconv"
	"testing"
	"time"
)

// TestContentStreamsWithoutBuffering pulls a 256 MiB body, generated on the
// fly by the server, through Content into io.Discard and checks that the
// heap never holds more than a small fraction of it.
func TestContentStreamsWithoutBuffering(t *testing.T) {
	const size = 256 << 20
	const chunk = 64 << 10
	g := newGateway(t, func(w http.ResponseWriter, r *http.Request, n int) {
		w.Header().Set("Content-Type", "video/mp4")
		w.Header().Set("Content-Length", strconv.Itoa(size))
		buf := make([]byte, chunk)
		for i := range buf {
			buf[i] = byte(i)
		}
		for range size / chunk {
			if _, err := w.Write(buf); err != nil {
				return
			}
		}
	})
	c := g.client()

	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)

	ct, err := c.Content(t.Context(), "G-1", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer ct.Body.Close()
	if ct.Length != size || ct.ContentType != "video/mp4" {
		t.Errorf("Length = %d, ContentType = %q", ct.Length, ct.ContentType)
	}
	s := &heapSampler{r: ct.Body, every: 8 << 20}
	n, err := io.Copy(io.Discard, s)
	if err != nil || n != size {
		t.Fatalf("copied %d bytes, err %v; want %d", n, err, size)
	}
	var after runtime.MemStats
	runtime.ReadMemStats(&after)

	const limit = 16 << 20
	peak := s.peakHeapInuse - min(s.peakHeapInuse, before.HeapInuse)
	allocated := after.TotalAlloc - before.TotalAlloc
	t.Logf("streamed %d MiB: heap in use grew by at most %.1f MiB over %d samples; %.1f MiB allocated in total",
		size>>20, float64(peak)/(1<<20), s.samples, float64(allocated)/(1<<20))
	if s.samples < 16 {
		t.Errorf("only %d heap samples taken", s.samples)
	}
	if peak > limit {
		t.Errorf("heap in use grew by %d bytes while streaming, want < %d", peak, limit)
	}
	if allocated > limit {
		t.Errorf("allocated %d bytes while streaming %d, want < %d", allocated, size, limit)
	}
}

// heapSampler samples HeapInuse every `every` bytes read.
type heapSampler struct {
	r             io.Reader
	every, since  int
	samples       int
	peakHeapInuse uint64
}

func (h *heapSampler) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	h.since += n
	if h.since >= h.every {
		h.since = 0
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		h.samples++
		h.peakHeapInuse = max(h.peakHeapInuse, m.HeapInuse)
	}
	return n, err
}

func TestContentRequest(t *testing.T) {
	g := newGateway(t, func(w http.ResponseWriter, r *http.Request, n int) {
		w.Header().Set("Content-Type", "video/webm")
		w.(http.Flusher).Flush() // chunked: no Content-Length
		io.WriteString(w, "abc")
	})
	ct, err := g.client().Content(t.Context(), "G-1", 2)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(ct.Body)
	ct.Body.Close()
	if err != nil || string(b) != "abc" || ct.Length != -1 || ct.ContentType != "video/webm" {
		t.Errorf("content = %q, len %d, type %q, err %v", b, ct.Length, ct.ContentType, err)
	}
	r := g.requests()[0]
	if r.Path != "/v1/videos/G-1/content" || r.RawQuery != "index=2" || r.Auth != "Bearer "+testKey {
		t.Errorf("request = %s?%s (bearer %v)", r.Path, r.RawQuery, r.Auth != "")
	}
	if _, err := g.client().Content(t.Context(), "G-1", -1); !errors.Is(err, ErrInvalidRequest) {
		t.Errorf("negative index: err = %v", err)
	}
}

func TestContentErrors(t *testing.T) {
	tests := []struct {
		name     string
		status   int
		body     string
		want     error
		requests int
	}{
		{"not ready", 409, `{"error":"not_ready","reason":"video_not_ready"}`, ErrNotReady, 1},
		{"cancelled job", 409, `{"error":"not_ready","reason":"video_cancelled"}`, ErrNotReady, 1},
		{"deleted", 404, `{"error":"not_found","reason":"video_deleted"}`, ErrDeleted, 1},
		{"generation failed", 502, `{"error":"upstream_error","reason":"video_generation_failed"}`, ErrTransient, 5},
		{"feature off", 501, `{"error":"not_implemented_yet","reason":"video_api_temporarily_disabled"}`, ErrFeatureOff, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newGateway(t, func(w http.ResponseWriter, r *http.Request, n int) { reply(w, tt.status, tt.body) })
			_, err := g.client().Content(t.Context(), "G-1", 0)
			if !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
			if got := len(g.requests()); got != tt.requests {
				t.Errorf("requests = %d, want %d", got, tt.requests)
			}
		})
	}
}

func TestContentRetriesBeforeTheBody(t *testing.T) {
	g := newGateway(t, func(w http.ResponseWriter, r *http.Request, n int) {
		switch n {
		case 0:
			hang(r) // no headers within the first-byte timeout
		case 1:
			resetConnection(t, w)
		case 2:
			w.Header().Set("Retry-After", "1")
			reply(w, 503, `{"error":"gateway_error"}`)
		default:
			io.WriteString(w, "video")
		}
	})
	ct, err := g.client(WithContentFirstByteTimeout(200*time.Millisecond)).Content(t.Context(), "G-1", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer ct.Body.Close()
	if b, _ := io.ReadAll(ct.Body); string(b) != "video" {
		t.Errorf("body = %q", b)
	}
	if got := len(g.requests()); got != 4 {
		t.Errorf("requests = %d, want 4", got)
	}
}

// TestContentSlowBodyIsNotCut checks that the first-byte timeout stops
// applying once headers arrive: a body slower than it still completes.
func TestContentSlowBodyIsNotCut(t *testing.T) {
	g := newGateway(t, func(w http.ResponseWriter, r *http.Request, n int) {
		w.Header().Set("Content-Length", "10")
		w.WriteHeader(200)
		io.WriteString(w, "01234")
		w.(http.Flusher).Flush()
		time.Sleep(400 * time.Millisecond)
		io.WriteString(w, "56789")
	})
	ct, err := g.client(WithContentFirstByteTimeout(100*time.Millisecond), WithTimeout(100*time.Millisecond)).Content(t.Context(), "G-1", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer ct.Body.Close()
	b, err := io.ReadAll(ct.Body)
	if err != nil || string(b) != "0123456789" {
		t.Errorf("body = %q, err %v", b, err)
	}
}

func TestContentTruncatedBody(t *testing.T) {
	g := newGateway(t, func(w http.ResponseWriter, r *http.Request, n int) {
		w.Header().Set("Content-Length", "1000")
		w.WriteHeader(200)
		io.WriteString(w, "only a little")
	})
	ct, err := g.client().Content(t.Context(), "G-1", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer ct.Body.Close()
	_, err = io.Copy(io.Discard, ct.Body)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("reading a short body: err = %v, want io.ErrUnexpectedEOF", err)
	}
	if len(g.requests()) != 1 {
		t.Errorf("requests = %d: a cut body is the caller's to restart", len(g.requests()))
	}
}

func TestContentCallerCancelStopsStream(t *testing.T) {
	g := newGateway(t, func(w http.ResponseWriter, r *http.Request, n int) {
		w.WriteHeader(200)
		w.(http.Flusher).Flush()
		hang(r)
	})
	ctx, cancel := contextWithCancel(t)
	ct, err := g.client().Content(ctx, "G-1", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer ct.Body.Close()
	cancel()
	if _, err := io.ReadAll(ct.Body); err == nil {
		t.Errorf("read after cancel succeeded")
	}
}
