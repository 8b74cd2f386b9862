// Command submit is the POST /jobs Lambda: it validates a submission and
// makes its one provider job (internal/intake).
package main

import (
	"context"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/videojobs/videojobs/internal/aistats"
	"github.com/videojobs/videojobs/internal/intake"
	"github.com/videojobs/videojobs/internal/jobstore"
	"github.com/videojobs/videojobs/internal/lambdaenv"
	"github.com/videojobs/videojobs/internal/metrics"
)

// providerTimeout bounds each gateway call so an answer fits inside API
// Gateway's 30 s integration limit (the function timeout should be ≤ 29 s).
const providerTimeout = 10 * time.Second

func main() { lambdaenv.Start("submit", loadConfig, build) }

// build wires the clients, built once per cold start, into the handler.
func build(cfg config, env lambdaenv.AWS) (any, error) {
	svc, err := intake.New(intake.Config{
		Store:    jobstore.New(dynamodb.NewFromConfig(env.Config), cfg.table),
		Provider: aistats.NewWithKeyFunc(cfg.aistatsBaseURL, env.APIKey, aistats.WithTimeout(providerTimeout)),
		Workflow: intake.NewStepFunctions(sfn.NewFromConfig(env.Config), cfg.stateMachineARN),
		// Read per submission through the cache, so a rotated master
		// secret signs new jobs without a cold start.
		MasterSecret: func(ctx context.Context) ([]byte, error) {
			s, err := env.Secrets.Get(ctx, cfg.masterSecretARN)
			return []byte(s), err
		},
		WebhookBaseURL: cfg.webhookBaseURL,
		DefaultModel:   cfg.defaultModel,
	})
	if err != nil {
		return nil, err
	}
	return (&handler{svc: svc, log: lambdacontext.NewLogger(), metrics: metrics.New(os.Stdout, "submit", metrics.WithNamespace(cfg.metricsNamespace)), now: time.Now}).handle, nil
}
