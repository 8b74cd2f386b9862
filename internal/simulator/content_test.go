package simulator

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestSampleIsMP4(t *testing.T) {
	if len(SampleMP4) < 1000 || string(SampleMP4[4:8]) != "ftyp" || len(SampleMP4) > 300<<10 {
		t.Fatalf("embedded sample: %d bytes, box %q", len(SampleMP4), SampleMP4[4:8])
	}
}

func TestContent(t *testing.T) {
	clk := newClock()
	h := start(t, Config{Now: clk.Now, Sweep: -1})
	id := h.create(map[string]any{"prompt": "[sim queue=0s duration=60s]"})

	r := h.do("GET", "/v1/videos/"+id+"/content", nil)
	if r.status != 409 || r.str("error") != "not_ready" || r.str("reason") != "video_not_ready" {
		t.Fatalf("before completion: %d %s", r.status, r.raw)
	}
	clk.Advance(time.Minute)
	// The content call itself finalises the job; Range is ignored.
	r = h.do("GET", "/v1/videos/"+id+"/content", nil, "Range", "bytes=0-99")
	if r.status != 200 || !bytes.Equal(r.raw, SampleMP4) {
		t.Fatalf("content: %d, %d bytes", r.status, len(r.raw))
	}
	for k, want := range map[string]string{
		"Content-Type": "video/mp4", "Cache-Control": "private, no-store",
		"Content-Length": strconv.Itoa(len(SampleMP4)), "Content-Disposition": "",
	} {
		if got := r.header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	sum, err := h.sim.ContentSHA256(id)
	if want := sha256.Sum256(SampleMP4); err != nil || sum != hex.EncodeToString(want[:]) {
		t.Errorf("ContentSHA256 = %s, %v", sum, err)
	}
	if r := h.do("GET", "/v1/videos/"+id+"/content?index=1", nil); r.status != 400 {
		t.Errorf("index past outputs: %d", r.status)
	}
	if r := h.do("GET", "/v1/videos/"+id+"/content?index=-1", nil); r.status != 400 {
		t.Errorf("negative index: %d", r.status)
	}
	if r := h.do("GET", "/v1/videos/"+id+"/content", nil, "Authorization", ""); r.status != 401 {
		t.Errorf("content without Bearer: %d", r.status)
	}
}

func TestContentTerminalErrors(t *testing.T) {
	clk := newClock()
	h := start(t, Config{Now: clk.Now, Sweep: -1})
	failed := h.create(map[string]any{"prompt": "[sim outcome=failed]"})
	expired := h.create(map[string]any{"prompt": "[sim outcome=expired]"})
	clk.Advance(time.Hour)
	r := h.do("GET", "/v1/videos/"+failed+"/content", nil)
	if r.status != 502 || r.str("error") != "upstream_error" || r.str("reason") != "video_generation_failed" || r.body["upstream_error"] == nil {
		t.Errorf("failed: %d %s", r.status, r.raw)
	}
	r = h.do("GET", "/v1/videos/"+expired+"/content", nil)
	if r.status != 409 || r.str("reason") != "video_expired" {
		t.Errorf("expired: %d %s", r.status, r.raw)
	}
}

func TestMultipleOutputs(t *testing.T) {
	clk := newClock()
	h := start(t, Config{Now: clk.Now, Sweep: -1})
	id := h.create(map[string]any{"prompt": "[sim size=100000]", "sample_count": 2})
	clk.Advance(time.Hour)
	r := h.get(id)
	outs, _ := r.body["outputs"].([]any)
	if len(outs) != 2 || path(outs[1], "index") != float64(1) || path(outs[1], "bytes_available") != true {
		t.Fatalf("outputs: %v", r.body["outputs"])
	}
	a := h.do("GET", "/v1/videos/"+id+"/content", nil)
	b := h.do("GET", "/v1/videos/"+id+"/content?index=1", nil)
	if a.status != 200 || b.status != 200 || len(a.raw) != 100000 || bytes.Equal(a.raw, b.raw) {
		t.Errorf("outputs 0 and 1: %d/%d, %d bytes, equal=%v", a.status, b.status, len(a.raw), bytes.Equal(a.raw, b.raw))
	}
}

func TestLargeSyntheticContent(t *testing.T) {
	clk := newClock()
	h := start(t, Config{Now: clk.Now, Sweep: -1, Seed: 9})
	const size = 5 << 20
	id := h.create(map[string]any{"prompt": "[sim size=5242880]"})
	clk.Advance(time.Hour)
	if r := h.get(id); path(r.body, "asset", "bytes") != float64(size) {
		t.Fatalf("asset.bytes = %v", path(r.body, "asset", "bytes"))
	}
	r := h.do("GET", "/v1/videos/"+id+"/content", nil)
	got := sha256.Sum256(r.raw)
	want, err := h.sim.ContentSHA256(id)
	if r.status != 200 || len(r.raw) != size || err != nil || hex.EncodeToString(got[:]) != want {
		t.Fatalf("content %d, %d bytes, sha %x vs %s (%v)", r.status, len(r.raw), got, want, err)
	}
	if again := h.do("GET", "/v1/videos/"+id+"/content", nil); !bytes.Equal(again.raw, r.raw) {
		t.Error("content not deterministic between fetches")
	}
	if !bytes.HasPrefix(r.raw, SampleMP4) || string(r.raw[len(SampleMP4)+4:len(SampleMP4)+8]) != "free" {
		t.Error("synthetic body is not the sample followed by a free box")
	}

	ffprobe, err := exec.LookPath("ffprobe")
	if err != nil {
		t.Log("ffprobe absent: playability of the padded file not checked")
		return
	}
	f := filepath.Join(t.TempDir(), "big.mp4")
	if err := os.WriteFile(f, r.raw, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(ffprobe, "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", f).CombinedOutput()
	if err != nil || !strings.HasPrefix(strings.TrimSpace(string(out)), "1.5") {
		t.Errorf("ffprobe on padded file: %v %s", err, out)
	}
}

func TestDownloadURL(t *testing.T) {
	clk := newClock()
	h := start(t, Config{Now: clk.Now, Sweep: -1})
	id := h.create(map[string]any{"prompt": "[sim queue=0s duration=10s]"})
	dl := "/v1/videos/" + id + "/download_url"
	if r := h.do("POST", dl, nil); r.status != 400 || r.str("reason") != "video_download_requires_completed_status" || r.str("status") != "processing" {
		t.Errorf("before completion: %d %s", r.status, r.raw)
	}
	clk.Advance(time.Minute)
	now := clk.Now().Unix()
	tests := []struct {
		name       string
		body       string
		wantStatus int
		wantReason string
		wantExp    int64
	}{
		{"empty", "", 200, "", now + 900},
		{"ttl clamp low", `{"ttl_seconds":5}`, 200, "", now + 60},
		{"ttl clamp high", `{"ttlSeconds":99999}`, 200, "", now + 3600},
		{"inline", `{"contentDisposition":"inline","ttl_seconds":120}`, 200, "", now + 120},
		{"ttl zero", `{"ttl_seconds":0}`, 400, "invalid_video_download_request", 0},
		{"bad disposition", `{"disposition":"download"}`, 400, "invalid_video_download_request", 0},
		{"non-object", `[1]`, 400, "invalid_video_download_request", 0},
		{"bad json", `{`, 400, "invalid_video_download_request_body", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.do("POST", dl, tt.body)
			if r.status != tt.wantStatus || r.str("reason") != tt.wantReason {
				t.Fatalf("got %d %s", r.status, r.raw)
			}
			if tt.wantStatus == 200 && r.body["expires_at"] != float64(tt.wantExp) {
				t.Errorf("expires_at = %v, want %d", r.body["expires_at"], tt.wantExp)
			}
		})
	}

	r := h.do("POST", dl, `{"ttl_seconds":60}`)
	signed := r.str("download_url")
	u, err := url.Parse(signed)
	if err != nil || u.Query().Get("download_token") == "" || u.Query().Get("download_sig") == "" || u.Query().Get("expires_at") == "" {
		t.Fatalf("signed url %q", signed)
	}
	// No Bearer needed.
	got := h.do("GET", signed, nil, "Authorization", "")
	if got.status != 200 || !bytes.Equal(got.raw, SampleMP4) || got.header.Get("Content-Disposition") != `attachment; filename="`+id+`.mp4"` {
		t.Fatalf("signed fetch: %d, %q", got.status, got.header.Get("Content-Disposition"))
	}
	tampered := strings.Replace(signed, "expires_at="+u.Query().Get("expires_at"), "expires_at=9999999999", 1)
	if r := h.do("GET", tampered, nil, "Authorization", ""); r.status != 403 || r.str("reason") != "signed_download_invalid" {
		t.Errorf("tampered: %d %s", r.status, r.raw)
	}
	other := h.create(map[string]any{"prompt": "p"})
	mismatch := strings.Replace(signed, "/videos/"+id+"/", "/videos/"+other+"/", 1)
	if r := h.do("GET", mismatch, nil, "Authorization", ""); r.status != 400 || r.str("reason") != "signed_download_video_mismatch" {
		t.Errorf("other job: %d %s", r.status, r.raw)
	}
	clk.Advance(61 * time.Second)
	if r := h.do("GET", signed, nil, "Authorization", ""); r.status != 403 || r.str("reason") != "signed_download_expired" {
		t.Errorf("expired url: %d %s", r.status, r.raw)
	}
}

func TestOutputAccess(t *testing.T) {
	clk := newClock()
	h := start(t, Config{Now: clk.Now, Sweep: -1})
	bytesOnly := h.create(map[string]any{"prompt": "p", "output": map[string]any{"access": "bytes"}})
	signedOnly := h.create(map[string]any{"prompt": "p", "output": map[string]any{"access": "signed_url"}})
	clk.Advance(time.Hour)
	b := h.get(bytesOnly)
	if _, has := b.body["download_url"]; has || b.str("content_url") == "" {
		t.Errorf("bytes: %s", b.raw)
	}
	if r := h.do("POST", "/v1/videos/"+bytesOnly+"/download_url", nil); r.status != 400 {
		t.Errorf("bytes download_url: %d", r.status)
	}
	s := h.get(signedOnly)
	if _, has := s.body["content_url"]; has || s.str("download_url") == "" {
		t.Errorf("signed_url: %s", s.raw)
	}
	if r := h.do("GET", "/v1/videos/"+signedOnly+"/content", nil); r.status != 400 || r.str("reason") != "video_content_unsupported" {
		t.Errorf("bearer content of signed_url job: %d %s", r.status, r.raw)
	}
	if r := h.do("GET", s.str("download_url"), nil, "Authorization", ""); r.status != 200 {
		t.Errorf("signed fetch: %d", r.status)
	}
}

func TestContentFaults(t *testing.T) {
	clk := newClock()
	h := start(t, Config{Now: clk.Now, Sweep: -1, SlowFirstByte: time.Millisecond, ThrottleBytesPerSecond: 1 << 20})
	mk := func(fault string) string {
		return h.create(map[string]any{"prompt": "[sim size=200000 faults=" + fault + "]"})
	}
	cut, short, wrong, slow, throttle, expired := mk("truncate"), mk("short_length"), mk("wrong_type"), mk("slow_first_byte"), mk("throttle"), mk("expired_url")
	clk.Advance(time.Hour)

	fetch := func(id string) (*http.Response, []byte, error) {
		req, _ := http.NewRequest("GET", h.srv.URL+"/v1/videos/"+id+"/content", nil)
		req.Header.Set("Authorization", "Bearer "+h.key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, nil, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp, b, err
	}
	resp, b, err := fetch(cut)
	if err == nil || !errors.Is(err, io.ErrUnexpectedEOF) || resp.ContentLength != 200000 || len(b) >= 200000 {
		t.Errorf("truncate_cut: err %v, declared %d, got %d", err, resp.ContentLength, len(b))
	}
	resp, b, err = fetch(short)
	if err != nil || resp.ContentLength != 100000 || len(b) != 100000 {
		t.Errorf("truncate_short: err %v, declared %d, got %d", err, resp.ContentLength, len(b))
	}
	resp, _, err = fetch(wrong)
	if err != nil || resp.Header.Get("Content-Type") == "video/mp4" {
		t.Errorf("wrong_type: %v %q", err, resp.Header.Get("Content-Type"))
	}
	for _, id := range []string{slow, throttle} {
		if resp, b, err := fetch(id); err != nil || resp.StatusCode != 200 || len(b) != 200000 {
			t.Errorf("%s: %v %d bytes", id, err, len(b))
		}
	}
	// Forced faults hit the first forcedCount fetches only, so a client
	// that restarts from byte 0 gets the whole file.
	for range forcedCount - 1 {
		_, _, _ = fetch(cut)
	}
	if _, b, err := fetch(cut); err != nil || len(b) != 200000 {
		t.Errorf("after forced faults: %v %d bytes", err, len(b))
	}
	dl := h.do("POST", "/v1/videos/"+expired+"/download_url", nil)
	if r := h.do("GET", dl.str("download_url"), nil, "Authorization", ""); r.status != 403 || r.str("reason") != "signed_download_expired" {
		t.Errorf("expired_url fault: %d %s", r.status, r.raw)
	}
	var faults []string
	for _, r := range h.sim.Requests() {
		if r.Fault != "" {
			faults = append(faults, r.Fault)
		}
	}
	if len(faults) < 6 {
		t.Errorf("recorded faults %v", faults)
	}
}
