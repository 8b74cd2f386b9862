// Package simulator is a local stand-in for the AI Stats gateway's async
// video API (docs: /work/shared/provider-contract.md, "What a faithful
// simulator must do"). It serves every /v1/videos route with the gateway's
// JSON keys, statuses and error codes, runs each job through a clock-driven
// lifecycle, delivers signed webhooks with the gateway's retry schedule, and
// injects seeded, reproducible faults. Local development, the demo and the
// integration tests use it as the provider; nothing here talks to the
// internet.
//
// # Running it
//
// In process:
//
//	sim := simulator.New(simulator.Config{TimeScale: 60, Seed: 1})
//	defer sim.Close()
//	srv := httptest.NewServer(sim) // or http.Server{Handler: sim}
//
// Alone: go run ./cmd/ai-stats-sim -time-scale 60 -seed 1 prints
// AI_STATS_SIM_URL=http://127.0.0.1:PORT as its first line. Clients send
// "Authorization: Bearer aistats_v1_sk_simkid_simsecret" (DefaultAPIKey;
// -api-key changes it).
//
// # Time
//
// Config.Now injects the clock; every timestamp the simulator reports or
// signs (created_at, completed_at, expires_at, x-ai-stats-timestamp) is that
// clock's time, unscaled, because receivers check freshness against their
// own clock. Config.TimeScale only shortens simulated durations: queue and
// generation time, webhook retry delays (60/300/900 s), the webhook.delay
// fault and the background sweep (5 min). At scale 60 a 3-minute generation
// takes 3 s. Signed download URL lifetimes and the 30 s webhook timeout are
// real time.
//
// # Lifecycle
//
// A job is queued for its queue time (default 10 s), processing for its
// duration (default 180 s) with provider progress rising linearly, then
// reaches its scripted outcome: completed, failed (with upstream_error),
// cancelled or expired. Like the real gateway, the stored state only moves
// when something checks: a GET, a content or download_url call, a cancel,
// a DELETE, or the background sweep (Config.Sweep, default every 5 min of
// simulated time; negative disables it; Server.Sweep and POST /_sim/sweep
// run one now). The list shows stored state without checking. Webhooks fire
// from those checks: video.created at create (opt-in), video.progress:<bucket>
// for each newly observed bucket (opt-in), and the terminal event.
//
// # Scripting jobs
//
// A job's script is built in layers, each overriding the one before:
// built-in defaults, Settings.Defaults, a seeded draw from Settings.Outcomes,
// the first matching Settings.Rules entry (by model and/or prompt
// substring), and finally a directive in the prompt:
//
//	a cat on a mat [sim outcome=failed duration=180s size=1048576 faults=drop_webhooks]
//
// Directive keys (space separated key=value, inside "[sim ...]"):
//
//	outcome=completed|failed|cancelled|expired
//	queue=10s         simulated time queued (Go duration or seconds)
//	duration=180s     simulated generation time after the queue
//	size=1048576      content bytes; 0 or small serves the embedded sample MP4
//	faults=a,b        faults forced for this job (names or aliases below)
//	provider=openai   public provider id (default from the model prefix)
//	cancel=yes|no     override cancel support (openai, alibaba, runway: yes)
//	progress=none     progress is null while processing
//	content_type=T    Content-Type of the content (default video/mp4)
//	error=bad_prompt  failure message of a failed job ("_" reads as space)
//
// An invalid directive is a 400 validation_error on the prompt, so a typo
// never silently runs the default script.
//
// # Faults
//
// Settings.Faults maps fault names to probabilities; each draw is keyed by
// (seed, fault, job sequence number, scope) so a run with the same seed and
// profile reproduces however goroutines interleave. A fault named in a job's
// directive or rule is forced: webhook faults then hit every attempt; poll
// and content faults hit the job's first two status GETs or content fetches
// (so a retrying client still finishes); create faults hit the create.
//
//	webhook.drop            (drop_webhooks) not sent; the gateway records it delivered
//	webhook.duplicate       (duplicate_webhooks) a second copy, same event id, same or next attempt
//	webhook.lost_ack        (lost_ack) receiver answered 2xx, gateway retries with attempt+1
//	webhook.reorder         (reorder) a stale progress event after the terminal one
//	webhook.delay           (delay_webhooks) sent up to WebhookDelayMax (120 s simulated) late
//	webhook.bad_signature   (bad_signature) signature does not verify
//	webhook.stale_timestamp (stale_timestamp) correctly signed, timestamp 600 s old
//	webhook.foreign         (foreign_callbacks) plus an unsigned provider-native callback
//	poll.5xx                (poll_5xx) 502 upstream_error envelope, provider reason
//	poll.5xx_html           (poll_5xx_html) 503 with an HTML body
//	poll.429                (poll_429) 429 passthrough with Retry-After (seconds or HTTP-date)
//	poll.429_no_retry_after 429 passthrough without Retry-After
//	poll.key_limit          (key_limit) 429 key_limit_exceeded with reset_at
//	poll.hang               (poll_hang) held for HangFor (35 s), then 504 non-JSON
//	poll.not_ready          (poll_not_ready) 409 not_ready / atlas_prediction_id_missing
//	create.5xx              job created, then 500 gateway_error
//	create.timeout          job created, connection cut after HangFor
//	create.402              402 insufficient_funds, no job
//	create.503              503 reservation_not_held, no job
//	content.slow_first_byte (slow_first_byte) headers after SlowFirstByte (2 s)
//	content.throttle        (throttle) body at ThrottleBytesPerSecond (256 KiB/s)
//	content.truncate_cut    (truncate) full Content-Length, half the body, connection cut
//	content.truncate_short  (short_length) Content-Length and body both half of asset.bytes
//	content.wrong_type      (wrong_type) Content-Type binary/octet-stream
//	content.expired_url     (expired_url) signed URL refused as expired
//	list.tombstones         deleted jobs stay in the list, marked "deleted": true
//
// A fault profile (ai-stats-sim -faults, POST /_sim/config) is the JSON form
// of Settings, e.g.
//
//	{"faults":{"webhook.drop":0.1,"poll.5xx":0.05},
//	 "outcomes":{"completed":0.9,"failed":0.1},
//	 "rules":[{"model":"openai/sora-2","plan":{"outcome":"expired","duration":"30s"}}],
//	 "create_response":"slim","status_words":"canonical","created_at":"unix",
//	 "null_progress":false,"disabled":false}
//
// or just the faults map {"webhook.drop":0.1}. POST /_sim/config replaces
// only the keys it names.
//
// # Choices the contract leaves open
//
// Signed content URLs that are forged answer 403 forbidden /
// signed_download_invalid, expired ones 403 forbidden /
// signed_download_expired. A content index past the outputs is 400
// validation_error / invalid_video_content_index. download_url on an
// output.access "bytes" job, and Bearer content on a "signed_url" job, are
// 400 not_supported. The WebSocket route answers the observed 426 without
// an upgrade and 501 with one (not simulated). The phaseo variant also
// accepts inline url/secret subscriptions so existing callers keep working.
//
// # Inspection
//
// Server.Requests, Server.Deliveries, Server.Job, Server.Jobs,
// Server.ContentSHA256, Server.Pending and Server.Settled serve in-process
// tests; the same data is served without auth under /_sim/: GET jobs,
// jobs/{id}, jobs/{id}/sha256, requests, deliveries[?job=id], faults,
// config; POST config, sweep.
package simulator
