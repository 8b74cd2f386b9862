package e2e

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/videojobs/videojobs/internal/localapi"
	"github.com/videojobs/videojobs/internal/localstack"
	"github.com/videojobs/videojobs/internal/simulator"
)

// The suite's stack settings.
const (
	// timeScale turns the simulator's default job (10 s queued, 180 s
	// generating) into about 3 s, and its webhook retries (60/300/900 s)
	// into 1/5/15 s, while every timestamp it signs stays wall-clock time.
	timeScale = 60
	// pollCapSeconds caps the workflow's back-off at its floor, the
	// gateway's poll_after_seconds (20 s; the watch function refuses a
	// lower cap), so a job whose webhooks are all lost is polled every 20 s
	// even while its polls fail.
	pollCapSeconds = "20"
	// apiKey is what the simulator accepts and Secrets Manager holds.
	apiKey = "aistats_v1_sk_e2ekid_e2esecret"
	// The webhook master secrets (AWSCURRENT, AWSPREVIOUS). The current one
	// is the public test secret cmd/sign-event signs the sample events with
	// by default (events/README.md), so they verify against this stack.
	webhookSecret         = "videojobs-test-master-secret-not-for-production"
	previousWebhookSecret = "whsec_videojobs_local_test_previous"
	defaultModel          = "google/veo-3.1-lite"
)

// functions are the five Lambdas and how many warm execution environments
// (RIE processes) each gets: enough for the suite's concurrent jobs.
var functions = map[string]int{"submit": 2, "jobs": 2, "webhook": 3, "watch": 3, "store": 2}

// system is the running stack the tests share.
type system struct {
	stack *localstack.Stack
	sim   *simulator.Server
	api   *localapi.Client
	s3    *s3.Client
	sfn   *sfn.Client
	root  string
	dir   string
	// signEvent is the built cmd/sign-event, which re-signs webhook events.
	signEvent string
}

var (
	sys        *system
	skipReason string
	setupErr   error
)

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	root, err := filepath.Abs("..")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	rie, reason := findTools(root)
	if reason != "" {
		skipReason = reason
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "videojobs-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	sys, setupErr = startSystem(ctx, root, dir, rie)
	if setupErr == nil {
		setupErr = submitScenarios(ctx, sys)
	}
	cancel()
	if errors.Is(setupErr, localstack.ErrNotInstalled) {
		skipReason, setupErr = setupErr.Error(), nil
	}
	if setupErr == nil && sys != nil {
		fmt.Fprintf(os.Stderr, "e2e: stack up in %s (logs in %s)\n", time.Since(start).Round(100*time.Millisecond), dir)
	}
	code := m.Run()
	if sys != nil {
		sys.close()
	}
	if code != 0 || os.Getenv("E2E_KEEP_LOGS") != "" {
		fmt.Fprintf(os.Stderr, "e2e: logs kept in %s (moto.log, rie/<fn>-<i>.log, sim.log, stack.log)\n", dir)
	} else {
		os.RemoveAll(dir)
	}
	return code
}

// findTools returns the RIE binary, or why the suite must skip.
func findTools(root string) (rie, skip string) {
	if _, err := exec.LookPath("moto_server"); err != nil {
		return "", `moto_server absent: install it with pip install "moto[server]" (make tools)`
	}
	if p := os.Getenv("RIE_BIN"); p != "" {
		return p, ""
	}
	p := filepath.Join(root, ".cache", "bin", "aws-lambda-rie")
	if _, err := os.Stat(p); err == nil {
		return p, ""
	}
	if p, err := exec.LookPath("aws-lambda-rie"); err == nil {
		return p, ""
	}
	return "", "aws-lambda-rie absent: run make tools (scripts/install-rie.sh installs it into .cache/bin)"
}

// requireSystem returns the shared stack, skipping when an emulator binary
// is absent and failing when the stack could not be built or started.
func requireSystem(t *testing.T) *system {
	t.Helper()
	if skipReason != "" {
		t.Skip(skipReason)
	}
	if setupErr != nil {
		t.Fatalf("local stack: %v", setupErr)
	}
	return sys
}

func startSystem(ctx context.Context, root, dir, rie string) (*system, error) {
	bin := filepath.Join(dir, "bin")
	fns, signEvent, err := buildBootstraps(ctx, root, bin)
	if err != nil {
		return nil, err
	}
	simLog, err := os.Create(filepath.Join(dir, "sim.log"))
	if err != nil {
		return nil, err
	}
	stackLog, err := os.Create(filepath.Join(dir, "stack.log"))
	if err != nil {
		return nil, err
	}
	s := &system{root: root, dir: dir, signEvent: signEvent}
	opts := localstack.Options{
		Dir:       dir,
		RIEBin:    rie,
		Functions: fns,
		NewSimulator: func(c localstack.SimulatorConfig) (http.Handler, error) {
			s.sim = simulator.New(simulator.Config{
				TimeScale: timeScale,
				Seed:      20260617,
				APIKey:    c.APIKey,
				BaseURL:   c.BaseURL,
				Logger:    slog.New(slog.NewJSONHandler(simLog, nil)),
			})
			return s.sim, nil
		},
		APIKey:                apiKey,
		WebhookSecret:         webhookSecret,
		PreviousWebhookSecret: previousWebhookSecret,
		Env: map[string]string{
			"POLL_INTERVAL_CAP_SECONDS": pollCapSeconds,
			"DEFAULT_MODEL":             defaultModel,
		},
		Log: slog.New(slog.NewJSONHandler(stackLog, nil)),
	}
	st, err := localstack.Start(ctx, opts)
	if err != nil {
		return nil, err
	}
	s.stack = st
	cfg := localstack.AWSConfig(st.MotoURL())
	s.s3 = s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	s.sfn = sfn.NewFromConfig(cfg)
	s.api = localapi.New(st.APIURL())
	return s, nil
}

// close stops the stack, the in-process simulator included.
func (s *system) close() { s.stack.Close() }

// buildBootstraps builds every function for this host, once, the way `make
// build` does for Lambda, into dir/<fn>/bootstrap, and cmd/sign-event
// beside them.
func buildBootstraps(ctx context.Context, root, dir string) (map[string]localstack.Function, string, error) {
	pkgs := []string{"./cmd/sign-event"}
	for fn := range functions {
		pkgs = append(pkgs, "./functions/"+fn)
	}
	bins, err := localstack.Build(ctx, root, dir, pkgs...)
	if err != nil {
		return nil, "", err
	}
	fns := map[string]localstack.Function{}
	for fn, n := range functions {
		fns[fn] = localstack.Function{Bootstrap: bins[fn], Concurrency: n}
	}
	return fns, bins["sign-event"], nil
}

// bucketName is the video bucket the stack made.
func (s *system) bucket() *string { return aws.String(s.stack.Resources.BucketName) }
