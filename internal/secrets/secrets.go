// Package secrets reads secret strings from AWS Secrets Manager and caches
// them in memory, so a warm Lambda asks Secrets Manager about once per TTL
// rather than once per request.
//
// Get returns the AWSCURRENT version. Versions also returns the AWSPREVIOUS
// version, for verifiers that must keep accepting signatures made with the
// secret that was current before a rotation.
//
// Secret values never appear in errors or logs: errors name the secret's ARN
// and the version stage, and wrap only the SDK's error, which carries no
// value. See https://docs.aws.amazon.com/secretsmanager/latest/userguide/getting-started.html#term_version.
package secrets

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
)

// Version stages Secrets Manager's rotation moves between versions.
const (
	StageCurrent  = "AWSCURRENT"
	StagePrevious = "AWSPREVIOUS"
)

// DefaultTTL is how long a value is served from the cache. A rotated secret
// reaches a warm Lambda within it; verifiers accept AWSPREVIOUS meanwhile.
const DefaultTTL = 5 * time.Minute

// API is the part of the Secrets Manager client the reader uses.
type API interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

var _ API = (*secretsmanager.Client)(nil)

// Reader reads secrets through a cache. It is safe for concurrent use.
type Reader struct {
	api API
	ttl time.Duration
	now func() time.Time

	mu    sync.Mutex
	cache map[key]entry
}

type key struct{ arn, stage string }

type entry struct {
	value   string
	present bool // false: the stage has no version (no AWSPREVIOUS yet)
	expires time.Time
}

// Option configures a Reader.
type Option func(*Reader)

// WithTTL sets how long values are cached; zero or less disables caching.
func WithTTL(d time.Duration) Option { return func(r *Reader) { r.ttl = d } }

// WithClock sets the clock the cache expires by; the default is time.Now.
func WithClock(now func() time.Time) Option { return func(r *Reader) { r.now = now } }

// New returns a Reader over client.
func New(client API, opts ...Option) *Reader {
	r := &Reader{api: client, ttl: DefaultTTL, now: time.Now, cache: map[key]entry{}}
	for _, o := range opts {
		o(r)
	}
	return r
}

// Get returns the secret string of arn's AWSCURRENT version.
func (r *Reader) Get(ctx context.Context, arn string) (string, error) {
	v, ok, err := r.stage(ctx, arn, StageCurrent)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", fmt.Errorf("get secret %s: no %s version", arn, StageCurrent)
	}
	return v, nil
}

// Versions returns the secret strings of arn's AWSCURRENT and AWSPREVIOUS
// versions; previous is "" when the secret has never been rotated.
func (r *Reader) Versions(ctx context.Context, arn string) (current, previous string, err error) {
	if current, err = r.Get(ctx, arn); err != nil {
		return "", "", err
	}
	previous, _, err = r.stage(ctx, arn, StagePrevious)
	if err != nil {
		return "", "", err
	}
	return current, previous, nil
}

func (r *Reader) stage(ctx context.Context, arn, stage string) (string, bool, error) {
	k := key{arn, stage}
	now := r.now()
	r.mu.Lock()
	e, hit := r.cache[k]
	r.mu.Unlock()
	if hit && now.Before(e.expires) {
		return e.value, e.present, nil
	}

	// Concurrent misses may each fetch; the values agree and the cost
	// is one extra call per TTL at worst, which is not worth a
	// singleflight here.
	out, err := r.api.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{
		SecretId:     aws.String(arn),
		VersionStage: aws.String(stage),
	})
	var notFound *types.ResourceNotFoundException
	switch {
	case errors.As(err, &notFound) && stage != StageCurrent:
		// Secrets Manager answers ResourceNotFound for a stage no
		// version carries; the secret itself was just read.
		e = entry{}
	case err != nil:
		return "", false, fmt.Errorf("get secret %s (%s): %w", arn, stage, err)
	case out.SecretString == nil:
		return "", false, fmt.Errorf("get secret %s (%s): not a string secret", arn, stage)
	default:
		e = entry{value: *out.SecretString, present: true}
	}
	if r.ttl > 0 {
		e.expires = now.Add(r.ttl)
		r.mu.Lock()
		r.cache[k] = e
		r.mu.Unlock()
	}
	return e.value, e.present, nil
}
