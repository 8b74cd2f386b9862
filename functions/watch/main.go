// Command watch is the job workflow's Watch/Poll/MarkFailed Lambda: it arms
// the webhook wake-up, polls the gateway with back-off under a deadline and
// ends jobs that cannot finish (internal/tracking).
package main

import (
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/videojobs/videojobs/internal/aistats"
	"github.com/videojobs/videojobs/internal/jobstore"
	"github.com/videojobs/videojobs/internal/lambdaenv"
	"github.com/videojobs/videojobs/internal/metrics"
	"github.com/videojobs/videojobs/internal/tracking"
)

func main() { lambdaenv.Start("watch", loadConfig, build) }

// build wires the clients, built once per cold start, into the handler.
func build(cfg config, env lambdaenv.AWS) (any, error) {
	rec := metrics.New(os.Stdout, "watch", metrics.WithNamespace(cfg.metricsNamespace))
	w := tracking.NewWatcher(jobstore.New(dynamodb.NewFromConfig(env.Config), cfg.table), aistats.NewWithKeyFunc(cfg.aistatsBaseURL, env.APIKey),
		sfn.NewFromConfig(env.Config), rec, tracking.WatchConfig{PollCap: cfg.pollCap, JobDeadline: cfg.jobDeadline})
	return (&handler{watch: w, metrics: rec, log: lambdacontext.NewLogger(), now: time.Now}).handle, nil
}
