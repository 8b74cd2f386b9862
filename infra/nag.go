package main

import (
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// suppress records one justified exception to the AwsSolutions checks on a
// construct (and its children). appliesTo narrows IAM5 to the exact
// wildcard findings; anything else in the same policy still fails synth.
func suppress(c constructs.IConstruct, rule, reason string, appliesTo ...string) {
	s := &cdknag.NagPackSuppression{Id: jsii.String(rule), Reason: jsii.String(reason)}
	if len(appliesTo) > 0 {
		a := make([]any, len(appliesTo))
		for i, v := range appliesTo {
			a[i] = v
		}
		s.AppliesTo = &a
	}
	cdknag.NagSuppressions_AddResourceSuppressions(c, &[]*cdknag.NagPackSuppression{s}, jsii.Bool(true))
}

// suppressFindings is the complete list of accepted cdk-nag findings. Each
// carries the reason it is safe here; a new finding fails `cdk synth`.
func suppressFindings(s *Stack) {
	const xrayReason = "X-Ray's PutTraceSegments and PutTelemetryRecords do not support resource-level permissions " +
		"(Service Authorization Reference: AWS X-Ray), so active tracing needs Resource '*'; the actions are the two trace-write calls only."
	for _, name := range FunctionNames {
		suppress(s.Functions.Roles[name], "AwsSolutions-IAM5", xrayReason, "Resource::*")
	}
	suppress(s.Workflow.StateMachine.Role(), "AwsSolutions-IAM5",
		"Step Functions log delivery (logs:CreateLogDelivery and friends, required for logging level ALL) and X-Ray tracing "+
			"do not support resource-level permissions; AWS documents Resource '*' for both. Lambda invoke and PutEvents are scoped to exact ARNs.",
		"Resource::*")

	objects := "Resource::<" + VideoBucketLogicalID + ".Arn>/" + VideoPrefix + "*"
	staging := "Resource::<" + VideoBucketLogicalID + ".Arn>/" + StagingPrefix + VideoPrefix + "*"
	suppress(s.Functions.Roles["store"], "AwsSolutions-IAM5",
		"store writes one object per job output under videos/<jobId>/ (staged first under staging/videos/<jobId>/); "+
			"the keys are only known at run time, so the grants cover those two prefixes of this one bucket and nothing else.",
		objects, staging)
	suppress(s.Functions.Roles["jobs"], "AwsSolutions-IAM5",
		"jobs presigns GETs for videos/<jobId>/<index>.<ext>; keys are only known at run time, so GetObject covers the "+
			"videos/ prefix of this one bucket (read only).", objects)

	suppress(s.API.WebhookRoute, "AwsSolutions-APIG4",
		"The AI Stats gateway cannot sign with SigV4 or present a JWT. The webhook λ authenticates every request by HMAC "+
			"over the raw body with a per-job secret, ±300 s freshness (design.md guarantee 3), and this route has its own stage throttle.")

	suppress(s.Functions.AsyncFailures, "AwsSolutions-SQS3",
		"This queue is itself the dead-letter destination (Lambda on-failure destination) for every function's asynchronous invocations; "+
			"a DLQ of a DLQ would only move the messages, and the DeadLetterQueueNotEmpty alarm watches its depth.")

	const rotationReason = "Rotation is a documented manual procedure (docs/operations.md and storage.go): "
	if s.Storage.createdAPIKey != nil {
		suppress(s.Storage.createdAPIKey, "AwsSolutions-SMG4", rotationReason+
			"the AI Stats API key is issued by the gateway, which has no API Secrets Manager could call to mint a new key.")
	}
	suppress(s.Storage.WebhookMasterKey, "AwsSolutions-SMG4", rotationReason+
		"the webhook master secret must stay verifiable as AWSPREVIOUS for every job still in flight, so it is rotated "+
		"deliberately with put-secret-value (the old value becomes AWSPREVIOUS; both verify) rather than on a timer.")
}
