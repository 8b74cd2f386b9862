package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// StackProps configures NewStack.
type StackProps struct {
	awscdk.StackProps
	Config Config
}

// Stack is the whole videojobs deployment: storage, the five functions, the
// workflow, the HTTP API and observability, wired with least privilege.
type Stack struct {
	awscdk.Stack
	Storage       *Storage
	Functions     *Functions
	Workflow      *Workflow
	API           *API
	Observability *Observability
}

// NewStack composes the constructs. Order matters only for Go references;
// the CloudFormation graph has no cycle:
//
//   - WEBHOOK_BASE_URL on submit references only the AWS::ApiGatewayV2::Api
//     (its ApiEndpoint attribute), which depends on nothing; the routes,
//     integrations and invoke permissions depend on the functions. So the
//     function → API edge and the route → function edges never close a loop.
//   - The state machine references the watch and store ARNs. watch's
//     permission to complete task tokens references the state machine, so it
//     lives in a separate IAM policy rather than the role's default policy:
//     a Lambda function waits for its role's default policy, and watch →
//     default policy → state machine → watch would be a cycle.
func NewStack(scope constructs.Construct, id string, props *StackProps) *Stack {
	stack := awscdk.NewStack(scope, jsii.String(id), &props.StackProps)
	cfg := props.Config
	s := &Stack{Stack: stack}

	s.Storage = NewStorage(stack, "Storage", &StorageProps{APIKeySecretARN: cfg.APIKeySecretARN})
	s.Functions = NewFunctions(stack, "Functions", &FunctionsProps{Storage: s.Storage, Config: cfg})
	fns := s.Functions
	s.Workflow = NewWorkflow(stack, "Workflow", &WorkflowProps{
		DefinitionPath: cfg.WorkflowDefinition,
		Watch:          fns.Watch,
		Store:          fns.Store,
		EventBusName:   cfg.EventBusName,
		Retention:      cfg.Retention(),
	})
	s.API = NewAPI(stack, "Api", &APIProps{
		Submit:            fns.Submit,
		Jobs:              fns.Jobs,
		Webhook:           fns.Webhook,
		AllowedOrigins:    cfg.AllowedOrigins,
		JWTIssuer:         cfg.JWTIssuer,
		JWTAudience:       cfg.JWTAudience,
		RateLimit:         cfg.APIRateLimit,
		BurstLimit:        cfg.APIBurstLimit,
		WebhookRateLimit:  cfg.WebhookRateLimit,
		WebhookBurstLimit: cfg.WebhookBurstLimit,
		Retention:         cfg.Retention(),
	})
	fns.Submit.AddEnvironment(jsii.String("WEBHOOK_BASE_URL"), s.API.URL(), nil)
	fns.Submit.AddEnvironment(jsii.String("STATE_MACHINE_ARN"), s.Workflow.StateMachine.StateMachineArn(), nil)

	grantLeastPrivilege(stack, s.Storage, fns, s.Workflow)

	byName := map[string]awslambda.IFunction{}
	for _, n := range FunctionNames {
		byName[n] = fns.ByName(n)
	}
	s.Observability = NewObservability(stack, "Observability", &ObservabilityProps{
		Namespace:                   cfg.MetricsNamespace,
		Functions:                   byName,
		FunctionOrder:               FunctionNames,
		StateMachine:                s.Workflow.StateMachine,
		DeadLetters:                 fns.AsyncFailures,
		AlarmTopicARN:               cfg.AlarmTopicARN,
		AlarmEmail:                  cfg.AlarmEmail,
		FailureRateThresholdPercent: cfg.FailureRateThresholdPercent,
		SignatureRejectionThreshold: cfg.SignatureRejectionThreshold,
	})

	output := func(id, value, description string) {
		awscdk.NewCfnOutput(stack, jsii.String(id), &awscdk.CfnOutputProps{Value: jsii.String(value), Description: jsii.String(description)})
	}
	output("ApiUrl", *s.API.URL(), "Base URL of the HTTP API (job routes and the webhook route)")
	output("BucketName", *s.Storage.Bucket.BucketName(), "S3 bucket holding the videos (videos/<jobId>/<index>.<ext>)")
	output("TableName", *s.Storage.Table.TableName(), "DynamoDB job table")
	output("DashboardName", *s.Observability.Dashboard.DashboardName(), "CloudWatch dashboard")
	output("StateMachineArn", *s.Workflow.StateMachine.StateMachineArn(), "Job workflow")
	output("EventBusName", *s.Workflow.Bus.EventBusName(), "EventBridge bus for Job Succeeded / Job Failed")
	output("AlarmTopicArn", *s.Observability.Topic.TopicArn(), "SNS topic the alarms notify")
	output("ApiKeySecretArn", *s.Storage.APIKeySecret.SecretArn(), "Secret to put the AI Stats API key in")
	output("WebhookMasterSecretArn", *s.Storage.WebhookMasterKey.SecretArn(), "Webhook master secret (rotation: docs/operations.md)")

	suppressFindings(s)
	return s
}

