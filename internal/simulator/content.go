package simulator

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// SampleMP4 is a real 1.5 s, 160x90 H.264/AAC MP4 (14 KB), served as every
// job's content unless its script asks for a larger size. It was made once
// with Debian's ffmpeg 5.1:
//
//	ffmpeg -f lavfi -i testsrc2=size=160x90:rate=12:duration=1.5 \
//	  -f lavfi -i sine=frequency=440:duration=1.5 -c:v libx264 -profile:v baseline \
//	  -pix_fmt yuv420p -preset veryslow -crf 32 -c:a aac -b:a 24k \
//	  -movflags +faststart -shortest sample.mp4
//
//go:embed testdata/sample.mp4
var SampleMP4 []byte

// contentSize is the byte size of output index of a job. Sizes too small to
// hold the sample plus a padding box serve the sample as is.
func (s *Server) contentSize(j *job, index int) int64 {
	if j.plan.Size < int64(len(SampleMP4))+16 {
		return int64(len(SampleMP4))
	}
	return j.plan.Size
}

// contentReader streams the output deterministically: the sample MP4, then
// (for larger sizes) one top-level "free" box of seeded bytes, which players
// skip, so the file stays playable at any size and is never held in memory.
func (s *Server) contentReader(j *job, index int) io.Reader {
	size := s.contentSize(j, index)
	if size == int64(len(SampleMP4)) {
		return bytes.NewReader(SampleMP4)
	}
	box := size - int64(len(SampleMP4))
	var hdr []byte
	if box <= math.MaxUint32 {
		hdr = binary.BigEndian.AppendUint32(nil, uint32(box))
		hdr = append(hdr, "free"...)
	} else {
		hdr = binary.BigEndian.AppendUint32(nil, 1)
		hdr = append(hdr, "free"...)
		hdr = binary.BigEndian.AppendUint64(hdr, uint64(box))
	}
	stream := newStream(s.cfg.Seed, "content", strconv.Itoa(j.seq), strconv.Itoa(index))
	return io.MultiReader(bytes.NewReader(SampleMP4), bytes.NewReader(hdr),
		io.LimitReader(stream, box-int64(len(hdr))))
}

// ContentSHA256 returns the hex sha256 of a job's output 0 as /content
// serves it (without faults), computed by streaming, never storing, the
// body. The result is cached.
func (s *Server) ContentSHA256(jobID string) (string, error) {
	return s.contentSHA256(jobID, 0)
}

