// Command sign-event re-signs the sample webhook events in events/ at the
// current time. Deliveries are only accepted within ±300 s of their signed
// timestamp, so a checked-in signature is stale within minutes; run this
// right before `sam local invoke … -e events/webhook-completed.json`.
//
// Usage:
//
//	go run ./cmd/sign-event [-master SECRET] [-now UNIX] events/webhook-*.json
//
// Each file is rewritten in place. Its job id comes from the job query
// parameter; its per-job secret is webhook.DeriveSecret(master, jobId),
// where master defaults to the documented test master secret (see
// events/README.md). A file without a signature header stays unsigned; a
// file whose name contains "bad-signature" gets a fresh timestamp and a
// signature made with the wrong key, so it is rejected as forged rather
// than as stale; every other file is signed correctly.
package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/videojobs/videojobs/internal/webhook"
)

// TestMasterSecret is the master webhook secret the sample events are
// signed with. It is public on purpose: never configure it anywhere real.
const TestMasterSecret = "videojobs-test-master-secret-not-for-production"

func main() {
	if err := run(os.Args[1:], os.Stderr, time.Now); err != nil {
		fmt.Fprintln(os.Stderr, "sign-event:", err)
		os.Exit(1)
	}
}

func run(args []string, stderr io.Writer, now func() time.Time) error {
	fs := flag.NewFlagSet("sign-event", flag.ContinueOnError)
	fs.SetOutput(stderr)
	master := fs.String("master", TestMasterSecret, "master webhook secret the job secrets derive from")
	at := fs.Int64("now", 0, "unix seconds to sign at (default: the current time)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return errors.New("no event files given")
	}
	ts := now()
	if *at != 0 {
		ts = time.Unix(*at, 0)
	}
	for _, path := range fs.Args() {
		raw, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		out, what, err := resign(raw, *master, ts, strings.Contains(filepath.Base(path), "bad-signature"))
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if err := os.WriteFile(path, out, 0o644); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "%s: %s at %d\n", path, what, ts.Unix())
	}
	return nil
}

// resign returns the API Gateway v2 event raw with its webhook timestamp
// set to at and its signature recomputed (or forged when forge is set).
// Events without a signature header are returned re-encoded but unsigned.
// what says which of the three it did.
func resign(raw []byte, master string, at time.Time, forge bool) (out []byte, what string, err error) {
	var ev map[string]any
	if err := json.Unmarshal(raw, &ev); err != nil {
		return nil, "", fmt.Errorf("decode event: %w", err)
	}
	headers, _ := ev["headers"].(map[string]any)
	query, _ := ev["queryStringParameters"].(map[string]any)
	body, _ := ev["body"].(string)
	jobID, _ := query["job"].(string)
	if headers == nil || jobID == "" {
		return nil, "", errors.New("not a webhook event: needs headers and a job query parameter")
	}
	payload := []byte(body)
	if b64, _ := ev["isBase64Encoded"].(bool); b64 {
		if payload, err = base64.StdEncoding.DecodeString(body); err != nil {
			return nil, "", fmt.Errorf("decode base64 body: %w", err)
		}
	}
	what = "left unsigned"
	for _, fam := range []string{"x-ai-stats", "x-phaseo"} {
		if _, signed := headers[fam+"-signature"]; !signed {
			continue
		}
		stamp := strconv.FormatInt(at.Unix(), 10)
		secret := webhook.DeriveSecret([]byte(master), jobID)
		what = "signed"
		if forge {
			secret, what = "forged-"+secret, "forged"
		}
		headers[fam+"-timestamp"] = stamp
		headers[fam+"-signature"] = webhook.Sign(secret, stamp, payload)
		break
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(ev); err != nil {
		return nil, "", fmt.Errorf("encode event: %w", err)
	}
	return buf.Bytes(), what, nil
}
