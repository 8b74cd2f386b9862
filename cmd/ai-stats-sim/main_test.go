package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/videojobs/videojobs/internal/simulator"
)

func TestRunServesAndShutsDown(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-seed", "3", "-time-scale", "60", "-faults", `{"create.402":1}`, "-api-key", "aistats_v1_sk_k1_secret"}, pw, io.Discard)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("read first line: %v", err)
	}
	base, ok := strings.CutPrefix(strings.TrimSpace(line), "AI_STATS_SIM_URL=http://127.0.0.1:")
	if !ok || base == "" {
		t.Fatalf("first line %q", line)
	}
	url := "http://127.0.0.1:" + base
	go io.Copy(io.Discard, pr)

	req, _ := http.NewRequest("POST", url+"/v1/videos", strings.NewReader(`{"model":"m/x","prompt":"p"}`))
	req.Header.Set("Authorization", "Bearer aistats_v1_sk_k1_secret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusPaymentRequired {
		t.Errorf("create under the create.402 profile: %d", resp.StatusCode)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return after cancel")
	}
}

func TestRunRejectsBadFlags(t *testing.T) {
	tests := [][]string{
		{"-time-scale", "0"},
		{"-variant", "openai"},
		{"-sweep", "-1s"},
		{"-faults", `{"webhook.nope":1}`},
		{"-faults", "/nonexistent/profile.json"},
		{"-addr", "127.0.0.1:notaport"},
	}
	for _, args := range tests {
		var out bytes.Buffer
		if err := run(context.Background(), args, &out, io.Discard); err == nil {
			t.Errorf("run(%v) succeeded", args)
		}
	}
}

func TestUsageListsFaults(t *testing.T) {
	var stderr bytes.Buffer
	_ = run(context.Background(), []string{"-h"}, io.Discard, &stderr)
	for _, want := range append([]string{"[sim outcome=", "/_sim/jobs"}, simulator.FaultNames()...) {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("usage lacks %q", want)
		}
	}
}
