// Command store is the job workflow's Store Lambda: it streams a completed
// job's video from the gateway into S3 and marks the job stored
// (internal/tracking, internal/copier).
package main

import (
	"os"
	"runtime/debug"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/videojobs/videojobs/internal/aistats"
	"github.com/videojobs/videojobs/internal/copier"
	"github.com/videojobs/videojobs/internal/jobstore"
	"github.com/videojobs/videojobs/internal/lambdaenv"
	"github.com/videojobs/videojobs/internal/metrics"
	"github.com/videojobs/videojobs/internal/tracking"
)

func main() { lambdaenv.Start("store", loadConfig, build) }

// build wires the clients, built once per cold start, into the handler.
func build(cfg config, env lambdaenv.AWS) (any, error) {
	rec := metrics.New(os.Stdout, "store", metrics.WithNamespace(cfg.metricsNamespace))
	cp := copier.New(s3.NewFromConfig(env.Config))
	a := tracking.NewArchiver(jobstore.New(dynamodb.NewFromConfig(env.Config), cfg.table), aistats.NewWithKeyFunc(cfg.aistatsBaseURL, env.APIKey),
		cp, rec, cfg.bucket, time.Now)
	h := &handler{archive: a, metrics: rec, log: lambdacontext.NewLogger(), now: time.Now}
	if os.Getenv("GOGC") == "" && os.Getenv("GOMEMLIMIT") == "" {
		// Bounded memory however long the video (copier.GCPercent,
		// MemoryBudget). Set on the first invocation, not here: lowering
		// the GC target at start runs a collection at once, 1.5-2 ms of
		// every cold start.
		budget := cp.MemoryBudget()
		h.tuneGC = sync.OnceFunc(func() {
			debug.SetGCPercent(copier.GCPercent)
			debug.SetMemoryLimit(budget)
		})
	}
	return h.handle, nil
}
