package simulator

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

const isoMillis = "2006-01-02T15:04:05.000Z07:00"

func iso(t time.Time) string { return t.UTC().Format(isoMillis) }

func isoOrNil(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return iso(t)
}

// publicStatus is the `status` word in the configured vocabulary.
func publicStatus(status string, st Settings) string {
	if st.StatusWords == "legacy" {
		switch status {
		case statusQueued:
			return "pending"
		case statusProcessing:
			return "in_progress"
		}
	}
	return status
}

// lifecycleStatus is the vocabulary shared with webhooks (contract §4.1).
func lifecycleStatus(status string) string {
	switch status {
	case statusQueued:
		return "pending"
	case statusProcessing:
		return "running"
	}
	return status
}

func createdAtValue(t time.Time, st Settings) any {
	switch st.CreatedAt {
	case "iso":
		return iso(t)
	case "db":
		return t.UTC().Format("2006-01-02 15:04:05.000000+00")
	}
	return t.Unix()
}

func wsBase(base string) string {
	if rest, ok := strings.CutPrefix(base, "https://"); ok {
		return "wss://" + rest
	}
	return "ws://" + strings.TrimPrefix(base, "http://")
}

// progressValue is the reported progress: null when the job's script or the
// settings say the provider gives none.
func (j *job) progressValue(st Settings) (any, string) {
	switch {
	case j.status == statusCompleted:
		return 100, "provider"
	case j.status == statusQueued:
		return 0, "none"
	case st.NullProgress || j.plan.Progress == "none":
		if j.status == statusProcessing {
			return nil, "none"
		}
		return j.progress, "estimated"
	}
	return j.progress, "provider"
}

var resolutionHeights = map[string]int{"480p": 480, "720p": 720, "1080p": 1080, "1K": 1080, "2K": 1440, "4K": 2160}

// sizeString echoes the requested size, or derives one from resolution and
// aspect ratio, so list-based reconciliation can match on it.
func (j *job) sizeString() any {
	if j.req.size != "" {
		return j.req.size
	}
	h, ok := resolutionHeights[j.req.resolution]
	if !ok {
		return nil
	}
	ar := j.req.aspectRatio
	if ar == "" {
		ar = "16:9"
	}
	a, b, _ := strings.Cut(ar, ":")
	x, _ := strconv.Atoi(a)
	y, _ := strconv.Atoi(b)
	if x <= 0 || y <= 0 {
		return nil
	}
	if x >= y {
		return fmt.Sprintf("%dx%d", h*x/y, h)
	}
	return fmt.Sprintf("%dx%d", h, h*y/x)
}

func (j *job) seconds() any {
	if j.req.duration != nil {
		return *j.req.duration
	}
	return nil
}

func (j *job) cancelURL() any {
	if j.cancelSupported() && !terminal(j.status) {
		return j.base + "/v1/videos/" + j.id + "/cancel"
	}
	return nil
}

func (j *job) contentURL(index int) string {
	u := j.base + "/v1/videos/" + j.id + "/content"
	if index > 0 {
		u += "?index=" + strconv.Itoa(index)
	}
	return u
}

func (j *job) contentType() string {
	if j.plan.ContentType != "" {
		return j.plan.ContentType
	}
	return "video/mp4"
}

func (j *job) costNanos() int64 {
	secs := int64(8)
	if j.req.duration != nil {
		secs = int64(*j.req.duration)
	}
	return secs * 50_000_000 * int64(j.req.sampleCount)
}

func usd(nanos int64) string { return fmt.Sprintf("%.2f", float64(nanos)/1e9) }

func (j *job) billing() map[string]any {
	est := usd(j.costNanos())
	b := map[string]any{
		"currency": "usd", "estimated_provider_cost": est, "estimated_user_cost": est,
		"settled_provider_cost": nil, "settled_user_cost": nil, "state": "estimated",
		"billable": true, "total_nanos": 0, "estimated_nanos": j.costNanos(), "reserved_nanos": j.costNanos(),
		"reservation_id": j.reservationID, "reservation_status": "held", "charge_reason": nil, "charged": false,
	}
	switch j.status {
	case statusCompleted:
		b["state"], b["settled_provider_cost"], b["settled_user_cost"] = "settled", est, est
		b["total_nanos"], b["reservation_status"], b["charged"] = j.costNanos(), "settled", true
		b["charge_reason"], b["billed_at"] = "completed", iso(j.completedAt)
	case statusFailed, statusCancelled, statusExpired:
		b["state"], b["billable"], b["reservation_status"] = "void", false, "released"
	}
	return b
}

func (j *job) upstreamError() map[string]any {
	msg := j.plan.Error
	if msg == "" {
		msg = "The provider could not generate the video."
	}
	return map[string]any{
		"code": "generation_failed", "type": "provider_error", "message": msg,
		"description": msg, "param": nil, "status": 400,
	}
}

