// Command ai-stats-sim runs the AI Stats gateway simulator alone, for local
// development, the demo and out-of-process tests. It prints
// AI_STATS_SIM_URL=http://HOST:PORT as its first stdout line, serves until
// SIGINT or SIGTERM, then stops cleanly. See `ai-stats-sim -h` and
// docs/simulator.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/videojobs/videojobs/internal/simulator"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "ai-stats-sim:", err)
		os.Exit(1)
	}
}

const usageNotes = `
Prompt directive (anywhere in a job's prompt):
  [sim outcome=completed|failed|cancelled|expired queue=10s duration=180s size=BYTES
       faults=NAME,NAME provider=ID cancel=yes|no progress=none content_type=T error=msg]

Fault profile (-faults): inline JSON or a file, either {"<fault>":probability,...}
or {"faults":{...},"outcomes":{"completed":0.9,"failed":0.1},"rules":[...],
"create_response":"slim|full|video_id|openai","status_words":"canonical|legacy",
"created_at":"unix|iso|db","null_progress":bool,"disabled":bool}.
Fault names: %v

Inspection (no auth): GET /_sim/jobs, /_sim/jobs/{id}, /_sim/jobs/{id}/sha256,
/_sim/requests, /_sim/deliveries?job=ID, /_sim/config; POST /_sim/config, /_sim/sweep.
`

// run parses flags, serves until ctx ends, and shuts down.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("ai-stats-sim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:0", "listen address; port 0 picks a free port")
	seed := fs.Int64("seed", 1, "seed for ids, outcomes, faults and content: the same seed and profile reproduce a run")
	scale := fs.Float64("time-scale", 1, "speed-up of job progress, retry delays and the sweep (60: a 3-minute job takes 3 s); timestamps stay wall-clock")
	faults := fs.String("faults", "", "fault profile: inline JSON or a JSON file path")
	apiKey := fs.String("api-key", simulator.DefaultAPIKey, "the accepted Bearer key (format aistats_v1_sk_<kid>_<secret>)")
	variant := fs.String("variant", simulator.VariantAIStats, "protocol variant: ai-stats or phaseo (x-phaseo-* headers, job.status_changed)")
	sweep := fs.Duration("sweep", 5*time.Minute, "background sweep interval in simulated time; 0 disables it")
	baseURL := fs.String("base-url", "", "public base URL for absolute URLs (default: from the request Host)")
	verbose := fs.Bool("v", false, "log every webhook delivery attempt to stderr")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: ai-stats-sim [flags]\n\nFlags:\n")
		fs.PrintDefaults()
		fmt.Fprintf(stderr, usageNotes, simulator.FaultNames())
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg := simulator.Config{Seed: *seed, TimeScale: *scale, APIKey: *apiKey, Variant: *variant, Sweep: *sweep, BaseURL: *baseURL}
	if err := checkFlags(cfg); err != nil {
		return err
	}
	if *sweep == 0 {
		cfg.Sweep = -1
	}
	if *faults != "" {
		st, err := simulator.LoadProfile(*faults)
		if err != nil {
			return err
		}
		cfg.Settings = st
	}
	if *verbose {
		cfg.Logger = slog.New(slog.NewJSONHandler(stderr, nil))
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", *addr, err)
	}
	sim := simulator.New(cfg)
	srv := &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(stdout, "AI_STATS_SIM_URL=http://%s\n", ln.Addr())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	select {
	case err = <-served:
	case <-ctx.Done():
	}
	// Close the simulator first: it releases requests held by hang faults,
	// so the HTTP shutdown does not wait for them.
	_ = sim.Close()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if serr := srv.Shutdown(shutdownCtx); serr != nil && err == nil {
		err = fmt.Errorf("shutdown: %w", serr)
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

func checkFlags(cfg simulator.Config) error {
	if cfg.TimeScale <= 0 {
		return fmt.Errorf("-time-scale %v: must be > 0", cfg.TimeScale)
	}
	if cfg.Variant != simulator.VariantAIStats && cfg.Variant != simulator.VariantPhaseo {
		return fmt.Errorf("-variant %q: want ai-stats or phaseo", cfg.Variant)
	}
	if cfg.Sweep < 0 {
		return fmt.Errorf("-sweep %v: must be >= 0", cfg.Sweep)
	}
	return nil
}
