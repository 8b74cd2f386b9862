// Command webhook is the POST /webhooks/ai-stats Lambda: it verifies,
// dedupes and applies the gateway's signed job events and wakes the job's
// workflow (internal/tracking).
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

func main() { lambdaenv.Start("webhook", loadConfig, build) }

// build wires the clients, built once per cold start, into the handler.
func build(cfg config, env lambdaenv.AWS) (any, error) {
	rec := metrics.New(os.Stdout, "webhook", metrics.WithNamespace(cfg.metricsNamespace))
	// The receiver reads the master secret per delivery through the shared
	// cache, so a rotation verifies without a cold start.
	recv := tracking.NewReceiver(jobstore.New(dynamodb.NewFromConfig(env.Config), cfg.table), aistats.NewWithKeyFunc(cfg.aistatsBaseURL, env.APIKey),
		sfn.NewFromConfig(env.Config), env.Secrets, rec, tracking.ReceiverConfig{MasterSecretARN: cfg.masterSecretARN})
	return (&handler{recv: recv, metrics: rec, log: lambdacontext.NewLogger(), now: time.Now}).handle, nil
}
