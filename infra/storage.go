package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// Logical IDs of the stateful resources. They are pinned so that moving a
// construct in the tree never makes CloudFormation replace (and so empty) the
// table or a bucket; storage_test.go snapshots them.
const (
	TableLogicalID           = "JobsTable"
	VideoBucketLogicalID     = "VideoBucket"
	AccessLogBucketLogicalID = "AccessLogBucket"
)

// StorageProps configures NewStorage.
type StorageProps struct {
	// APIKeySecretARN imports an existing secret (complete ARN) for the
	// gateway API key; empty creates one.
	APIKeySecretARN string
}

// Storage is the data layer: the single job table, the video bucket with its
// access-log bucket, and the two Secrets Manager secrets.
type Storage struct {
	constructs.Construct
	Table            awsdynamodb.Table
	Bucket           awss3.Bucket
	AccessLogBucket  awss3.Bucket
	APIKeySecret     awssecretsmanager.ISecret
	WebhookMasterKey awssecretsmanager.ISecret
	// createdAPIKey is the API key secret when this stack created it (nil
	// when imported), for the suppressions that apply only to our own.
	createdAPIKey awssecretsmanager.Secret
}

// NewStorage creates the table, buckets and secrets described in
// docs/internals.md.
func NewStorage(scope constructs.Construct, id string, props *StorageProps) *Storage {
	s := &Storage{Construct: constructs.NewConstruct(scope, jsii.String(id))}
	// Children hang off the embedded construct: jsii cannot use the Go
	// wrapper struct itself as a scope.
	c := s.Construct

	// Single table (docs/internals.md): pk/sk, TTL on `ttl` (deliveries and
	// idempotency keys expire), GSI byState for GET /jobs?state=.
	// RETAIN + deletion protection: the table is the record of every job.
	s.Table = awsdynamodb.NewTable(c, jsii.String("Table"), &awsdynamodb.TableProps{
		PartitionKey:        &awsdynamodb.Attribute{Name: jsii.String("pk"), Type: awsdynamodb.AttributeType_STRING},
		SortKey:             &awsdynamodb.Attribute{Name: jsii.String("sk"), Type: awsdynamodb.AttributeType_STRING},
		BillingMode:         awsdynamodb.BillingMode_PAY_PER_REQUEST,
		TimeToLiveAttribute: jsii.String("ttl"),
		PointInTimeRecoverySpecification: &awsdynamodb.PointInTimeRecoverySpecification{
			PointInTimeRecoveryEnabled: jsii.Bool(true),
		},
		DeletionProtection: jsii.Bool(true),
		Encryption:         awsdynamodb.TableEncryption_AWS_MANAGED,
		RemovalPolicy:      awscdk.RemovalPolicy_RETAIN,
	})
	s.Table.AddGlobalSecondaryIndex(&awsdynamodb.GlobalSecondaryIndexProps{
		IndexName:      jsii.String(StateIndexName),
		PartitionKey:   &awsdynamodb.Attribute{Name: jsii.String("gsi1pk"), Type: awsdynamodb.AttributeType_STRING},
		SortKey:        &awsdynamodb.Attribute{Name: jsii.String("gsi1sk"), Type: awsdynamodb.AttributeType_STRING},
		ProjectionType: awsdynamodb.ProjectionType_ALL,
	})
	s.Table.Node().DefaultChild().(awsdynamodb.CfnTable).OverrideLogicalId(jsii.String(TableLogicalID))

	// Server access logs land here. SSE-S3 because S3 log delivery cannot
	// write to SSE-KMS buckets; logs expire after a year.
	s.AccessLogBucket = awss3.NewBucket(c, jsii.String("AccessLogs"), &awss3.BucketProps{
		Encryption:        awss3.BucketEncryption_S3_MANAGED,
		BlockPublicAccess: awss3.BlockPublicAccess_BLOCK_ALL(),
		EnforceSSL:        jsii.Bool(true),
		MinimumTLSVersion: jsii.Number(1.2),
		ObjectOwnership:   awss3.ObjectOwnership_BUCKET_OWNER_ENFORCED,
		LifecycleRules: &[]*awss3.LifecycleRule{{
			Id:                                  jsii.String("expire-access-logs"),
			Expiration:                          awscdk.Duration_Days(jsii.Number(365)),
			AbortIncompleteMultipartUploadAfter: awscdk.Duration_Days(jsii.Number(1)),
		}},
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	s.AccessLogBucket.Node().DefaultChild().(awss3.CfnBucket).OverrideLogicalId(jsii.String(AccessLogBucketLogicalID))

	// The video bucket. Decisions:
	//   - SSE-S3: presigned GETs work for any client without KMS grants, and
	//     the objects are the user's own generated videos, not credentials.
	//   - Versioning ON: a finished video cannot be regenerated for free (the
	//     gateway's copy expires), so an accidental overwrite or delete must be
	//     recoverable; noncurrent versions (e.g. from a retried copy that
	//     overwrote the same key) expire after 30 days to bound the cost.
	//   - Incomplete multipart uploads (a store λ killed mid-copy) are aborted
	//     after 1 day (guarantee 7), and so are staging objects a crash left
	//     behind (internal/copier uploads to staging/, verifies, then copies
	//     to videos/, so Object Created under videos/ means a verified video;
	//     subscribers filter on that prefix).
	//   - EventBridge notifications on, so apps subscribe to Object Created
	//     with rules on the default bus (S3 always publishes there).
	s.Bucket = awss3.NewBucket(c, jsii.String("Videos"), &awss3.BucketProps{
		Encryption:             awss3.BucketEncryption_S3_MANAGED,
		BlockPublicAccess:      awss3.BlockPublicAccess_BLOCK_ALL(),
		EnforceSSL:             jsii.Bool(true),
		MinimumTLSVersion:      jsii.Number(1.2),
		ObjectOwnership:        awss3.ObjectOwnership_BUCKET_OWNER_ENFORCED,
		Versioned:              jsii.Bool(true),
		ServerAccessLogsBucket: s.AccessLogBucket,
		ServerAccessLogsPrefix: jsii.String("videos-bucket/"),
		LifecycleRules: &[]*awss3.LifecycleRule{
			{
				Id:                                  jsii.String("abort-incomplete-multipart-uploads"),
				AbortIncompleteMultipartUploadAfter: awscdk.Duration_Days(jsii.Number(1)),
			},
			{
				Id:                          jsii.String("expire-noncurrent-versions"),
				NoncurrentVersionExpiration: awscdk.Duration_Days(jsii.Number(30)),
			},
			{
				// A copy takes at most 15 minutes; anything older under
				// staging/ is debris. Deleted staging objects leave a
				// noncurrent version (versioning), gone after a day too.
				Id:                          jsii.String("expire-staging-objects"),
				Prefix:                      jsii.String(StagingPrefix),
				Expiration:                  awscdk.Duration_Days(jsii.Number(1)),
				NoncurrentVersionExpiration: awscdk.Duration_Days(jsii.Number(1)),
			},
			{
				Id:                        jsii.String("remove-expired-delete-markers"),
				ExpiredObjectDeleteMarker: jsii.Bool(true),
			},
		},
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	videoCfn := s.Bucket.Node().DefaultChild().(awss3.CfnBucket)
	videoCfn.OverrideLogicalId(jsii.String(VideoBucketLogicalID))
	// Set on the L1 resource: the L2 `eventBridgeEnabled` prop deploys a
	// custom-resource Lambda to configure notifications, which is a needless
	// extra function with a managed policy.
	videoCfn.AddPropertyOverride(jsii.String("NotificationConfiguration.EventBridgeConfiguration.EventBridgeEnabled"), true)

	// Secrets. Both are read by ARN and cached by internal/secrets.
	// Rotation (docs/operations.md):
	//   - webhook master secret: `aws secretsmanager put-secret-value` with a
	//     new random value. Secrets Manager moves the old value to
	//     AWSPREVIOUS; the webhook λ verifies with AWSCURRENT and AWSPREVIOUS,
	//     so jobs created before the rotation (whose per-job secrets derive
	//     from the old value) keep verifying. Rotate again only after the
	//     longest job deadline plus the gateway's retry horizon has passed.
	//   - gateway API key: create a new key at the gateway, put it as the new
	//     value, then revoke the old key once in-flight invocations (≤ 15 min)
	//     have finished; every λ re-reads the secret when its cache expires.
	if props.APIKeySecretARN != "" {
		s.APIKeySecret = awssecretsmanager.Secret_FromSecretCompleteArn(c, jsii.String("ApiKey"), jsii.String(props.APIKeySecretARN))
	} else {
		apiKey := awssecretsmanager.NewSecret(c, jsii.String("ApiKey"), &awssecretsmanager.SecretProps{
			Description: jsii.String("videojobs: AI Stats gateway API key. Replace the generated placeholder with put-secret-value."),
			GenerateSecretString: &awssecretsmanager.SecretStringGenerator{
				PasswordLength:     jsii.Number(48),
				ExcludePunctuation: jsii.Bool(true),
			},
			RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
		})
		s.APIKeySecret = apiKey
		s.createdAPIKey = apiKey
	}
	s.WebhookMasterKey = awssecretsmanager.NewSecret(c, jsii.String("WebhookMasterSecret"), &awssecretsmanager.SecretProps{
		Description: jsii.String("videojobs: webhook master secret; per-job webhook secrets are HMACs of the job id under it. AWSCURRENT signs, AWSCURRENT and AWSPREVIOUS verify."),
		GenerateSecretString: &awssecretsmanager.SecretStringGenerator{
			PasswordLength:     jsii.Number(64),
			ExcludePunctuation: jsii.Bool(true),
		},
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	return s
}

// StateIndexName is the GSI serving GET /jobs?state= (docs/internals.md).
const StateIndexName = "byState"

// StateIndexArn is the ARN of the byState index, for IAM statements that
// Query it.
func (s *Storage) StateIndexArn() *string {
	return awscdk.Fn_Join(jsii.String(""), &[]*string{s.Table.TableArn(), jsii.String("/index/" + StateIndexName)})
}

// Key prefixes in the video bucket: final objects (docs/internals.md "S3
// objects") and the copier's staging area (internal/copier
// DefaultStagingPrefix + final key).
const (
	VideoPrefix   = "videos/"
	StagingPrefix = "staging/"
)

// VideoObjectsArn covers the final objects under videos/.
func (s *Storage) VideoObjectsArn() *string {
	return s.Bucket.ArnForObjects(jsii.String(VideoPrefix + "*"))
}

// StagingObjectsArn covers the copier's staging objects.
func (s *Storage) StagingObjectsArn() *string {
	return s.Bucket.ArnForObjects(jsii.String(StagingPrefix + VideoPrefix + "*"))
}