// videoObject renders the §4 video object. A download URL is re-issued on
// each call for completed jobs. Caller holds j.mu.
func (s *Server) videoObject(j *job, st Settings, now time.Time) map[string]any {
	progress, source := j.progressValue(st)
	o := map[string]any{
		"id": j.id, "object": "video",
		"status": publicStatus(j.status, st), "lifecycle_status": lifecycleStatus(j.status),
		"output_access": j.req.access, "progress": progress, "progress_source": source,
		"polling_url":        j.base + "/v1/videos/" + j.id,
		"websocket_url":      wsBase(j.base) + "/v1/async/video/" + j.id + "/ws",
		"poll_after_seconds": 20, "cancel_url": j.cancelURL(),
		"generation_id": j.generationID, "native_video_id": j.nativeID,
		"created_at": createdAtValue(j.createdAt, st),
		"started_at": isoOrNil(j.startedAt), "completed_at": isoOrNil(j.completedAt),
		"provider": j.provider, "model": j.model,
		"seconds": j.seconds(), "size": j.sizeString(), "audio": nil,
		"asset": nil, "outputs": []any{}, "billing": j.billing(),
	}
	if j.req.audio != nil {
		o["audio"] = *j.req.audio
	}
	bytesOK := j.req.access == "bytes" || j.req.access == "both"
	signedOK := j.req.access == "signed_url" || j.req.access == "both"
	if bytesOK {
		o["content_url"] = j.contentURL(0)
	}
	if signedOK {
		o["download_url"], o["expires_at"] = nil, nil
	}
	switch j.status {
	case statusCompleted:
		size := s.contentSize(j, 0)
		o["asset"] = map[string]any{
			"id": "ast_" + strings.TrimPrefix(j.id, "G-"), "mime_type": j.contentType(), "bytes": size,
			"sha256": nil, "width": nil, "height": nil, "duration_seconds": j.seconds(),
		}
		var outs []any
		for i := range j.req.sampleCount {
			out := map[string]any{"index": i, "mime_type": j.contentType(), "bytes_available": true}
			if bytesOK {
				out["content_url"] = j.contentURL(i)
			}
			if signedOK {
				u, exp := s.signURL(j, i, 900, "attachment", now)
				out["download_url"], out["expires_at"] = u, exp
				if i == 0 {
					o["download_url"], o["expires_at"] = u, exp
				}
			}
			outs = append(outs, out)
		}
		o["outputs"] = outs
		o["usage"] = map[string]any{
			"cost": float64(j.costNanos()) / 1e9, "cost_usd": usd(j.costNanos()), "is_byok": false,
			"output_video_seconds": j.seconds(),
			"pricing_breakdown":    map[string]any{"total_nanos": j.costNanos(), "total_usd_str": usd(j.costNanos())},
		}
	case statusFailed:
		e := j.upstreamError()
		o["error"] = map[string]any{"code": e["code"], "message": e["message"]}
	}
	if j.hook != nil {
		o["webhook"] = j.hs.render(j.hook)
		s.webhookTimes(j, o)
	}
	return o
}

// webhookTimes adds the job-level webhook fields that exist only once set.
func (s *Server) webhookTimes(j *job, o map[string]any) {
	if t := j.hs.nextRetryAt(); !t.IsZero() {
		o["next_webhook_retry_at"] = iso(t)
	}
	if !j.hs.lastProgressAt.IsZero() {
		o["last_webhook_progress"] = j.hs.lastProgress
		o["last_webhook_progress_at"] = iso(j.hs.lastProgressAt)
	}
	if !j.hs.lastDispatchedAt.IsZero() {
		o["last_webhook_dispatched_at"] = iso(j.hs.lastDispatchedAt)
	}
}

// webhookData renders the §6.2 `data` object. Caller holds j.mu.
func (s *Server) webhookData(j *job, st Settings, ev event, now time.Time) map[string]any {
	progress, _ := j.progressValue(st)
	status := j.status
	if ev.phase == "progress" {
		// A progress event describes the moment it fired, even when a retry
		// or a reordered copy goes out after the job finished.
		status, progress = statusProcessing, ev.bucket
	}
	d := map[string]any{
		"id": j.id, "object": "video", "kind": "video",
		"status": status, "lifecycle_status": lifecycleStatus(status),
		"request_id": j.generationID, "native_id": j.nativeID, "session_id": nil, "app_id": nil,
		"progress": progress, "provider": j.provider, "model": j.model,
		"polling_url":   j.base + "/v1/videos/" + j.id,
		"websocket_url": wsBase(j.base) + "/v1/async/video/" + j.id + "/ws",
		"cancel_url":    j.cancelURL(), "content_url": j.contentURL(0),
		"download_url": nil, "expires_at": nil,
		"duration_seconds": j.seconds(), "resolution": nilIfEmpty(j.req.resolution), "quality": nil,
		"output_access": j.req.access,
		"key_source":    "gateway", "byok_key_id": nil,
		"reservation_id": j.reservationID, "reservation_status": j.billing()["reservation_status"],
		"pricing_breakdown": map[string]any{"total_nanos": j.costNanos(), "total_usd_str": usd(j.costNanos())},
		"billing":           j.billing(),
		"finalized_at":      isoOrNil(j.completedAt), "last_polled_at": isoOrNil(j.lastPolledAt),
		"polled_status": j.status, "last_reconciled_at": isoOrNil(j.lastPolledAt),
		"created_at": iso(j.createdAt), "updated_at": iso(j.updatedAt),
	}
	if status == statusCompleted && (j.req.access == "signed_url" || j.req.access == "both") {
		d["download_url"], d["expires_at"] = s.signURL(j, 0, 900, "attachment", now)
	}
	if terminal(status) && !j.startedAt.IsZero() {
		latency := j.startedAt.Sub(j.createdAt).Milliseconds()
		total := j.completedAt.Sub(j.createdAt).Milliseconds()
		d["latency_ms"], d["generation_ms"] = latency, total-latency
		d["total_duration_ms"], d["duration_ms"] = total, total
	}
	if status == statusFailed {
		d["upstream_error"] = j.upstreamError()
		d["provider_failure_diagnostics"] = map[string]any{"category": "provider_rejected"}
		d["failure_sample"] = []any{map[string]any{"provider": j.provider, "status": 400}}
	}
	if j.hook != nil {
		d["webhook"] = j.hs.render(j.hook)
		s.webhookTimes(j, d)
	}
	return d
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}
