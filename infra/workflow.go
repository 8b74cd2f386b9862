package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// workflowSubstitutions are the placeholders the ASL file uses
// (docs/internals.md); CheckDefinition insists on each.
var workflowSubstitutions = []string{"WatchFunctionArn", "StoreFunctionArn", "EventBusName"}

// WorkflowProps configures NewWorkflow.
type WorkflowProps struct {
	// DefinitionPath is the ASL file, workflow/job.asl.json in the repo.
	DefinitionPath string
	Watch, Store   awslambda.IFunction
	// EventBusName names the custom bus the workflow publishes to.
	EventBusName string
	Retention    awslogs.RetentionDays
}

// Workflow is the job state machine and the bus for videojobs domain events.
type Workflow struct {
	constructs.Construct
	StateMachine awsstepfunctions.StateMachine
	// Bus receives "Job Succeeded" / "Job Failed" (source "videojobs").
	// A custom bus keeps domain events apart from the account's default
	// bus, where S3 publishes the bucket's object events.
	Bus      awsevents.EventBus
	LogGroup awslogs.LogGroup
}

// CheckDefinition reads an ASL file and reports whether it is JSON with a
// StartAt and States and uses every substitution the stack provides, so a
// broken definition fails synth instead of the deployment.
func CheckDefinition(path string) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read workflow definition: %w", err)
	}
	var asl struct {
		StartAt string                     `json:"StartAt"`
		States  map[string]json.RawMessage `json:"States"`
	}
	if err := json.Unmarshal(raw, &asl); err != nil {
		return fmt.Errorf("parse workflow definition %s: %w", path, err)
	}
	if asl.StartAt == "" || len(asl.States) == 0 {
		return fmt.Errorf("workflow definition %s: needs StartAt and States", path)
	}
	if _, ok := asl.States[asl.StartAt]; !ok {
		return fmt.Errorf("workflow definition %s: StartAt %q is not a state", path, asl.StartAt)
	}
	for _, s := range workflowSubstitutions {
		if !strings.Contains(string(raw), "${"+s+"}") {
			return fmt.Errorf("workflow definition %s: placeholder ${%s} is not used", path, s)
		}
	}
	return nil
}

// NewWorkflow creates the Standard state machine from the ASL file, its log
// group and the event bus, and grants the state machine exactly what the
// definition does: invoke watch and store, put events on the bus.
func NewWorkflow(scope constructs.Construct, id string, props *WorkflowProps) *Workflow {
	w := &Workflow{Construct: constructs.NewConstruct(scope, jsii.String(id))}
	// Children hang off the embedded construct: jsii cannot use the Go
	// wrapper struct itself as a scope.
	c := w.Construct

	w.Bus = awsevents.NewEventBus(c, jsii.String("Bus"), &awsevents.EventBusProps{
		EventBusName: jsii.String(props.EventBusName),
		Description:  jsii.String("videojobs domain events: Job Succeeded / Job Failed"),
	})

	// The /aws/vendedlogs/ prefix keeps Step Functions' log delivery from
	// growing the account's CloudWatch Logs resource policy, which is
	// capped at 5120 characters.
	w.LogGroup = awslogs.NewLogGroup(c, jsii.String("Logs"), &awslogs.LogGroupProps{
		LogGroupName: awscdk.Fn_Join(jsii.String(""), &[]*string{
			jsii.String("/aws/vendedlogs/states/"), awscdk.Aws_STACK_NAME(), jsii.String("-job"),
		}),
		Retention:     props.Retention,
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})

	w.StateMachine = awsstepfunctions.NewStateMachine(c, jsii.String("StateMachine"), &awsstepfunctions.StateMachineProps{
		Comment:          jsii.String("videojobs job workflow (workflow/job.asl.json)"),
		StateMachineType: awsstepfunctions.StateMachineType_STANDARD,
		DefinitionBody:   awsstepfunctions.DefinitionBody_FromFile(jsii.String(props.DefinitionPath), nil),
		DefinitionSubstitutions: &map[string]*string{
			"WatchFunctionArn": props.Watch.FunctionArn(),
			"StoreFunctionArn": props.Store.FunctionArn(),
			"EventBusName":     w.Bus.EventBusName(),
		},
		Logs: &awsstepfunctions.LogOptions{
			Destination:          w.LogGroup,
			Level:                awsstepfunctions.LogLevel_ALL,
			IncludeExecutionData: jsii.Bool(true),
		},
		TracingEnabled: jsii.Bool(true),
	})
	// The definition invokes the unqualified function ARNs, so no ":*"
	// (version/alias) resource is needed.
	w.StateMachine.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("InvokeWorkflowFunctions"),
		Actions:   jsii.Strings("lambda:InvokeFunction"),
		Resources: &[]*string{props.Watch.FunctionArn(), props.Store.FunctionArn()},
	}))
	w.StateMachine.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("PublishJobEvents"),
		Actions:   jsii.Strings("events:PutEvents"),
		Resources: &[]*string{w.Bus.EventBusArn()},
	}))
	return w
}
