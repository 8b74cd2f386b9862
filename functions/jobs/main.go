// Command jobs is the job read API Lambda: GET /jobs/{id}, GET /jobs,
// GET /jobs/{id}/download-url and POST /jobs/{id}/cancel (internal/intake).
package main

import (
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/videojobs/videojobs/internal/aistats"
	"github.com/videojobs/videojobs/internal/intake"
	"github.com/videojobs/videojobs/internal/jobstore"
	"github.com/videojobs/videojobs/internal/lambdaenv"
	"github.com/videojobs/videojobs/internal/metrics"
)

// providerTimeout bounds each gateway call so an answer fits inside API
// Gateway's 30 s integration limit (the function timeout should be ≤ 29 s).
const providerTimeout = 10 * time.Second

func main() { lambdaenv.Start("jobs", loadConfig, build) }

// build wires the clients, built once per cold start, into the handler.
func build(cfg config, env lambdaenv.AWS) (any, error) {
	svc, err := intake.New(intake.Config{
		Store:       jobstore.New(dynamodb.NewFromConfig(env.Config), cfg.table),
		Provider:    aistats.NewWithKeyFunc(cfg.aistatsBaseURL, env.APIKey, aistats.WithTimeout(providerTimeout)),
		Presigner:   intake.NewS3Presigner(s3.NewPresignClient(s3.NewFromConfig(env.Config))),
		Bucket:      cfg.bucket,
		DownloadTTL: cfg.downloadTTL,
	})
	if err != nil {
		return nil, err
	}
	return (&handler{svc: svc, log: lambdacontext.NewLogger(), metrics: metrics.New(os.Stdout, "jobs", metrics.WithNamespace(cfg.metricsNamespace)), now: time.Now}).handle, nil
}