func (s *Server) contentSHA256(jobID string, index int) (string, error) {
	key := jobID + "#" + strconv.Itoa(index)
	s.mu.Lock()
	j := s.jobs[jobID]
	cached, ok := s.shaCache[key]
	s.mu.Unlock()
	if j == nil {
		return "", fmt.Errorf("content sha256 of %s: no such job", jobID)
	}
	if ok {
		return cached, nil
	}
	h := sha256.New()
	if _, err := io.Copy(h, s.contentReader(j, index)); err != nil {
		return "", fmt.Errorf("content sha256 of %s: %w", jobID, err)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	s.mu.Lock()
	s.shaCache[key] = sum
	s.mu.Unlock()
	return sum, nil
}

// ContentSize returns the byte size of a job's output 0.
func (s *Server) ContentSize(jobID string) (int64, error) {
	s.mu.Lock()
	j := s.jobs[jobID]
	s.mu.Unlock()
	if j == nil {
		return 0, fmt.Errorf("content size of %s: no such job", jobID)
	}
	return s.contentSize(j, 0), nil
}

// signURL issues a signed content URL valid for ttl seconds of real time.
func (s *Server) signURL(j *job, index, ttl int, disposition string, now time.Time) (string, int64) {
	exp := now.Unix() + int64(ttl)
	token := base64.RawURLEncoding.EncodeToString([]byte(j.id + ":" + s.newID("")))
	q := url.Values{}
	q.Set("download_token", token)
	q.Set("expires_at", strconv.FormatInt(exp, 10))
	q.Set("download_sig", s.downloadSig(j.id, index, exp, token, disposition))
	if index > 0 {
		q.Set("index", strconv.Itoa(index))
	}
	if disposition == "inline" {
		q.Set("disposition", "inline")
	}
	return j.base + "/v1/videos/" + j.id + "/content?" + q.Encode(), exp
}

func (s *Server) downloadSig(id string, index int, exp int64, token, disposition string) string {
	m := hmac.New(sha256.New, s.signKey)
	fmt.Fprintf(m, "%s\n%d\n%d\n%s\n%s", id, index, exp, token, disposition)
	return hex.EncodeToString(m.Sum(nil))
}

// checkSigned validates a signed content request. It returns "" when valid,
// else the status, code and reason to answer. Expired and forged URLs answer
// 403 (the contract leaves these codes open; see doc.go).
func (s *Server) checkSigned(r *http.Request, id string, index int) (int, string, string) {
	q := r.URL.Query()
	token := q.Get("download_token")
	raw, err := base64.RawURLEncoding.DecodeString(token)
	tokenID, _, _ := strings.Cut(string(raw), ":")
	if err != nil || tokenID == "" {
		return http.StatusForbidden, "forbidden", "signed_download_invalid"
	}
	if tokenID != id {
		return http.StatusBadRequest, "validation_error", "signed_download_video_mismatch"
	}
	exp, err := strconv.ParseInt(q.Get("expires_at"), 10, 64)
	disposition := "attachment"
	if q.Get("disposition") == "inline" {
		disposition = "inline"
	}
	want := s.downloadSig(id, index, exp, token, disposition)
	if err != nil || !hmac.Equal([]byte(want), []byte(q.Get("download_sig"))) {
		return http.StatusForbidden, "forbidden", "signed_download_invalid"
	}
	if s.now().Unix() > exp {
		return http.StatusForbidden, "forbidden", "signed_download_expired"
	}
	return 0, "", ""
}

func parseIndex(v string) (int, bool) {
	if v == "" {
		return 0, true
	}
	n, err := strconv.Atoi(v)
	return n, err == nil && n >= 0
}

var contentFaults = []string{FaultContentSlowFirstByte, FaultContentThrottle, FaultContentTruncateCut,
	FaultContentTruncateShort, FaultContentWrongType}

// handleContent is GET /v1/videos/{id}/content, by Bearer or signed URL.
// Range is ignored: the whole file always comes back with 200.
func (s *Server) handleContent(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	note(r).JobID = id
	index, ok := parseIndex(r.URL.Query().Get("index"))
	if !ok {
		s.validationError(w, r, "invalid_video_content_index", detail{Message: "must be an integer >= 0", Path: []any{"index"}, Keyword: "minimum", Params: map[string]any{"limit": 0}})
		return
	}
	signed := r.URL.Query().Has("download_sig")
	if signed {
		note(r).Signed = true
		if status, code, reason := s.checkSigned(r, id, index); status != 0 {
			s.writeError(w, r, status, code, reason, "The signed download URL is not valid.", nil)
			return
		}
	}
	j, ok := s.lookup(w, r)
	if !ok {
		return
	}
	now := s.now()
	st := s.Settings()
	j.mu.Lock()
	evs := j.check(now, s.phaseo(), st.NullProgress)
	status, access, outputs := j.status, j.req.access, j.req.sampleCount
	var upstream map[string]any
	if status == statusFailed {
		upstream = j.upstreamError()
	}
	active := map[string]bool{}
	expiredURL := false
	if status == statusCompleted {
		j.contentCount++
		for _, f := range contentFaults {
			active[f] = s.countedFault(j, f, st.Faults, "content", j.contentCount)
		}
		expiredURL = signed && s.countedFault(j, FaultContentExpiredURL, st.Faults, "content", j.contentCount)
	}
	size := s.contentSize(j, index)
	ctype := j.contentType()
	j.mu.Unlock()
	s.fire(j, evs)

	switch status {
	case statusQueued, statusProcessing:
		s.writeError(w, r, http.StatusConflict, "not_ready", "video_not_ready", "The video is not ready yet.", map[string]any{"status": status, "video_id": id})
		return
	case statusCancelled:
		s.writeError(w, r, http.StatusConflict, "not_ready", "video_cancelled", "The video was cancelled.", map[string]any{"status": status, "video_id": id})
		return
	case statusExpired:
		s.writeError(w, r, http.StatusConflict, "not_ready", "video_expired", "The video expired.", map[string]any{"status": status, "video_id": id})
		return
	case statusFailed:
		s.writeError(w, r, http.StatusBadGateway, "upstream_error", "video_generation_failed", "The video generation failed.",
			map[string]any{"upstream_error": upstream, "video_id": id})
		return
	}
	if expiredURL {
		note(r).Fault = FaultContentExpiredURL
		s.writeError(w, r, http.StatusForbidden, "forbidden", "signed_download_expired", "The signed download URL is not valid.", nil)
		return
	}
	if !signed && access == "signed_url" {
		s.writeError(w, r, http.StatusBadRequest, "not_supported", "video_content_unsupported",
			"This video is only available through signed download URLs.", nil)
		return
	}
	if index >= outputs {
		s.validationError(w, r, "invalid_video_content_index", detail{Message: "no output at this index", Path: []any{"index"}, Keyword: "maximum", Params: map[string]any{"limit": outputs - 1}})
		return
	}
	s.serveBody(w, r, j, index, size, ctype, signed, active)
}

func (s *Server) serveBody(w http.ResponseWriter, r *http.Request, j *job, index int, size int64, ctype string, signed bool, active map[string]bool) {
	var faults []string
	for _, f := range contentFaults {
		if active[f] {
			faults = append(faults, f)
		}
	}
	note(r).Fault = strings.Join(faults, ",")
	if active[FaultContentSlowFirstByte] && !s.sleep(r.Context(), s.cfg.SlowFirstByte) {
		return
	}
	if active[FaultContentWrongType] {
		ctype = "binary/octet-stream"
	}
	h := w.Header()
	h.Set("Content-Type", ctype)
	h.Set("Cache-Control", "private, no-store")
	if signed {
		disp := "attachment"
		if r.URL.Query().Get("disposition") == "inline" {
			disp = "inline"
		}
		h.Set("Content-Disposition", fmt.Sprintf("%s; filename=%q", disp, j.id+".mp4"))
	}
	send := size
	switch {
	case active[FaultContentTruncateShort]:
		// The declared length and the body agree, but both are short of
		// asset.bytes: only a size check against the job catches it.
		send = size / 2
		h.Set("Content-Length", strconv.FormatInt(send, 10))
	case active[FaultContentTruncateCut]:
		h.Set("Content-Length", strconv.FormatInt(size, 10))
		send = size / 2
	default:
		h.Set("Content-Length", strconv.FormatInt(size, 10))
	}
	w.WriteHeader(http.StatusOK)
	body := io.LimitReader(s.contentReader(j, index), send)
	var err error
	if active[FaultContentThrottle] {
		err = s.throttledCopy(r, w, body)
	} else {
		_, err = io.Copy(w, body)
	}
	if err == nil && active[FaultContentTruncateCut] {
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		// Abort the connection with the promised bytes unsent.
		panic(http.ErrAbortHandler)
	}
}

// throttledCopy writes at ThrottleBytesPerSecond in 10 chunks a second.
func (s *Server) throttledCopy(r *http.Request, w http.ResponseWriter, body io.Reader) error {
	chunk := max(s.cfg.ThrottleBytesPerSecond/10, 1)
	buf := make([]byte, chunk)
	for {
		n, err := io.ReadFull(body, buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return werr
			}
			if f, ok := w.(http.Flusher); ok {
				f.Flush()
			}
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if !s.sleep(r.Context(), 100*time.Millisecond) {
			return r.Context().Err()
		}
	}
}

// handleDownloadURL is POST /v1/videos/{id}/download_url.
func (s *Server) handleDownloadURL(w http.ResponseWriter, r *http.Request) {
	raw, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err != nil {
		s.writeError(w, r, http.StatusBadRequest, "invalid_json", "invalid_video_download_request_body", "Could not read the body.", nil)
		return
	}
	index, ttl, disposition := 0, 900, "attachment"
	bad := func(msg string) {
		s.validationError(w, r, "invalid_video_download_request", detail{Message: msg, Path: []any{}, Keyword: "custom", Params: map[string]any{}})
	}
	if len(bytes.TrimSpace(raw)) > 0 {
		var anyBody any
		if json.Unmarshal(raw, &anyBody) != nil {
			s.writeError(w, r, http.StatusBadRequest, "invalid_json", "invalid_video_download_request_body", "Request body is not valid JSON.", nil)
			return
		}
		body, ok := anyBody.(map[string]any)
		if !ok {
			bad("body must be an object")
			return
		}
		if v, ok := body["index"]; ok {
			f, isNum := v.(float64)
			if !isNum || f < 0 || f != math.Trunc(f) {
				bad("index must be an integer >= 0")
				return
			}
			index = int(f)
		}
		for _, k := range []string{"ttl_seconds", "ttlSeconds"} {
			if v, ok := body[k]; ok {
				f, isNum := v.(float64)
				if !isNum || f <= 0 {
					bad("ttl_seconds must be a positive number")
					return
				}
				ttl = int(min(max(f, 60), 3600))
			}
		}
		for _, k := range []string{"disposition", "content_disposition", "contentDisposition"} {
			if v, ok := body[k]; ok {
				str, _ := v.(string)
				if str != "attachment" && str != "inline" {
					bad("disposition must be attachment or inline")
					return
				}
				disposition = str
			}
		}
	}
	j, ok := s.lookup(w, r)
	if !ok {
		return
	}
	now := s.now()
	null := s.Settings().NullProgress
	j.mu.Lock()
	evs := j.check(now, s.phaseo(), null)
	status, access, outputs := j.status, j.req.access, j.req.sampleCount
	j.mu.Unlock()
	var u string
	var exp int64
	if status == statusCompleted && access != "bytes" && index < outputs {
		u, exp = s.signURL(j, index, ttl, disposition, now)
	}
	s.fire(j, evs)
	switch {
	case status != statusCompleted:
		s.writeError(w, r, http.StatusBadRequest, "validation_error", "video_download_requires_completed_status",
			"Only completed videos can be downloaded.", map[string]any{"status": status, "video_id": j.id})
	case access == "bytes":
		s.writeError(w, r, http.StatusBadRequest, "not_supported", "video_download_unsupported",
			"This video was created with output.access \"bytes\".", nil)
	case index >= outputs:
		bad("no output at this index")
	default:
		writeJSON(w, http.StatusOK, map[string]any{"download_url": u, "expires_at": exp})
	}
}
