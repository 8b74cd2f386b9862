package lambdaenv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
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
	// APIKey resolves the gateway API key from its secret when a request
	// first needs it, then from the Secrets reader's cache (for
	// aistats.NewWithKeyFunc). Reading it here, in the cold start, cost
	// each function a Secrets Manager round trip before its first
	// request: most of its INIT time.
	APIKey func(context.Context) (string, error)
}

// LoadAWS builds the SDK configuration from the Lambda environment
// ([SDKConfig]). No AWS call is made: the API key in apiKeySecretARN is read
// on first use (AWS.APIKey), and a failure to read it fails that request
// with "read api key: …".
func LoadAWS(ctx context.Context, apiKeySecretARN string) (AWS, error) {
	cfg, err := SDKConfig(os.Getenv)
	if err != nil {
		return AWS{}, err
	}
	sec := secrets.New(secretsmanager.NewFromConfig(cfg))
	key := func(ctx context.Context) (string, error) {
		k, err := sec.Get(ctx, apiKeySecretARN)
		if err != nil {
			return "", fmt.Errorf("read api key: %w", err)
		}
		return k, nil
	}
	return AWS{Config: cfg, Secrets: sec, APIKey: key}, nil
}

// SDKConfig is the SDK configuration of a function, from the variables the
// Lambda runtime sets for every function: AWS_REGION and the execution
// role's AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN
// (valid for the life of the execution environment), plus
// AWS_ENDPOINT_URL when set (the local stack points the functions at moto
// with it; `sam local invoke` sets the rest from your profile).
//
// It replaces config.LoadDefaultConfig on purpose: that resolver links the
// SSO, SSO-OIDC, STS, sign-in, IMDS and process credential chains into every
// binary, and their package initialisation plus the shared-file lookups
// cost about a millisecond of each cold start for credentials a function
// never uses. The price is that the other AWS_* settings the full resolver
// honours (AWS_PROFILE, AWS_MAX_ATTEMPTS, AWS_RETRY_MODE,
// AWS_ENDPOINT_URL_<SERVICE>, …) are not read; the SDK's defaults apply.
func SDKConfig(getenv func(string) string) (aws.Config, error) {
	var missing []string
	need := func(name string) string {
		v := strings.TrimSpace(getenv(name))
		if v == "" {
			missing = append(missing, name)
		}
		return v
	}
	region, id, secret := need("AWS_REGION"), need("AWS_ACCESS_KEY_ID"), need("AWS_SECRET_ACCESS_KEY")
	if len(missing) > 0 {
		return aws.Config{}, fmt.Errorf("load aws config: %s not set (the Lambda runtime sets them)", strings.Join(missing, ", "))
	}
	cfg := aws.Config{
		Region:      region,
		Credentials: aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(id, secret, getenv("AWS_SESSION_TOKEN"))),
	}
	if ep := strings.TrimSpace(getenv("AWS_ENDPOINT_URL")); ep != "" {
		if !strings.HasPrefix(ep, "http://") && !strings.HasPrefix(ep, "https://") {
			return aws.Config{}, errors.New("load aws config: AWS_ENDPOINT_URL must be an http(s) URL")
		}
		cfg.BaseEndpoint = aws.String(ep)
	}
	return cfg, nil
}