// statement builds one Allow statement.
func statement(sid string, actions []string, resources ...*string) awsiam.PolicyStatement {
	return awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String(sid),
		Actions:   jsii.Strings(actions...),
		Resources: &resources,
	})
}

// Table actions: exactly the calls internal/jobstore makes. Jobs are
// written whole with a version-conditioned PutItem (UpdateJob), deliveries
// with a TransactWriteItems of conditional Puts (authorized as PutItem), and
// reads are GetItem; only ListJobs queries, and only the byState index. No
// UpdateItem, DeleteItem, Scan or batch calls.
var (
	tableReadWrite = []string{"dynamodb:GetItem", "dynamodb:PutItem"}
	indexQuery     = []string{"dynamodb:Query"}
)

// grantLeastPrivilege gives each function only the actions it calls, on the
// resources it touches (docs/internals.md: who reads which variable).
func grantLeastPrivilege(stack awscdk.Stack, st *Storage, fns *Functions, wf *Workflow) {
	table := st.Table.TableArn()
	apiKey := st.APIKeySecret.SecretArn()
	master := st.WebhookMasterKey.SecretArn()
	sm := wf.StateMachine.StateMachineArn()
	getSecret := []string{"secretsmanager:GetSecretValue"}

	submit := fns.Roles["submit"]
	submit.AddToPrincipalPolicy(statement("JobTable", tableReadWrite, table))
	submit.AddToPrincipalPolicy(statement("Secrets", getSecret, apiKey, master))
	submit.AddToPrincipalPolicy(statement("StartJobWorkflow", []string{"states:StartExecution"}, sm))

	webhook := fns.Roles["webhook"]
	webhook.AddToPrincipalPolicy(statement("JobTable", tableReadWrite, table))
	webhook.AddToPrincipalPolicy(statement("Secrets", getSecret, apiKey, master))
	webhook.AddToPrincipalPolicy(statement("WakeJobWorkflow", []string{"states:SendTaskSuccess", "states:SendTaskFailure"}, sm))

	watch := fns.Roles["watch"]
	watch.AddToPrincipalPolicy(statement("JobTable", tableReadWrite, table))
	watch.AddToPrincipalPolicy(statement("ApiKey", getSecret, apiKey))
	// Separate policy: see NewStack on the cycle this avoids.
	awsiam.NewPolicy(stack, jsii.String("WatchTaskTokenPolicy"), &awsiam.PolicyProps{
		Roles:      &[]awsiam.IRole{watch},
		Statements: &[]awsiam.PolicyStatement{statement("CompleteOwnTaskTokens", []string{"states:SendTaskSuccess", "states:SendTaskFailure"}, sm)},
	})

	store := fns.Roles["store"]
	store.AddToPrincipalPolicy(statement("JobTable", tableReadWrite, table))
	store.AddToPrincipalPolicy(statement("ApiKey", getSecret, apiKey))
	// internal/copier streams into staging/<key> (multipart: PutObject
	// covers Create/UploadPart/Complete), verifies size and sha256, then
	// copies to the final key (CopyObject/UploadPartCopy: GetObject on the
	// source, PutObject on the target) and deletes the staging object.
	// GetObject on the final key is HeadObject (skip a verified copy).
	store.AddToPrincipalPolicy(statement("StageVideoObjects",
		[]string{"s3:PutObject", "s3:GetObject", "s3:DeleteObject", "s3:AbortMultipartUpload"},
		st.StagingObjectsArn()))
	store.AddToPrincipalPolicy(statement("VideoObjects",
		[]string{"s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload"},
		st.VideoObjectsArn()))
	// Without ListBucket, HeadObject on a missing key answers 403 instead of
	// 404, and a first copy could not tell "absent" from "forbidden".
	store.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("VideoPrefixListing"),
		Actions:    jsii.Strings("s3:ListBucket"),
		Resources:  &[]*string{st.Bucket.BucketArn()},
		Conditions: &map[string]any{"StringLike": map[string]any{"s3:prefix": []string{VideoPrefix + "*"}}},
	}))

	jobs := fns.Roles["jobs"]
	// Cancel writes the job through UpdateJob (conditional PutItem).
	jobs.AddToPrincipalPolicy(statement("JobTable", tableReadWrite, table))
	jobs.AddToPrincipalPolicy(statement("JobsByState", indexQuery, st.StateIndexArn()))
	jobs.AddToPrincipalPolicy(statement("ApiKey", getSecret, apiKey))
	// A presigned GET is authorized as the signer: jobs needs GetObject.
	jobs.AddToPrincipalPolicy(statement("PresignVideoObjects", []string{"s3:GetObject"}, st.VideoObjectsArn()))
}
