// Command webhook is the POST /webhooks/ai-stats Lambda: it verifies,
// dedupes and applies the gateway's signed job events and wakes the job's
// workflow (internal/tracking).
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
		log.Error("webhook init", "error", err.Error())
		os.Exit(1)
	}
	aws, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		log.Error("webhook init: load aws config", "error", err.Error())
		os.Exit(1)
	}
	sec := secrets.New(secretsmanager.NewFromConfig(aws))
	apiKey, err := sec.Get(ctx, cfg.apiKeySecretARN)
	if err != nil {
		log.Error("webhook init: read api key", "error", err.Error())
		os.Exit(1)
	}
	rec := metrics.New(os.Stdout, "webhook", metrics.WithNamespace(cfg.metricsNamespace))
	recv := tracking.NewReceiver(jobstore.New(dynamodb.NewFromConfig(aws), cfg.table), aistats.New(cfg.aistatsBaseURL, apiKey),
		sfn.NewFromConfig(aws), sec, rec, tracking.ReceiverConfig{MasterSecretARN: cfg.masterSecretARN})
	lambda.Start((&handler{recv: recv, metrics: rec, log: log, now: time.Now}).handle)
}
