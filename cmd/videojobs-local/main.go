// Command videojobs-local runs the whole videojobs system on this machine
// with no AWS account (make dev): it builds each function's bootstrap for the
// host, installs the Lambda Runtime Interface Emulator if needed, starts moto,
// the RIE pools, the HTTP API front and the AI Stats simulator, prints where
// everything is, and stops it all on Ctrl-C or SIGTERM.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/videojobs/videojobs/internal/localstack"
)

// functions are the Lambdas of design.md §1, with the RIE pool size each gets:
// webhook deliveries and API calls arrive concurrently.
var functions = map[string]int{"submit": 2, "webhook": 4, "watch": 2, "store": 2, "jobs": 2}

type config struct {
	root       string
	apiPort    int
	skipBroken bool
	sim        string
	timeScale  string
	env        map[string]string
}

func main() {
	var cfg config
	flag.IntVar(&cfg.apiPort, "api-port", 0, "HTTP API port on 127.0.0.1 (0 picks a free one)")
	flag.BoolVar(&cfg.skipBroken, "skip-broken", false, "leave out functions that do not build instead of failing")
	flag.StringVar(&cfg.sim, "sim", "build", `AI Stats simulator: "build" (build and run ./cmd/ai-stats-sim), "none", or the URL of a running one`)
	flag.StringVar(&cfg.timeScale, "time-scale", "60", "simulator speed-up of job progress (60: a 3-minute generation takes 3 s)")
	flag.Parse()
	cfg.env = map[string]string{}
	for _, kv := range flag.Args() {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			fmt.Fprintf(os.Stderr, "videojobs-local: argument %q is not KEY=value (extra function environment)\n", kv)
			os.Exit(2)
		}
		cfg.env[k] = v
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "videojobs-local:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, cfg config, out io.Writer) error {
	root, err := os.Getwd()
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		return errors.New("run from the repository root (where go.mod is)")
	}
	cfg.root = root
	cache := filepath.Join(root, ".cache")

	rie, err := ensureRIE(ctx, root, out)
	if err != nil {
		return err
	}
	fns := map[string]localstack.Function{}
	var broken []string
	for _, name := range slices.Sorted(maps.Keys(functions)) {
		fmt.Fprintf(out, "building %s\n", name)
		bins, err := localstack.Build(ctx, root, filepath.Join(cache, "build"), "./functions/"+name)
		if err != nil {
			if !cfg.skipBroken {
				return fmt.Errorf("build %s (use -skip-broken to start without it): %w", name, err)
			}
			broken = append(broken, name)
			fmt.Fprintf(out, "skipping %s: %v\n", name, err)
			continue
		}
		fns[name] = localstack.Function{Bootstrap: bins[name], Concurrency: functions[name]}
	}

	opts := localstack.Options{
		Dir:       filepath.Join(cache, "local"),
		RIEBin:    rie,
		Functions: fns,
		APIPort:   cfg.apiPort,
		Env:       cfg.env,
		Log:       slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
	switch {
	case cfg.sim == "none":
	case cfg.sim == "build":
		fmt.Fprintln(out, "building ai-stats-sim")
		bins, err := localstack.Build(ctx, root, filepath.Join(cache, "build"), "./cmd/ai-stats-sim")
		if err != nil {
			return fmt.Errorf("build simulator (use -sim none or -sim <url>): %w", err)
		}
		sim := bins["ai-stats-sim"]
		// The simulator accepts one key; hand it the one the stack stores in
		// Secrets Manager for the functions.
		opts.APIKey = "aistats_v1_sk_local_" + randomHex()
		opts.SimulatorCommand = []string{sim, "-api-key", opts.APIKey, "-time-scale", cfg.timeScale}
	default:
		opts.SimulatorURL = cfg.sim
	}

	fmt.Fprintln(out, "starting moto, the functions and the fronts")
	st, err := localstack.Start(ctx, opts)
	if err != nil {
		return err
	}
	defer st.Close()
	state := filepath.Join(cache, "local", "stack.json")
	if err := writeState(state, st); err != nil {
		return err
	}
	defer os.Remove(state)
	printStack(out, st, broken)

	<-ctx.Done()
	fmt.Fprintln(out, "\nstopping")
	return nil
}

// ensureRIE returns the emulator's path, installing it with the repo script
// when it is missing.
func ensureRIE(ctx context.Context, root string, out io.Writer) (string, error) {
	rie := filepath.Join(root, ".cache", "bin", "aws-lambda-rie")
	if _, err := os.Stat(rie); err == nil {
		return rie, nil
	}
	fmt.Fprintln(out, "installing the Lambda Runtime Interface Emulator (scripts/install-rie.sh)")
	cmd := exec.CommandContext(ctx, "bash", filepath.Join(root, "scripts", "install-rie.sh"))
	cmd.Stdout, cmd.Stderr = out, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("install aws-lambda-rie (needs the Go module proxy; or set it up by hand at %s): %w", rie, err)
	}
	return rie, nil
}

func printStack(out io.Writer, st *localstack.Stack, broken []string) {
	fmt.Fprintf(out, "\nvideojobs is running locally\n\n")
	fmt.Fprintf(out, "  HTTP API     %s   (POST /jobs, GET /jobs, GET /jobs/{id}, …, POST /webhooks/ai-stats)\n", st.APIURL())
	fmt.Fprintf(out, "  moto         %s   (AWS_ENDPOINT_URL)\n", st.MotoURL())
	fmt.Fprintf(out, "  Lambda front %s   (moto's MOTO_PORT)\n", st.LambdaURL())
	if st.SimulatorURL() != "" {
		fmt.Fprintf(out, "  simulator    %s\n", st.SimulatorURL())
	}
	fmt.Fprintf(out, "  logs         %s\n", st.Dir())
	if len(broken) > 0 {
		fmt.Fprintf(out, "  NOT RUNNING  %s (did not build)\n", strings.Join(broken, ", "))
	}
	fmt.Fprintf(out, "\nfunction environment (secrets are in Secrets Manager, by ARN):\n")
	env := st.FunctionEnv()
	for _, k := range slices.Sorted(maps.Keys(env)) {
		fmt.Fprintf(out, "  %s=%s\n", k, env[k])
	}
	fmt.Fprintf(out, "\ntry:\n  curl -s -X POST %s/jobs -H 'content-type: application/json' -d '{\"prompt\":\"a red fox in snow\"}'\n", st.APIURL())
	fmt.Fprintf(out, "  AWS_ENDPOINT_URL=%s AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test aws stepfunctions list-executions --state-machine-arn %s\n",
		st.MotoURL(), st.Resources.StateMachineARN)
	fmt.Fprintf(out, "\nCtrl-C stops everything.\n")
}

// writeState describes the running stack in .cache/local/stack.json, where
// `make demo` (cmd/videojobs-demo) looks for a running `make dev` to drive.
func writeState(path string, st *localstack.Stack) error {
	b, err := json.MarshalIndent(map[string]string{
		"apiUrl":          st.APIURL(),
		"motoUrl":         st.MotoURL(),
		"simulatorUrl":    st.SimulatorURL(),
		"stateMachineArn": st.Resources.StateMachineARN,
		"bucketName":      st.Resources.BucketName,
		"logDir":          st.Dir(),
	}, "", "  ")
	if err != nil {
		return fmt.Errorf("describe stack: %w", err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

func randomHex() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
