package lambdaenv_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/videojobs/videojobs/internal/lambdaenv"
	"github.com/videojobs/videojobs/internal/mototest"
)

func TestMain(m *testing.M) { os.Exit(mototest.Run(m)) }

// TestLoadAWS runs LoadAWS the way a cold start does, from the environment
// alone, against moto: the local stack points functions at it with the same
// AWS_ENDPOINT_URL.
func TestLoadAWS(t *testing.T) {
	srv := mototest.Shared(t)
	empty := filepath.Join(t.TempDir(), "none")
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL": srv.URL, "AWS_REGION": mototest.Region,
		"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_SESSION_TOKEN": "",
		// So a developer's ~/.aws can neither help nor leak into the test.
		"AWS_CONFIG_FILE": empty, "AWS_SHARED_CREDENTIALS_FILE": empty, "AWS_PROFILE": "",
	} {
		t.Setenv(k, v)
	}
	ctx := context.Background()
	out, err := secretsmanager.NewFromConfig(srv.Config()).CreateSecret(ctx, &secretsmanager.CreateSecretInput{
		Name: aws.String(mototest.Name(t)), SecretString: aws.String("sk-test-key"),
	})
	if err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(out.ARN)

	t.Run("reads the api key", func(t *testing.T) {
		got, err := lambdaenv.LoadAWS(ctx, arn)
		if err != nil {
			t.Fatalf("LoadAWS: %v", err)
		}
		if got.APIKey != "sk-test-key" {
			t.Errorf("APIKey = %q, want the secret's value", got.APIKey)
		}
		if got.Config.Region != mototest.Region {
			t.Errorf("Config.Region = %q, want %q", got.Config.Region, mototest.Region)
		}
		// The shared reader is live and cached: a second read needs no new client.
		if v, err := got.Secrets.Get(ctx, arn); err != nil || v != "sk-test-key" {
			t.Errorf("Secrets.Get = %q, %v; want the secret's value", v, err)
		}
	})
	t.Run("missing secret", func(t *testing.T) {
		_, err := lambdaenv.LoadAWS(ctx, arn+"-gone")
		if err == nil || !strings.HasPrefix(err.Error(), "read api key: ") {
			t.Errorf("LoadAWS = %v, want a read api key error", err)
		}
	})
}
