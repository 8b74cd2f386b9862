package mototest

import (
	"context"
	"os"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

func TestMain(m *testing.M) { os.Exit(Run(m)) }

func TestSharedServesS3(t *testing.T) {
	srv := Shared(t)
	if again := Shared(t); again != srv {
		t.Fatalf("Shared returned a second server %s, want the first %s", again.URL, srv.URL)
	}
	ctx := context.Background()
	client := s3.NewFromConfig(srv.Config())
	bucket := Name(t)
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatalf("create bucket: %v", err)
	}
	out, err := client.ListBuckets(ctx, &s3.ListBucketsInput{})
	if err != nil {
		t.Fatalf("list buckets: %v", err)
	}
	var found bool
	for _, b := range out.Buckets {
		found = found || aws.ToString(b.Name) == bucket
	}
	if !found {
		t.Errorf("bucket %s not listed", bucket)
	}
}

func TestStartStopsOnStop(t *testing.T) {
	srv := Start(t)
	srv.Stop()
	select {
	case <-srv.done:
	default:
		t.Fatal("moto process still running after Stop")
	}
	srv.Stop() // a second Stop (the cleanup) must be harmless
}

func TestNameUnique(t *testing.T) {
	a, b := Name(t), Name(t)
	if a == b {
		t.Errorf("Name returned %q twice", a)
	}
	if len(a) > 48 {
		t.Errorf("Name(%q) = %q, longer than 48", t.Name(), a)
	}
}
