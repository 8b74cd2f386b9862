// Command videojobs-demo (make demo) drives a handful of jobs with mixed
// outcomes and injected faults through the local system: the running
// `make dev` stack if there is one, else a stack of its own. It shows each
// job's progress live and ends with a summary of final states, S3 objects,
// webhook-delivery health and workflow state transitions. It exits 1 when
// any job ends other than expected.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	opts := options{tick: 500 * time.Millisecond}
	flag.DurationVar(&opts.timeout, "timeout", 3*time.Minute, "how long to wait for every job to end")
	flag.BoolVar(&opts.own, "own-stack", false, "start a stack of its own even when make dev is running")
	flag.Parse()
	root, err := os.Getwd()
	if err == nil {
		_, err = os.Stat("go.mod")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "videojobs-demo: run from the repository root (where go.mod is)")
		os.Exit(2)
	}
	opts.root, opts.tty = root, isTerminal(os.Stdout)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	failed, err := run(ctx, opts, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "videojobs-demo:", err)
		os.Exit(1)
	}
	if failed > 0 {
		os.Exit(1)
	}
}

// isTerminal reports whether f is a character device that understands ANSI
// cursor movement (not TERM=dumb).
func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0 && os.Getenv("TERM") != "dumb"
}
