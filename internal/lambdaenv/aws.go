package lambdaenv

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/videojobs/videojobs/internal/secrets"
)

// AWS is what every function builds from the AWS environment once per cold
// start.
type AWS struct {
	// Config is the SDK configuration for the function's own clients.
	Config aws.Config
	// Secrets is shared so functions that read more secrets later (the
	// webhook master secret) reuse its cache.
	Secrets *secrets.Reader
	// APIKey is the gateway API key, read once: it is not rotated under a
	// running function.
	APIKey string
}

// LoadAWS loads the SDK's default configuration (the Lambda role's
// credentials, AWS_REGION, and AWS_ENDPOINT_URL when the local stack sets
// it) and reads the API key from the secret apiKeySecretARN.
func LoadAWS(ctx context.Context, apiKeySecretARN string) (AWS, error) {
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return AWS{}, fmt.Errorf("load aws config: %w", err)
	}
	sec := secrets.New(secretsmanager.NewFromConfig(cfg))
	key, err := sec.Get(ctx, apiKeySecretARN)
	if err != nil {
		return AWS{}, fmt.Errorf("read api key: %w", err)
	}
	return AWS{Config: cfg, Secrets: sec, APIKey: key}, nil
}
