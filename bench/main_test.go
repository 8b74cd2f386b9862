package bench

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/videojobs/videojobs/internal/jobstore"
	"github.com/videojobs/videojobs/internal/localstack"
	"github.com/videojobs/videojobs/internal/simulator"
)

// pools is how many RIE processes (warm execution environments) each
// function gets in the shared stack. webhook and its baseline get the same
// pool, so the storm measures the handler, not the queueing.
var pools = map[string]int{"submit": 2, "jobs": 1, "webhook": 4, "watch": 2, "store": 2, "ok200": 4}

// stackFunctions are the production functions; hello and ok200 are the
// baselines in testdata.
var stackFunctions = []string{"submit", "webhook", "watch", "store", "jobs"}

// memoryMB is each function's configured memory in infra/functions.go, for
// GB-seconds.
var memoryMB = map[string]float64{"submit": 256, "webhook": 256, "watch": 256, "store": 1769, "jobs": 256}

const (
	apiKey        = "aistats_v1_sk_benchkid_benchsecret"
	webhookSecret = "whsec_videojobs_bench_current"
	model         = "google/veo-3.1-lite"
)

// system is the local stack the benchmarks share.
type system struct {
	stack  *localstack.Stack
	sim    *simulator.Server
	ledger *ledger
	bins   map[string]string // function → bootstrap
	rie    string
	dir    string
	store  *jobstore.Store
	sfn    *sfn.Client
	api    *http.Client
}

var (
	sysOnce   sync.Once
	sys       *system
	sysErr    error
	sysSkip   string
	keepLogs  = os.Getenv("BENCH_KEEP_LOGS") != ""
	setupTime time.Duration
)

func TestMain(m *testing.M) {
	code := m.Run()
	if sys != nil {
		sys.stack.Close()
		if code != 0 || keepLogs {
			fmt.Fprintf(os.Stderr, "bench: logs kept in %s\n", sys.dir)
		} else {
			os.RemoveAll(sys.dir)
		}
	}
	os.Exit(code)
}

// requireSystem starts the shared stack on first use. It skips when moto
// or the RIE is not installed and fails when the stack does not start.
func requireSystem(b *testing.B) *system {
	b.Helper()
	sysOnce.Do(func() {
		start := time.Now()
		sys, sysSkip, sysErr = startSystem()
		setupTime = time.Since(start)
		if sysErr == nil && sysSkip == "" {
			fmt.Fprintf(os.Stderr, "bench: local stack up in %s (logs in %s)\n", setupTime.Round(100*time.Millisecond), sys.dir)
		}
	})
	if sysSkip != "" {
		b.Skip(sysSkip)
	}
	if sysErr != nil {
		b.Fatalf("local stack: %v", sysErr)
	}
	return sys
}

func repoRoot() (string, error) { return filepath.Abs("..") }

// findRIE returns the emulator binary, or why the benchmarks must skip.
func findRIE(root string) (string, string) {
	if _, err := exec.LookPath("moto_server"); err != nil {
		return "", `moto_server absent: pip install "moto[server]" (make tools)`
	}
	if p := os.Getenv("RIE_BIN"); p != "" {
		return p, ""
	}
	if p := filepath.Join(root, ".cache", "bin", "aws-lambda-rie"); fileExists(p) {
		return p, ""
	}
	if p, err := exec.LookPath("aws-lambda-rie"); err == nil {
		return p, ""
	}
	return "", "aws-lambda-rie absent: run make tools (scripts/install-rie.sh installs it into .cache/bin)"
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

func startSystem() (*system, string, error) {
	root, err := repoRoot()
	if err != nil {
		return nil, "", err
	}
	rie, skip := findRIE(root)
	if skip != "" {
		return nil, skip, nil
	}
	dir, err := os.MkdirTemp("", "videojobs-bench-")
	if err != nil {
		return nil, "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	bins, err := buildBootstraps(ctx, root, filepath.Join(dir, "bin"))
	if err != nil {
		return nil, "", err
	}
	s := &system{ledger: newLedger(), bins: bins, rie: rie, dir: dir, api: &http.Client{
		Timeout:   60 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 64},
	}}

	// Each function reaches AWS through its own meter, so DynamoDB
	// requests are counted per function. The meters need moto's address,
	// which only exists once Start has run; the functions make no AWS call
	// before their first invocation, after Start.
	meters := map[string]*meter{}
	fns := map[string]localstack.Function{}
	for name, n := range pools {
		m := newMeter(name, s.ledger)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, "", err
		}
		go func() { _ = http.Serve(ln, m) }()
		meters[name] = m
		fns[name] = localstack.Function{
			Bootstrap:   bins[name],
			Concurrency: n,
			Env:         map[string]string{"AWS_ENDPOINT_URL": "http://" + ln.Addr().String()},
		}
	}
	logf, err := os.Create(filepath.Join(dir, "stack.log"))
	if err != nil {
		return nil, "", err
	}
	routes := append(localstack.DefaultRoutes(), localstack.Route{Method: http.MethodPost, Path: "/bench/ok", Function: "ok200"})
	st, err := localstack.Start(ctx, localstack.Options{
		Dir:       dir,
		RIEBin:    rie,
		Functions: fns,
		Routes:    routes,
		NewSimulator: func(c localstack.SimulatorConfig) (http.Handler, error) {
			// Time scale 1: the job-cost benchmark runs a real 3-minute
			// generation, because the workflow's poll interval comes from
			// the gateway's poll_after_seconds in real seconds.
			s.sim = simulator.New(simulator.Config{
				Seed:    20261127,
				APIKey:  c.APIKey,
				BaseURL: c.BaseURL,
				Logger:  slog.New(slog.NewJSONHandler(logf, nil)),
			})
			return s.sim, nil
		},
		APIKey:        apiKey,
		WebhookSecret: webhookSecret,
		Env:           map[string]string{"DEFAULT_MODEL": model},
		Log:           slog.New(slog.NewJSONHandler(logf, nil)),
	})
	if errors.Is(err, localstack.ErrNotInstalled) {
		return nil, err.Error(), nil
	}
	if err != nil {
		return nil, "", err
	}
	s.stack = st
	for _, m := range meters {
		if err := m.setUpstream(st.MotoURL()); err != nil {
			st.Close()
			return nil, "", err
		}
	}
	for _, name := range slices.Sorted(maps.Keys(pools)) {
		inv, ok := st.Lambda().Function(name)
		if !ok {
			st.Close()
			return nil, "", fmt.Errorf("function %s not registered", name)
		}
		st.Lambda().Register(name, &countingInvoker{name: name, next: inv, ledger: s.ledger})
	}
	cfg := localstack.AWSConfig(st.MotoURL())
	s.store = jobstore.New(dynamodb.NewFromConfig(cfg), st.Resources.TableName)
	s.sfn = sfn.NewFromConfig(cfg)
	return s, "", nil
}

// buildBootstraps builds the five functions and the two baselines for this
// host the way `make build` builds them for Lambda (static, trimmed,
// stripped, lambda.norpc), so binary size weighs on cold start as it does
// in production.
func buildBootstraps(ctx context.Context, root, dir string) (map[string]string, error) {
	pkgs := []string{"./bench/testdata/hello", "./bench/testdata/ok200"}
	for _, fn := range stackFunctions {
		pkgs = append(pkgs, "./functions/"+fn)
	}
	return localstack.Build(ctx, root, dir, pkgs...)
}

// percentile returns the p-th percentile (0..100) of sorted durations,
// nearest rank.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p/100+0.999999) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
