package secrets

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/videojobs/videojobs/internal/mototest"
)

func TestMain(m *testing.M) { os.Exit(mototest.Run(m)) }

func newClient(t *testing.T) *secretsmanager.Client {
	t.Helper()
	return secretsmanager.NewFromConfig(mototest.Shared(t).Config())
}

func createSecret(t *testing.T, client *secretsmanager.Client, value string) string {
	t.Helper()
	out, err := client.CreateSecret(context.Background(), &secretsmanager.CreateSecretInput{
		Name:         aws.String(mototest.Name(t)),
		SecretString: aws.String(value),
	})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.ARN)
}

func putValue(t *testing.T, client *secretsmanager.Client, arn, value string) {
	t.Helper()
	_, err := client.PutSecretValue(context.Background(), &secretsmanager.PutSecretValueInput{
		SecretId: aws.String(arn), SecretString: aws.String(value),
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestVersionsAgainstMoto(t *testing.T) {
	client := newClient(t)
	ctx := context.Background()
	arn := createSecret(t, client, "first")

	fresh := func() *Reader { return New(client) }
	cur, prev, err := fresh().Versions(ctx, arn)
	if err != nil || cur != "first" || prev != "" {
		t.Errorf("before rotation: Versions = %q, %q, %v; want first, \"\", nil", cur, prev, err)
	}

	putValue(t, client, arn, "second")
	putValue(t, client, arn, "third")
	cur, prev, err = fresh().Versions(ctx, arn)
	if err != nil || cur != "third" || prev != "second" {
		t.Errorf("after two rotations: Versions = %q, %q, %v; want third, second, nil", cur, prev, err)
	}
	if got, err := fresh().Get(ctx, arn); err != nil || got != "third" {
		t.Errorf("Get = %q, %v; want third", got, err)
	}
}

func TestRotationAfterCreateWithPut(t *testing.T) {
	client := newClient(t)
	ctx := context.Background()
	arn := createSecret(t, client, "v1")
	putValue(t, client, arn, "v2")
	cur, prev, err := New(client).Versions(ctx, arn)
	if err != nil || cur != "v2" || prev != "v1" {
		t.Errorf("Versions = %q, %q, %v; want v2, v1, nil", cur, prev, err)
	}
}

func TestMissingSecret(t *testing.T) {
	client := newClient(t)
	arn := "arn:aws:secretsmanager:us-east-1:123456789012:secret:" + mototest.Name(t)
	_, err := New(client).Get(context.Background(), arn)
	var notFound *types.ResourceNotFoundException
	if !errors.As(err, &notFound) {
		t.Errorf("Get of a missing secret: err = %v, want a wrapped ResourceNotFoundException", err)
	}
	if _, _, err := New(client).Versions(context.Background(), arn); err == nil {
		t.Error("Versions of a missing secret succeeded")
	}
}

// fake is an in-memory Secrets Manager: stage → value per ARN.
type fake struct {
	mu     sync.Mutex
	stages map[string]map[string]string
	calls  int
	err    error
}

func (f *fake) GetSecretValue(_ context.Context, in *secretsmanager.GetSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.err != nil {
		return nil, f.err
	}
	v, ok := f.stages[*in.SecretId][*in.VersionStage]
	if !ok {
		return nil, &types.ResourceNotFoundException{Message: aws.String("no such version")}
	}
	return &secretsmanager.GetSecretValueOutput{SecretString: aws.String(v)}, nil
}

func (f *fake) set(arn, stage, v string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stages[arn][stage] = v
}

func TestCache(t *testing.T) {
	const arn = "arn:secret"
	f := &fake{stages: map[string]map[string]string{arn: {StageCurrent: "a"}}}
	now := time.Unix(1_800_000_000, 0)
	r := New(f, WithTTL(time.Minute), WithClock(func() time.Time { return now }))
	ctx := context.Background()

	for range 3 {
		if cur, prev, err := r.Versions(ctx, arn); err != nil || cur != "a" || prev != "" {
			t.Fatalf("Versions = %q, %q, %v; want a, \"\", nil", cur, prev, err)
		}
	}
	if f.calls != 2 {
		t.Errorf("%d calls for three Versions within the TTL, want 2 (current and the absent previous, each cached)", f.calls)
	}

	f.set(arn, StagePrevious, "a")
	f.set(arn, StageCurrent, "b")
	if cur, _, _ := r.Versions(ctx, arn); cur != "a" {
		t.Errorf("within the TTL: current %q, want the cached a", cur)
	}
	now = now.Add(time.Minute)
	if cur, prev, err := r.Versions(ctx, arn); err != nil || cur != "b" || prev != "a" {
		t.Errorf("after the TTL: Versions = %q, %q, %v; want b, a, nil", cur, prev, err)
	}
}

func TestErrorsCarryNoValue(t *testing.T) {
	const arn, value = "arn:secret", "s3cr3t-value"
	f := &fake{stages: map[string]map[string]string{arn: {StageCurrent: value}}}
	r := New(f, WithTTL(0))
	if _, err := r.Get(context.Background(), arn); err != nil {
		t.Fatal(err)
	}
	f.err = errors.New("throttled")
	_, err := r.Get(context.Background(), arn)
	if err == nil {
		t.Fatal("Get succeeded with a failing client and no cache")
	}
	if strings.Contains(err.Error(), value) {
		t.Errorf("error %q contains the secret value", err)
	}
	if !strings.Contains(err.Error(), arn) {
		t.Errorf("error %q does not name the secret", err)
	}
}
