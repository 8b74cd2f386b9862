// Command store is the job workflow's Store Lambda: it streams a completed
// job's video from the gateway into S3 and marks the job stored
// (internal/tracking, internal/copier).
package main

import (
	"context"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/videojobs/videojobs/internal/aistats"
	"github.com/videojobs/videojobs/internal/copier"
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
		log.Error("store init", "error", err.Error())
		os.Exit(1)
	}
	aws, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		log.Error("store init: load aws config", "error", err.Error())
		os.Exit(1)
	}
	apiKey, err := secrets.New(secretsmanager.NewFromConfig(aws)).Get(ctx, cfg.apiKeySecretARN)
	if err != nil {
		log.Error("store init: read api key", "error", err.Error())
		os.Exit(1)
	}
	rec := metrics.New(os.Stdout, "store", metrics.WithNamespace(cfg.metricsNamespace))
	a := tracking.NewArchiver(jobstore.New(dynamodb.NewFromConfig(aws), cfg.table), aistats.New(cfg.aistatsBaseURL, apiKey),
		copier.New(s3.NewFromConfig(aws)), rec, cfg.bucket, time.Now)
	lambda.Start((&handler{archive: a, metrics: rec, log: log, now: time.Now}).handle)
}
