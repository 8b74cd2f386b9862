// Package webhook authenticates and decodes the signed job-event deliveries
// that the AI Stats gateway POSTs to the bundle (provider-contract.md §6, §9).
//
// The order is fixed by the contract: first Verifier.Verify checks the HMAC
// over the raw body bytes as received (see RawBody for API Gateway events),
// the timestamp freshness, and every active secret; only a verified body is
// then handed to Parse, which decodes the payload leniently (unknown keys are
// ignored) into a Delivery. Sign and DeriveSecret produce the signatures and
// the per-job secrets (design.md guarantee 6).
//
// Nothing here logs, and no error carries a secret, a signature or body
// content, so callers can log errors as they are (design.md guarantee 9).
package webhook
