package lambdaenv

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

// Config is what [Start] needs from a function's configuration.
type Config interface {
	// APIKeySecretARN names the secret holding the gateway API key.
	APIKeySecretARN() string
}

// Start runs a function's cold start and then serves it: it reads the
// configuration with load from os.Getenv, loads the AWS side ([LoadAWS]),
// has build wire the handler from both, and hands that to [lambda.Start]
// (hence any: a handler function of any shape lambda.Start accepts).
//
// When any step fails, Start logs "<function> init failed" with the error
// and exits with status 1, so Lambda reports an init error instead of
// serving a half-wired function. The errors name variables and ARNs, never
// secret values.
func Start[C Config](function string, load func(getenv func(string) string) (C, error), build func(C, AWS) (any, error)) {
	h, err := initialize(context.Background(), os.Getenv, load, build)
	if err != nil {
		lambdacontext.NewLogger().Error(function+" init failed", "error", err.Error())
		os.Exit(1)
	}
	lambda.Start(h)
}

func initialize[C Config](ctx context.Context, getenv func(string) string, load func(func(string) string) (C, error), build func(C, AWS) (any, error)) (any, error) {
	cfg, err := load(getenv)
	if err != nil {
		return nil, err
	}
	env, err := LoadAWS(ctx, cfg.APIKeySecretARN())
	if err != nil {
		return nil, err
	}
	return build(cfg, env)
}
