package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/videojobs/videojobs/internal/localstack"
	"github.com/videojobs/videojobs/internal/simulator"
)

// target is the running system the demo drives.
type target struct {
	APIURL          string `json:"apiUrl"`
	MotoURL         string `json:"motoUrl"`
	SimulatorURL    string `json:"simulatorUrl"`
	StateMachineARN string `json:"stateMachineArn"`
	BucketName      string `json:"bucketName"`
	// LogDir is where the stack's logs are.
	LogDir string `json:"logDir"`

	// what says which system this is, for the banner.
	what  string
	close func()
}

// devStatePath is where a running `make dev` (cmd/videojobs-local) is
// expected to describe itself: a JSON object with the target's fields.
func devStatePath(root string) string { return filepath.Join(root, ".cache", "local", "stack.json") }

// findDev returns the `make dev` stack described in the state file if it
// answers, or nil when there is none (no file, or a stale one).
func findDev(ctx context.Context, root string) (*target, error) {
	b, err := os.ReadFile(devStatePath(root))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read make dev state: %w", err)
	}
	var t target
	if err := json.Unmarshal(b, &t); err != nil {
		return nil, fmt.Errorf("read make dev state %s: %w", devStatePath(root), err)
	}
	if t.APIURL == "" || t.MotoURL == "" || t.SimulatorURL == "" || t.StateMachineARN == "" || t.BucketName == "" {
		return nil, fmt.Errorf("make dev state %s lacks apiUrl, motoUrl, simulatorUrl, stateMachineArn or bucketName", devStatePath(root))
	}
	if !answers(ctx, t.APIURL+"/jobs?limit=1") || !answers(ctx, t.SimulatorURL+"/_sim/config") {
		return nil, nil // left behind by a make dev that has stopped
	}
	t.what, t.close = "the running make dev stack", func() {}
	return &t, nil
}

func answers(ctx context.Context, url string) bool {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return true
}

// functions are the five Lambdas with their RIE pool sizes.
var functions = map[string]int{"submit": 2, "jobs": 2, "webhook": 3, "watch": 3, "store": 2}

// startOwn builds the functions and starts a stack of the demo's own, the
// way `make dev` does, with an in-process simulator sped up 60 times. It
// installs nothing: `make demo` runs `make tools` first.
func startOwn(ctx context.Context, root string, log io.Writer) (*target, error) {
	rie := os.Getenv("RIE_BIN")
	if rie == "" {
		rie = filepath.Join(root, ".cache", "bin", "aws-lambda-rie")
	}
	if _, err := os.Stat(rie); err != nil {
		return nil, fmt.Errorf("aws-lambda-rie not found at %s: run make tools (or make demo, which does)", rie)
	}
	dir := filepath.Join(root, ".cache", "demo")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	fmt.Fprintf(log, "building the functions for this host into %s\n", filepath.Join(dir, "build"))
	fns, err := buildFunctions(ctx, root, filepath.Join(dir, "build"))
	if err != nil {
		return nil, err
	}
	fmt.Fprintln(log, "starting moto, the functions under the Lambda RIE, the HTTP API front and the simulator")
	stackLog, err := os.Create(filepath.Join(dir, "stack.log"))
	if err != nil {
		return nil, err
	}
	simLog, err := os.Create(filepath.Join(dir, "sim.log"))
	if err != nil {
		stackLog.Close()
		return nil, err
	}
	st, err := localstack.Start(ctx, localstack.Options{
		Dir:       dir,
		RIEBin:    rie,
		Functions: fns,
		NewSimulator: func(c localstack.SimulatorConfig) (http.Handler, error) {
			return simulator.New(simulator.Config{
				TimeScale: 60,
				Seed:      time.Now().UnixNano(),
				APIKey:    c.APIKey,
				BaseURL:   c.BaseURL,
				Logger:    slog.New(slog.NewJSONHandler(simLog, nil)),
			}), nil
		},
		Env: map[string]string{"POLL_INTERVAL_CAP_SECONDS": "20"},
		Log: slog.New(slog.NewJSONHandler(stackLog, nil)),
	})
	if err != nil {
		stackLog.Close()
		simLog.Close()
		if errors.Is(err, localstack.ErrNotInstalled) {
			return nil, fmt.Errorf("%w: run make tools", err)
		}
		return nil, err
	}
	return &target{
		APIURL:          st.APIURL(),
		MotoURL:         st.MotoURL(),
		SimulatorURL:    st.SimulatorURL(),
		StateMachineARN: st.Resources.StateMachineARN,
		BucketName:      st.Resources.BucketName,
		LogDir:          st.Dir(),
		what:            "a stack of its own (no make dev running)",
		close: func() {
			st.Close()
			stackLog.Close()
			simLog.Close()
		},
	}, nil
}

// buildFunctions builds every function's bootstrap for this host in one go
// build, into dir/<fn>/bootstrap.
func buildFunctions(ctx context.Context, root, dir string) (map[string]localstack.Function, error) {
	var pkgs []string
	for fn := range functions {
		pkgs = append(pkgs, "./functions/"+fn)
	}
	bins, err := localstack.Build(ctx, root, dir, pkgs...)
	if err != nil {
		return nil, err
	}
	fns := map[string]localstack.Function{}
	for fn, n := range functions {
		fns[fn] = localstack.Function{Bootstrap: bins[fn], Concurrency: n}
	}
	return fns, nil
}
