package main

import (
	"sort"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/google/go-cmp/cmp"
)

// TestStatefulLogicalIDsAreStable is a snapshot: a changed logical ID makes
// CloudFormation replace the resource, i.e. create an empty table or bucket
// and orphan (RETAIN) the old one. Change it only with a migration plan.
func TestStatefulLogicalIDsAreStable(t *testing.T) {
	s := defaultStack(t)
	got := map[string][]string{}
	for _, typ := range []string{"AWS::DynamoDB::Table", "AWS::S3::Bucket"} {
		got[typ] = keys(s.resources(typ))
	}
	want := map[string][]string{
		"AWS::DynamoDB::Table": {"JobsTable"},
		"AWS::S3::Bucket":      {"AccessLogBucket", "VideoBucket"},
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("stateful logical IDs (-got +want):\n%s", diff)
	}
	for _, typ := range []string{"AWS::DynamoDB::Table", "AWS::S3::Bucket"} {
		for id, r := range s.resources(typ) {
			if r["DeletionPolicy"] != "Retain" || r["UpdateReplacePolicy"] != "Retain" {
				t.Errorf("%s: DeletionPolicy %v / UpdateReplacePolicy %v, want Retain", id, r["DeletionPolicy"], r["UpdateReplacePolicy"])
			}
		}
	}
}

func TestTableLayout(t *testing.T) {
	s := defaultStack(t)
	check(t, func() {
		s.template.HasResourceProperties(strPtr("AWS::DynamoDB::Table"), map[string]any{
			"KeySchema": []any{
				map[string]any{"AttributeName": "pk", "KeyType": "HASH"},
				map[string]any{"AttributeName": "sk", "KeyType": "RANGE"},
			},
			"BillingMode":                      "PAY_PER_REQUEST",
			"PointInTimeRecoverySpecification": map[string]any{"PointInTimeRecoveryEnabled": true},
			"TimeToLiveSpecification":          map[string]any{"AttributeName": "ttl", "Enabled": true},
			"DeletionProtectionEnabled":        true,
			"GlobalSecondaryIndexes": []any{map[string]any{
				"IndexName": "byState",
				"KeySchema": []any{
					map[string]any{"AttributeName": "gsi1pk", "KeyType": "HASH"},
					map[string]any{"AttributeName": "gsi1sk", "KeyType": "RANGE"},
				},
				"Projection": map[string]any{"ProjectionType": "ALL"},
			}},
		})
	})
}

func TestVideoBucket(t *testing.T) {
	s := defaultStack(t)
	bucket := props(s.resources("AWS::S3::Bucket")[VideoBucketLogicalID])
	check(t, func() {
		s.template.HasResourceProperties(strPtr("AWS::S3::Bucket"), map[string]any{
			"BucketEncryption": map[string]any{"ServerSideEncryptionConfiguration": []any{
				map[string]any{"ServerSideEncryptionByDefault": map[string]any{"SSEAlgorithm": "AES256"}},
			}},
			"PublicAccessBlockConfiguration": map[string]any{
				"BlockPublicAcls": true, "BlockPublicPolicy": true, "IgnorePublicAcls": true, "RestrictPublicBuckets": true,
			},
			"NotificationConfiguration": map[string]any{"EventBridgeConfiguration": map[string]any{"EventBridgeEnabled": true}},
			"VersioningConfiguration":   map[string]any{"Status": "Enabled"},
			"LifecycleConfiguration": map[string]any{"Rules": assertions.Match_ArrayWith(&[]any{
				assertions.Match_ObjectLike(&map[string]any{
					"AbortIncompleteMultipartUpload": map[string]any{"DaysAfterInitiation": 1},
					"Status":                         "Enabled",
				}),
				assertions.Match_ObjectLike(&map[string]any{
					"Prefix":           "staging/",
					"ExpirationInDays": 1,
					"Status":           "Enabled",
				}),
			})},
			"LoggingConfiguration": map[string]any{
				"DestinationBucketName": map[string]any{"Ref": AccessLogBucketLogicalID},
				"LogFilePrefix":         assertions.Match_AnyValue(),
			},
		})
	})
	if bucket["NotificationConfiguration"] == nil {
		t.Fatal("video bucket has no notification configuration")
	}
	// enforceSSL: a Deny on aws:SecureTransport=false for both buckets.
	var sslDenied []string
	for _, p := range s.resources("AWS::S3::BucketPolicy") {
		bp := props(p)
		for _, st := range asList(bp["PolicyDocument"].(map[string]any)["Statement"]) {
			stmt := st.(map[string]any)
			cond, _ := stmt["Condition"].(map[string]any)
			b, _ := cond["Bool"].(map[string]any)
			if stmt["Effect"] == "Deny" && b["aws:SecureTransport"] == "false" {
				sslDenied = append(sslDenied, ref(bp["Bucket"]))
			}
		}
	}
	sort.Strings(sslDenied)
	if diff := cmp.Diff(sslDenied, []string{AccessLogBucketLogicalID, VideoBucketLogicalID}); diff != "" {
		t.Errorf("buckets denying plain HTTP (-got +want):\n%s", diff)
	}
}

func TestSecretsExist(t *testing.T) {
	s := defaultStack(t)
	check(t, func() {
		s.template.ResourceCountIs(strPtr("AWS::SecretsManager::Secret"), floatPtr(2))
	})

	imported, err := synth(t.TempDir(), map[string]any{
		"apiKeySecretArn": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:aistats-key-AbCdEf",
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	check(t, func() {
		imported.template.ResourceCountIs(strPtr("AWS::SecretsManager::Secret"), floatPtr(1))
	})
	vars := props(imported.functionsByName(t)["watch"])["Environment"].(map[string]any)["Variables"].(map[string]any)
	if got := vars["AISTATS_API_KEY_SECRET_ARN"]; got != "arn:aws:secretsmanager:eu-west-1:123456789012:secret:aistats-key-AbCdEf" {
		t.Errorf("AISTATS_API_KEY_SECRET_ARN = %v, want the imported ARN", got)
	}
}
