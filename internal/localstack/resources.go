package localstack

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/videojobs/videojobs/workflow"
)

// Fixed identity of the local account: moto's default account and the
// region the functions are told to use.
const (
	AccountID = "123456789012"
	Region    = "us-east-1"
)

// FunctionARN is the ARN the local workflow uses for a function name.
func FunctionARN(name string) string {
	return "arn:aws:lambda:" + Region + ":" + AccountID + ":function:" + name
}

// AWSConfig returns an SDK configuration that talks to endpoint (moto) with
// dummy credentials. S3 clients built from it must set UsePathStyle, since
// moto on 127.0.0.1 has no per-bucket host names.
func AWSConfig(endpoint string) aws.Config {
	return aws.Config{
		Region:       Region,
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(endpoint),
	}
}

// ResourceOptions names the resources [CreateResources] makes. Zero fields
// take the defaults shown.
type ResourceOptions struct {
	TableName        string // videojobs-jobs
	BucketName       string // videojobs-videos
	EventBusName     string // videojobs
	StateMachineName string // videojobs-job
	// Definition is the ASL with ${…} placeholders; default workflow.JobASL.
	Definition []byte
	// Substitutions for Definition; default: the watch and store function
	// ARNs ([FunctionARN]) and the bus name.
	Substitutions map[string]string
	// APIKey is the AI Stats API key stored in its secret.
	APIKey string
	// WebhookSecret and PreviousWebhookSecret are the master secret's
	// AWSCURRENT and AWSPREVIOUS versions (a rotation in progress).
	WebhookSecret         string
	PreviousWebhookSecret string
}

// Resources are the names and ARNs of what [CreateResources] made.
type Resources struct {
	TableName             string
	BucketName            string
	EventBusName          string
	StateMachineARN       string
	APIKeySecretARN       string
	WebhookSecretARN      string
	WorkflowRoleARN       string
	BucketEventBridgeOn   bool
	PointInTimeRecoveryOn bool
}

func (o *ResourceOptions) defaults() {
	if o.TableName == "" {
		o.TableName = "videojobs-jobs"
	}
	if o.BucketName == "" {
		o.BucketName = "videojobs-videos"
	}
	if o.EventBusName == "" {
		o.EventBusName = "videojobs"
	}
	if o.StateMachineName == "" {
		o.StateMachineName = "videojobs-job"
	}
	if o.Definition == nil {
		o.Definition = workflow.JobASL
	}
	if o.Substitutions == nil {
		o.Substitutions = map[string]string{
			workflow.WatchFunctionArn: FunctionARN("watch"),
			workflow.StoreFunctionArn: FunctionARN("store"),
			workflow.EventBusName:     o.EventBusName,
		}
	}
}

// CreateResources creates, in moto, the table, bucket, secrets, event bus and
// state machine described in docs/internals.md.
func CreateResources(ctx context.Context, cfg aws.Config, opts ResourceOptions) (Resources, error) {
	opts.defaults()
	res := Resources{
		TableName:       opts.TableName,
		BucketName:      opts.BucketName,
		EventBusName:    opts.EventBusName,
		WorkflowRoleARN: "arn:aws:iam::" + AccountID + ":role/videojobs-workflow",
	}
	var err error
	if res.PointInTimeRecoveryOn, err = createTable(ctx, dynamodb.NewFromConfig(cfg), opts.TableName); err != nil {
		return res, err
	}
	if res.BucketEventBridgeOn, err = createBucket(ctx, s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }), opts.BucketName); err != nil {
		return res, err
	}
	sm := secretsmanager.NewFromConfig(cfg)
	if res.APIKeySecretARN, err = createSecret(ctx, sm, "videojobs/aistats-api-key", opts.APIKey, ""); err != nil {
		return res, err
	}
	if res.WebhookSecretARN, err = createSecret(ctx, sm, "videojobs/webhook-master-secret", opts.WebhookSecret, opts.PreviousWebhookSecret); err != nil {
		return res, err
	}
	if _, err := eventbridge.NewFromConfig(cfg).CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String(opts.EventBusName)}); err != nil {
		return res, fmt.Errorf("create event bus %s: %w", opts.EventBusName, err)
	}
	def, err := workflow.Substitute(opts.Definition, opts.Substitutions)
	if err != nil {
		return res, err
	}
	out, err := sfn.NewFromConfig(cfg).CreateStateMachine(ctx, &sfn.CreateStateMachineInput{
		Name:       aws.String(opts.StateMachineName),
		Definition: aws.String(string(def)),
		RoleArn:    aws.String(res.WorkflowRoleARN),
		Type:       sfntypes.StateMachineTypeStandard,
	})
	if err != nil {
		return res, fmt.Errorf("create state machine %s: %w", opts.StateMachineName, err)
	}
	res.StateMachineARN = aws.ToString(out.StateMachineArn)
	return res, nil
}

