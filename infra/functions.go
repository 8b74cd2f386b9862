package main

import (
	"path/filepath"
	"strconv"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdadestinations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// FunctionNames are the five Lambdas, each split out by privilege
// (design.md §1); the order is the order of dashboard series.
var FunctionNames = []string{"submit", "webhook", "watch", "store", "jobs"}

// FunctionsProps configures NewFunctions.
type FunctionsProps struct {
	Storage *Storage
	Config  Config
}

// Functions holds the five Lambdas, their roles, and the queue that receives
// failed asynchronous invocations of any of them.
type Functions struct {
	constructs.Construct
	Submit, Webhook, Watch, Store, Jobs awslambda.Function
	// Roles by function name; statements are added by the composing stack
	// once the resources they name exist.
	Roles map[string]awsiam.Role
	// AsyncFailures is the on-failure destination of every function's
	// asynchronous invocations (retries exhausted or event too old).
	AsyncFailures awssqs.Queue
}

// ByName returns the function with the given short name.
func (f *Functions) ByName(name string) awslambda.Function {
	switch name {
	case "submit":
		return f.Submit
	case "webhook":
		return f.Webhook
	case "watch":
		return f.Watch
	case "store":
		return f.Store
	case "jobs":
		return f.Jobs
	}
	return nil
}

// functionSpec sizes one function. Timeouts follow what each one waits on:
// the HTTP API gives up after 30 s, so the API-facing functions stay well
// under it; store streams a whole video and gets the Lambda maximum.
type functionSpec struct {
	name        string
	description string
	memoryMB    float64
	timeout     awscdk.Duration
	// reserved caps concurrency to protect a downstream (0 = none).
	reserved float64
}

func functionSpecs() []functionSpec {
	return []functionSpec{
		{"submit", "videojobs: POST /jobs - idempotent submit, provider create, workflow start", 256, awscdk.Duration_Seconds(jsii.Number(25)), 0},
		{"webhook", "videojobs: POST /webhooks/ai-stats - verify, dedupe, record, reconcile, wake the workflow", 256, awscdk.Duration_Seconds(jsii.Number(10)), 0},
		{"watch", "videojobs: workflow arm/poll/fail - task tokens, provider polls, back-off, deadline", 256, awscdk.Duration_Seconds(jsii.Number(60)), 20},
		{"store", "videojobs: workflow store - stream the finished video into S3 multipart with sha256", 1769, awscdk.Duration_Minutes(jsii.Number(15)), 10},
		{"jobs", "videojobs: GET /jobs, GET /jobs/{id}, download URL, cancel", 256, awscdk.Duration_Seconds(jsii.Number(10)), 0},
	}
}

// NewFunctions creates the five functions with their log groups, roles
// (logs only; data access is added by the stack, see grantLeastPrivilege)
// and environment variables from docs/internals.md, except WEBHOOK_BASE_URL
// and STATE_MACHINE_ARN, which the stack adds once the API and the state
// machine exist.
func NewFunctions(scope constructs.Construct, id string, props *FunctionsProps) *Functions {
	f := &Functions{Construct: constructs.NewConstruct(scope, jsii.String(id)), Roles: map[string]awsiam.Role{}}
	// Children hang off the embedded construct: jsii cannot use the Go
	// wrapper struct itself as a scope.
	c := f.Construct
	cfg := props.Config
	st := props.Storage

	f.AsyncFailures = awssqs.NewQueue(c, jsii.String("AsyncFailures"), &awssqs.QueueProps{
		Encryption:      awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:      jsii.Bool(true),
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(14)),
	})

	common := map[string]*string{
		"TABLE_NAME":                 st.Table.TableName(),
		"AISTATS_BASE_URL":           jsii.String(cfg.AIStatsBaseURL),
		"AISTATS_API_KEY_SECRET_ARN": st.APIKeySecret.SecretArn(),
		"METRICS_NAMESPACE":          jsii.String(cfg.MetricsNamespace),
	}
	extra := map[string]map[string]*string{
		"submit": {
			"WEBHOOK_MASTER_SECRET_ARN": st.WebhookMasterKey.SecretArn(),
			"DEFAULT_MODEL":             jsii.String(cfg.DefaultModel),
		},
		"webhook": {
			"WEBHOOK_MASTER_SECRET_ARN": st.WebhookMasterKey.SecretArn(),
		},
		"watch": {
			"POLL_INTERVAL_CAP_SECONDS": jsii.String(strconv.Itoa(cfg.PollIntervalCapSeconds)),
			"JOB_DEADLINE_SECONDS":      jsii.String(strconv.Itoa(cfg.JobDeadlineSeconds)),
		},
		"store": {
			"BUCKET_NAME": st.Bucket.BucketName(),
		},
		"jobs": {
			"BUCKET_NAME":              st.Bucket.BucketName(),
			"DOWNLOAD_URL_TTL_SECONDS": jsii.String(strconv.Itoa(cfg.DownloadURLTTLSeconds)),
		},
	}

	for _, spec := range functionSpecs() {
		cid := exportName(spec.name)
		logGroup := awslogs.NewLogGroup(c, jsii.String(cid+"Logs"), &awslogs.LogGroupProps{
			Retention:     cfg.Retention(),
			RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
		})
		// A role of our own instead of the default one: the default attaches
		// the AWSLambdaBasicExecutionRole managed policy, which may write to
		// any log group in the account.
		role := awsiam.NewRole(c, jsii.String(cid+"Role"), &awsiam.RoleProps{
			AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
			Description: jsii.String("videojobs " + spec.name + " function"),
		})
		role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:       jsii.String("WriteOwnLogs"),
			Actions:   jsii.Strings("logs:CreateLogStream", "logs:PutLogEvents"),
			Resources: jsii.Strings(*logGroup.LogGroupArn()),
		}))
		f.Roles[spec.name] = role

		env := map[string]*string{}
		for k, v := range common {
			env[k] = v
		}
		for k, v := range extra[spec.name] {
			env[k] = v
		}
		fnProps := &awslambda.FunctionProps{
			Description:           jsii.String(spec.description),
			Runtime:               awslambda.Runtime_PROVIDED_AL2023(),
			Architecture:          awslambda.Architecture_ARM_64(),
			Handler:               jsii.String("bootstrap"),
			Code:                  awslambda.Code_FromAsset(jsii.String(filepath.Join(cfg.AssetRoot, spec.name)), nil),
			MemorySize:            jsii.Number(spec.memoryMB),
			Timeout:               spec.timeout,
			Role:                  role,
			LogGroup:              logGroup,
			LoggingFormat:         awslambda.LoggingFormat_JSON,
			ApplicationLogLevelV2: awslambda.ApplicationLogLevel_INFO,
			SystemLogLevelV2:      awslambda.SystemLogLevel_WARN,
			Tracing:               awslambda.Tracing_ACTIVE,
			Environment:           &env,
			// No function is invoked asynchronously by this stack (API
			// Gateway and Step Functions invoke synchronously), but any
			// asynchronous invoke (a rule added later, an operator's
			// --invocation-type Event) must not lose its event silently.
			OnFailure:     awslambdadestinations.NewSqsDestination(f.AsyncFailures),
			RetryAttempts: jsii.Number(2),
			MaxEventAge:   awscdk.Duration_Hours(jsii.Number(6)),
		}
		if cfg.ReservedConcurrency && spec.reserved > 0 {
			// store: each copy holds a gateway download open for minutes and
			// ~1.7 GB of memory; watch: each poll is a gateway GET. Capping
			// them keeps a backlog from hammering the gateway (the workflow
			// retries Lambda.TooManyRequestsException with back-off).
			fnProps.ReservedConcurrentExecutions = jsii.Number(spec.reserved)
		}
		fn := awslambda.NewFunction(c, jsii.String(cid), fnProps)
		switch spec.name {
		case "submit":
			f.Submit = fn
		case "webhook":
			f.Webhook = fn
		case "watch":
			f.Watch = fn
		case "store":
			f.Store = fn
		case "jobs":
			f.Jobs = fn
		}
	}
	return f
}

// exportName turns a short function name into a construct id ("submit" →
// "Submit").
func exportName(name string) string {
	if name == "" {
		return name
	}
	return string(name[0]-'a'+'A') + name[1:]
}
