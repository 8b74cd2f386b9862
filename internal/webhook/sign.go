package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
)

// Sign returns the hex HMAC-SHA256 signature the gateway sends for a
// delivery: the key is the secret exactly as configured (a "whsec_" prefix is
// part of the key), the message is "<timestamp header>.<raw body>".
// See provider-contract.md §6.1 and §10.
func Sign(secret, timestamp string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(timestamp))
	m.Write([]byte{'.'})
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// DeriveSecret returns the per-job webhook secret: the hex HMAC-SHA256 of the
// job id under a master secret. Nothing secret is stored per job, and a leaked
// job secret forges deliveries for that job only (design.md guarantee 6).
func DeriveSecret(master []byte, jobID string) string {
	m := hmac.New(sha256.New, master)
	m.Write([]byte("videojobs/webhook/v1/"))
	m.Write([]byte(jobID))
	return hex.EncodeToString(m.Sum(nil))
}