// createTable makes the single table: pk/sk, TTL on ttl, GSI byState, on
// demand; it reports whether point-in-time recovery could be turned on.
func createTable(ctx context.Context, db *dynamodb.Client, name string) (bool, error) {
	s := func(n string) ddbtypes.AttributeDefinition {
		return ddbtypes.AttributeDefinition{AttributeName: aws.String(n), AttributeType: ddbtypes.ScalarAttributeTypeS}
	}
	key := func(hash, rng string) []ddbtypes.KeySchemaElement {
		return []ddbtypes.KeySchemaElement{
			{AttributeName: aws.String(hash), KeyType: ddbtypes.KeyTypeHash},
			{AttributeName: aws.String(rng), KeyType: ddbtypes.KeyTypeRange},
		}
	}
	_, err := db.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String(name),
		BillingMode:          ddbtypes.BillingModePayPerRequest,
		AttributeDefinitions: []ddbtypes.AttributeDefinition{s("pk"), s("sk"), s("gsi1pk"), s("gsi1sk")},
		KeySchema:            key("pk", "sk"),
		GlobalSecondaryIndexes: []ddbtypes.GlobalSecondaryIndex{{
			IndexName:  aws.String("byState"),
			KeySchema:  key("gsi1pk", "gsi1sk"),
			Projection: &ddbtypes.Projection{ProjectionType: ddbtypes.ProjectionTypeAll},
		}},
	})
	if err != nil {
		return false, fmt.Errorf("create table %s: %w", name, err)
	}
	if _, err := db.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName:               aws.String(name),
		TimeToLiveSpecification: &ddbtypes.TimeToLiveSpecification{AttributeName: aws.String("ttl"), Enabled: aws.Bool(true)},
	}); err != nil {
		return false, fmt.Errorf("enable ttl on %s: %w", name, err)
	}
	_, err = db.UpdateContinuousBackups(ctx, &dynamodb.UpdateContinuousBackupsInput{
		TableName:                        aws.String(name),
		PointInTimeRecoverySpecification: &ddbtypes.PointInTimeRecoverySpecification{PointInTimeRecoveryEnabled: aws.Bool(true)},
	})
	// PITR changes nothing locally; it is set for parity and not required.
	return err == nil, nil
}

// createBucket makes the video bucket with the lifecycle rule that aborts
// incomplete multipart uploads, and EventBridge notifications when the
// emulator supports them (reported in the result).
func createBucket(ctx context.Context, c *s3.Client, name string) (bool, error) {
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		return false, fmt.Errorf("create bucket %s: %w", name, err)
	}
	if _, err := c.PutBucketLifecycleConfiguration(ctx, &s3.PutBucketLifecycleConfigurationInput{
		Bucket: aws.String(name),
		LifecycleConfiguration: &s3types.BucketLifecycleConfiguration{Rules: []s3types.LifecycleRule{{
			ID:                             aws.String("abort-incomplete-multipart"),
			Status:                         s3types.ExpirationStatusEnabled,
			Filter:                         &s3types.LifecycleRuleFilter{Prefix: aws.String("")},
			AbortIncompleteMultipartUpload: &s3types.AbortIncompleteMultipartUpload{DaysAfterInitiation: aws.Int32(1)},
		}}},
	}); err != nil {
		return false, fmt.Errorf("bucket %s lifecycle: %w", name, err)
	}
	_, err := c.PutBucketNotificationConfiguration(ctx, &s3.PutBucketNotificationConfigurationInput{
		Bucket:                    aws.String(name),
		NotificationConfiguration: &s3types.NotificationConfiguration{EventBridgeConfiguration: &s3types.EventBridgeConfiguration{}},
	})
	return err == nil, nil
}

// createSecret stores value as AWSCURRENT; with previous set, previous is
// written first so that it becomes AWSPREVIOUS, as after a rotation.
func createSecret(ctx context.Context, c *secretsmanager.Client, name, value, previous string) (string, error) {
	if value == "" {
		return "", fmt.Errorf("create secret %s: empty value", name)
	}
	first := value
	if previous != "" {
		first = previous
	}
	out, err := c.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String(first)})
	if err != nil {
		return "", fmt.Errorf("create secret %s: %w", name, err)
	}
	if previous != "" {
		if _, err := c.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: out.ARN, SecretString: aws.String(value)}); err != nil {
			return "", fmt.Errorf("rotate secret %s: %w", name, err)
		}
	}
	return aws.ToString(out.ARN), nil
}
