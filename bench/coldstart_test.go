package bench

import (
	"context"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/videojobs/videojobs/internal/localstack"
)

// coldStarts is how many cold starts each function gets (one per RIE
// process); the median is reported.
const coldStarts = 5

// BenchmarkColdStart measures each function's INIT duration under the
// RIE (the emulator's "INIT REPORT(durationMs: …)" line: from starting
// the bootstrap to its first request for work, so it includes main's
// config, SDK clients and secret reads against moto) and the latency of
// that first, cold invocation, against a hello-world aws-lambda-go
// bootstrap started the same way in the same run. Target: INIT ≤ 2× the
// hello-world's.
//
// Rounds interleave the functions, so drift in machine load weighs on all
// of them alike. The payload is "{}": a cold start is the same whatever
// the event, and the handlers' answers to it do not matter here.
func BenchmarkColdStart(b *testing.B) {
	s := requireSystem(b)
	env := s.stack.FunctionEnv()
	envList := make([]string, 0, len(env))
	for _, k := range slices.Sorted(maps.Keys(env)) {
		envList = append(envList, k+"="+env[k])
	}
	names := append([]string{"hello"}, stackFunctions...)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	pools := map[string]*localstack.RIE{}
	defer func() {
		for _, p := range pools {
			p.Close()
		}
	}()
	for _, name := range names {
		p, err := localstack.StartRIE(ctx, localstack.RIEOptions{
			Bin:         s.rie,
			Name:        name,
			Bootstrap:   s.bins[name],
			Env:         envList,
			Concurrency: coldStarts,
			LogDir:      filepath.Join(s.dir, "coldstart"),
		})
		if err != nil {
			b.Fatal(err)
		}
		pools[name] = p
	}

	// Invocations take idle processes first in, first out, so each
	// sequential round reaches a fresh process of every function.
	first := map[string][]time.Duration{}
	for round := range coldStarts {
		for i := range names {
			name := names[(i+round)%len(names)]
			start := time.Now()
			if _, err := pools[name].Invoke(ctx, []byte(`{}`)); err != nil {
				b.Fatalf("cold invoke %s: %v", name, err)
			}
			first[name] = append(first[name], time.Since(start))
		}
	}

	for _, name := range names {
		reps, err := pools[name].Reports()
		if err != nil {
			b.Fatal(err)
		}
		var inits []time.Duration
		for _, r := range reps {
			if r.Init > 0 {
				inits = append(inits, r.Init)
			}
		}
		if len(inits) != coldStarts {
			b.Fatalf("%s: %d INIT reports in the RIE logs, want %d", name, len(inits), coldStarts)
		}
		slices.Sort(inits)
		slices.Sort(first[name])
		var size int64
		if fi, err := os.Stat(s.bins[name]); err == nil {
			size = fi.Size()
		}
		b.Run("fn="+name, func(b *testing.B) {
			b.ReportMetric(ms(percentile(inits, 50)), "init-ms")
			b.ReportMetric(ms(inits[len(inits)-1]), "init-max-ms")
			b.ReportMetric(ms(percentile(first[name], 50)), "first-invoke-ms")
			b.ReportMetric(float64(size)/(1<<20), "bootstrap-MiB")
		})
	}
}
