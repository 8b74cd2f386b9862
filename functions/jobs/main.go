// Command jobs is the job read API Lambda: GET /jobs/{id}, GET /jobs,
// GET /jobs/{id}/download-url and POST /jobs/{id}/cancel (internal/intake).
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/videojobs/videojobs/internal/aistats"
	"github.com/videojobs/videojobs/internal/intake"
	"github.com/videojobs/videojobs/internal/jobstore"
	"github.com/videojobs/videojobs/internal/metrics"
	"github.com/videojobs/videojobs/internal/secrets"
)

// providerTimeout bounds each gateway call so an answer fits inside API
// Gateway's 30 s integration limit (the function timeout should be ≤ 29 s).
const providerTimeout = 10 * time.Second

func main() {
	h, err := build(context.Background(), os.Getenv)
	if err != nil {
		lambdacontext.NewLogger().Error("jobs init failed", "error", err.Error())
		os.Exit(1)
	}
	lambda.Start(h.handle)
}

// build wires the clients, built once per cold start, into the handler.
func build(ctx context.Context, getenv func(string) string) (*handler, error) {
	cfg, err := loadConfig(getenv)
	if err != nil {
		return nil, err
	}
	aws, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("load aws config: %w", err)
	}
	apiKey, err := secrets.New(secretsmanager.NewFromConfig(aws)).Get(ctx, cfg.apiKeySecretARN)
	if err != nil {
		return nil, fmt.Errorf("read api key: %w", err)
	}
	svc, err := intake.New(intake.Config{
		Store:       jobstore.New(dynamodb.NewFromConfig(aws), cfg.table),
		Provider:    aistats.New(cfg.aistatsBaseURL, apiKey, aistats.WithTimeout(providerTimeout)),
		Presigner:   intake.NewS3Presigner(s3.NewPresignClient(s3.NewFromConfig(aws))),
		Bucket:      cfg.bucket,
		DownloadTTL: cfg.downloadTTL,
	})
	if err != nil {
		return nil, err
	}
	return &handler{svc: svc, log: lambdacontext.NewLogger(), metrics: metrics.New(os.Stdout, "jobs", metrics.WithNamespace(cfg.metricsNamespace)), now: time.Now}, nil
}
