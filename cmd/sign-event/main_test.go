package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/videojobs/videojobs/internal/webhook"
)

// The checked-in sample events, re-signed by the tool at an arbitrary
// time, verify (or fail) exactly as their names say against the webhook
// verifier at that time.
func TestResignSampleEvents(t *testing.T) {
	dir := t.TempDir()
	names := []string{"webhook-completed.json", "webhook-duplicate.json", "webhook-bad-signature.json", "webhook-unsigned.json"}
	var paths []string
	for _, n := range names {
		raw, err := os.ReadFile(filepath.Join("../../events", n))
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, n)
		if err := os.WriteFile(p, raw, 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	at := time.Date(2027, 1, 2, 3, 4, 5, 0, time.UTC)
	var stderr bytes.Buffer
	if err := run(paths, &stderr, func() time.Time { return at }); err != nil {
		t.Fatalf("run: %v\n%s", err, stderr.String())
	}

	want := map[string]webhook.Reason{
		"webhook-completed.json":     "",
		"webhook-duplicate.json":     "",
		"webhook-bad-signature.json": webhook.ReasonMismatch,
		"webhook-unsigned.json":      webhook.ReasonMissingHeader,
	}
	v := webhook.NewVerifier(func() time.Time { return at })
	for i, p := range paths {
		raw, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var ev events.APIGatewayV2HTTPRequest
		if err := json.Unmarshal(raw, &ev); err != nil {
			t.Fatalf("%s: not an API Gateway v2 event after re-signing: %v", names[i], err)
		}
		secret := webhook.DeriveSecret([]byte(TestMasterSecret), ev.QueryStringParameters["job"])
		_, err = v.Verify(webhook.HeaderMap(ev.Headers), []byte(ev.Body), []string{secret})
		var rej *webhook.RejectError
		switch w := want[names[i]]; {
		case w == "" && err != nil:
			t.Errorf("%s: rejected: %v", names[i], err)
		case w != "" && (!errors.As(err, &rej) || rej.Reason != w):
			t.Errorf("%s: verify error %v, want reason %s", names[i], err, w)
		}
	}

	// Re-signing is stable: a second run at the same time changes nothing.
	first, _ := os.ReadFile(paths[0])
	if err := run(paths[:1], &stderr, func() time.Time { return at }); err != nil {
		t.Fatal(err)
	}
	if second, _ := os.ReadFile(paths[0]); !bytes.Equal(first, second) {
		t.Errorf("re-signing twice at the same time changed the file")
	}
}

func TestRunErrors(t *testing.T) {
	var stderr bytes.Buffer
	now := func() time.Time { return time.Unix(0, 0) }
	if err := run(nil, &stderr, now); err == nil {
		t.Error("no files: no error")
	}
	p := filepath.Join(t.TempDir(), "x.json")
	if err := os.WriteFile(p, []byte(`{"headers":{}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := run([]string{p}, &stderr, now); err == nil {
		t.Error("event without a job parameter: no error")
	}
}
