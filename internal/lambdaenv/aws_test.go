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
		if key, err := got.APIKey(ctx); err != nil || key != "sk-test-key" {
			t.Errorf("APIKey = %q, %v; want the secret's value", key, err)
		}
		if got.Config.Region != mototest.Region {
			t.Errorf("Config.Region = %q, want %q", got.Config.Region, mototest.Region)
		}
		// The shared reader is live and cached: a second read needs no new client.
		if v, err := got.Secrets.Get(ctx, arn); err != nil || v != "sk-test-key" {
			t.Errorf("Secrets.Get = %q, %v; want the secret's value", v, err)
		}
	})
	t.Run("missing secret fails the first use, not the cold start", func(t *testing.T) {
		got, err := lambdaenv.LoadAWS(ctx, arn+"-gone")
		if err != nil {
			t.Fatalf("LoadAWS: %v; the key is read on first use", err)
		}
		if _, err := got.APIKey(ctx); err == nil || !strings.HasPrefix(err.Error(), "read api key: ") {
			t.Errorf("APIKey = %v, want a read api key error", err)
		}
	})
}

func TestSDKConfig(t *testing.T) {
	env := map[string]string{"AWS_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "s3cr3t", "AWS_SESSION_TOKEN": "tok"}
	getenv := func(k string) string { return env[k] }
	cfg, err := lambdaenv.SDKConfig(getenv)
	if err != nil {
		t.Fatalf("SDKConfig: %v", err)
	}
	creds, err := cfg.Credentials.Retrieve(context.Background())
	if err != nil || cfg.Region != "eu-west-1" || creds.AccessKeyID != "AKIDEXAMPLE" || creds.SecretAccessKey != "s3cr3t" || creds.SessionToken != "tok" || cfg.BaseEndpoint != nil {
		t.Errorf("config region %q endpoint %v creds %+v (%v); want the environment's", cfg.Region, cfg.BaseEndpoint, creds, err)
	}

	env["AWS_ENDPOINT_URL"] = "http://127.0.0.1:5000"
	if cfg, err := lambdaenv.SDKConfig(getenv); err != nil || aws.ToString(cfg.BaseEndpoint) != "http://127.0.0.1:5000" {
		t.Errorf("endpoint %v (%v), want AWS_ENDPOINT_URL", cfg.BaseEndpoint, err)
	}
	env["AWS_ENDPOINT_URL"] = "127.0.0.1:5000"
	if _, err := lambdaenv.SDKConfig(getenv); err == nil {
		t.Error("an endpoint without a scheme was accepted")
	}

	_, err = lambdaenv.SDKConfig(func(string) string { return "" })
	if err == nil || !strings.Contains(err.Error(), "AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY") || strings.Contains(err.Error(), "s3cr3t") {
		t.Errorf("SDKConfig without the environment = %v, want every missing variable named", err)
	}
}
