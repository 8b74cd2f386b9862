// Package aistats is the client for the AI Stats (Phaseo) gateway's
// asynchronous video API: create a job, poll it, list jobs, stream its video,
// mint signed download URLs, cancel and delete it.
//
// The wire protocol is fixed by provider-contract.md (sections 2–5, 7 and 9).
// The gateway is inconsistent across versions and documentation, so every
// response is decoded leniently: statuses go through one normalisation table
// ([ParseStatus]), timestamps and numbers are accepted as numbers or strings,
// unknown keys are ignored, and errors of every body shape become one
// [*APIError] that matches the package sentinels with [errors.Is].
//
// Idempotent calls (Get, List, Content, DownloadURL, Delete, Cancel) are
// retried on 429, 5xx (never 501) and transport failures with capped,
// full-jitter exponential backoff that honours Retry-After (a requested pause
// longer than RetryPolicy.MaxServerWait ends the call instead, so a workflow
// can wait it out). 4xx replies, including 409 not_ready, are returned at
// once: not_ready is answered by the caller's next poll, not by a tight
// retry. Every attempt has a timeout; Content has a first-byte timeout and
// then streams with no deadline but the caller's context. Create is never
// retried: the gateway has no idempotency key, so an ambiguous outcome is
// reported as [ErrAmbiguousCreate] and the caller reconciles, for example with
// [Client.FindByWebhookURL].
//
// The API key is sent only as a Bearer header to the configured base URL and
// never appears in errors or in the client's printed form.
package aistats
