// Command videojobs-chaos (make chaos) runs a seeded chaos run through the
// whole local stack and prints its ledger; it exits 1 when a guarantee
// broke. See package chaos.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/videojobs/videojobs/chaos"
)

func main() {
	jobs := flag.Int("jobs", 300, "jobs to submit")
	seed := flag.Int64("seed", 1, "seed for the simulator, the job scripts, kills and forgeries")
	inFlight := flag.Int("in-flight", 40, "jobs in flight at once")
	dir := flag.String("dir", "", "directory for builds and logs (kept); default a temporary one, removed unless the run fails")
	flag.Parse()
	os.Exit(run(*jobs, *seed, *inFlight, *dir))
}

func run(jobs int, seed int64, inFlight int, dir string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, time.Hour)
	defer cancel()
	keep := dir != ""
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "videojobs-chaos-"); err != nil {
			fmt.Fprintln(os.Stderr, "videojobs-chaos:", err)
			return 2
		}
	}
	sys, err := chaos.StartSystem(ctx, chaos.Options{Dir: dir, Seed: seed, Log: os.Stderr})
	if err != nil {
		fmt.Fprintln(os.Stderr, "videojobs-chaos: start:", err)
		if errors.Is(err, chaos.ErrToolsAbsent) {
			fmt.Fprintln(os.Stderr, "videojobs-chaos: run make tools first")
		}
		return 2
	}
	l, err := chaos.Run(ctx, sys, chaos.RunConfig{Jobs: jobs, InFlight: inFlight, Progress: os.Stderr})
	sys.Close()
	if err != nil {
		fmt.Fprintln(os.Stderr, "videojobs-chaos: run:", err)
		fmt.Fprintln(os.Stderr, "videojobs-chaos: logs in", dir)
		return 2
	}
	l.Print(os.Stdout)
	v := l.Violations()
	if len(v) == 0 {
		fmt.Println("\nno guarantee broke")
		if !keep {
			os.RemoveAll(dir)
		}
		return 0
	}
	fmt.Printf("\n%d VIOLATIONS\n", len(v))
	for _, s := range v {
		fmt.Println("  " + s)
	}
	fmt.Println("logs in", dir)
	return 1
}
