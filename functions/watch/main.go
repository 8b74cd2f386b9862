// Command watch is the job workflow's Watch/Poll/MarkFailed Lambda: it arms
// the webhook wake-up, polls the gateway with back-off under a deadline and
// ends jobs that cannot finish (internal/tracking).
package main

import (
	"context"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/videojobs/videojobs/internal/aistats"
	"github.com/videojobs/videojobs/internal/jobstore"
	"github.com/videojobs/videojobs/internal/metrics"
	"github.com/videojobs/videojobs/internal/secrets"
	"github.com/videojobs/videojobs/internal/tracking"
)

func main() {
	log := lambdacontext.NewLogger()
	ctx := context.Background()
	cfg, err := loadConfig(os.Getenv)
	if err != nil {
		log.Error("watch init", "error", err.Error())
		os.Exit(1)
	}
	aws, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		log.Error("watch init: load aws config", "error", err.Error())
		os.Exit(1)
	}
	apiKey, err := secrets.New(secretsmanager.NewFromConfig(aws)).Get(ctx, cfg.apiKeySecretARN)
	if err != nil {
		log.Error("watch init: read api key", "error", err.Error())
		os.Exit(1)
	}
	rec := metrics.New(os.Stdout, "watch", metrics.WithNamespace(cfg.metricsNamespace))
	w := tracking.NewWatcher(jobstore.New(dynamodb.NewFromConfig(aws), cfg.table), aistats.New(cfg.aistatsBaseURL, apiKey),
		sfn.NewFromConfig(aws), rec, tracking.WatchConfig{PollCap: cfg.pollCap, JobDeadline: cfg.jobDeadline})
	lambda.Start((&handler{watch: w, metrics: rec, log: log, now: time.Now}).handle)
}
