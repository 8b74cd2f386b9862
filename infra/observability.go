package main

import (
	"fmt"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// Dashboard row titles, in order. Generation failures and webhook-delivery
// failures sit in separate rows (guarantee 8).
const (
	RowGeneration      = "Generation"
	RowWebhookDelivery = "Webhook delivery"
	RowStorage         = "Storage"
	RowPlatform        = "Platform"
)

// ObservabilityProps configures NewObservability.
type ObservabilityProps struct {
	// Namespace is the EMF namespace the functions write (docs/internals.md).
	Namespace string
	// Functions by short name, in dashboard order.
	Functions     map[string]awslambda.IFunction
	FunctionOrder []string
	StateMachine  awsstepfunctions.IStateMachine
	DeadLetters   awssqs.IQueue
	// AlarmTopicARN sends alarms to an existing topic; empty creates one.
	AlarmTopicARN string
	// AlarmEmail, when set, subscribes an address to the alarm topic.
	AlarmEmail                  string
	FailureRateThresholdPercent float64
	SignatureRejectionThreshold float64
}

// Observability is the dashboard, the alarms and the topic they notify.
type Observability struct {
	constructs.Construct
	Dashboard awscloudwatch.Dashboard
	Topic     awssns.ITopic
	// Alarms by construct id.
	Alarms map[string]awscloudwatch.Alarm
}

var period = awscdk.Duration_Minutes(jsii.Number(5))

// search graphs every series of one EMF metric whatever its dimension
// values, so the dashboard does not depend on which function emits it.
func search(ns, metric, dims, stat, label string) awscloudwatch.IMetric {
	return awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
		Expression: jsii.String(fmt.Sprintf(`SEARCH('{%s,%s} MetricName="%s"', '%s', 300)`, ns, dims, metric, stat)),
		Label:      jsii.String(label),
		Period:     period,
	})
}

// insights sums one EMF metric across every dimension value with a Metrics
// Insights query; unlike SEARCH, a query can drive an alarm.
func insights(ns, metric, dims, label string) awscloudwatch.MathExpression {
	return awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
		Expression: jsii.String(fmt.Sprintf(`SELECT SUM(%s) FROM SCHEMA("%s", %s)`, metric, ns, dims)),
		Label:      jsii.String(label),
		Period:     period,
	})
}

func graph(title string, width float64, left, right []awscloudwatch.IMetric) awscloudwatch.GraphWidget {
	p := &awscloudwatch.GraphWidgetProps{
		Title:  jsii.String(title),
		Width:  jsii.Number(width),
		Height: jsii.Number(6),
		Left:   &left,
		Period: period,
	}
	if len(right) > 0 {
		p.Right = &right
	}
	return awscloudwatch.NewGraphWidget(p)
}

func header(title, text string) awscloudwatch.TextWidget {
	return awscloudwatch.NewTextWidget(&awscloudwatch.TextWidgetProps{
		Markdown: jsii.String("## " + title + "\n" + text),
		Width:    jsii.Number(24),
		Height:   jsii.Number(2),
	})
}

// NewObservability creates the dashboard (four rows: generation, webhook
// delivery, storage, platform), the alarms and the alarm topic.
func NewObservability(scope constructs.Construct, id string, props *ObservabilityProps) *Observability {
	o := &Observability{Construct: constructs.NewConstruct(scope, jsii.String(id)), Alarms: map[string]awscloudwatch.Alarm{}}
	// Children hang off the embedded construct: jsii cannot use the Go
	// wrapper struct itself as a scope.
	c := o.Construct
	ns := props.Namespace
	fd := "Function"

	o.Dashboard = awscloudwatch.NewDashboard(c, jsii.String("Dashboard"), &awscloudwatch.DashboardProps{
		DefaultInterval: awscdk.Duration_Hours(jsii.Number(3)),
	})

	o.Dashboard.AddWidgets(header(RowGeneration, "Jobs against the AI Stats gateway: what users asked for and how it ended."))
	o.Dashboard.AddWidgets(
		graph("Jobs submitted / completed", 6, []awscloudwatch.IMetric{
			search(ns, "JobsSubmitted", fd, "Sum", "submitted"),
			search(ns, "JobsCompleted", fd, "Sum", "completed"),
		}, nil),
		graph("Jobs failed by reason", 6, []awscloudwatch.IMetric{
			search(ns, "JobsFailed", fd+",Reason", "Sum", "failed"),
		}, nil),
		graph("Time to terminal (ms) p50 / p90", 6, []awscloudwatch.IMetric{
			search(ns, "TimeToTerminal", fd, "p50", "p50"),
			search(ns, "TimeToTerminal", fd, "p90", "p90"),
		}, nil),
		graph("Polls / provider errors by status", 6, []awscloudwatch.IMetric{
			search(ns, "Polls", fd, "Sum", "polls"),
		}, []awscloudwatch.IMetric{
			search(ns, "ProviderErrors", fd+",Status", "Sum", "provider errors"),
		}),
	)

	o.Dashboard.AddWidgets(header(RowWebhookDelivery, "Signed callbacks from the gateway: what arrived, what was refused, and the gateway's own delivery report."))
	o.Dashboard.AddWidgets(
		graph("Webhooks received / duplicates / late", 6, []awscloudwatch.IMetric{
			search(ns, "WebhooksReceived", fd, "Sum", "received"),
			search(ns, "WebhookDuplicates", fd, "Sum", "duplicates"),
			search(ns, "WebhookLate", fd, "Sum", "late"),
		}, nil),
		graph("Webhook retries by attempt", 6, []awscloudwatch.IMetric{
			search(ns, "WebhookRetries", fd+",Attempt", "Sum", "retries"),
		}, nil),
		graph("Webhooks rejected (signature) by reason", 6, []awscloudwatch.IMetric{
			search(ns, "WebhookRejected", fd+",Reason", "Sum", "rejected"),
		}, nil),
		graph("Gateway-reported delivery failures / last response status", 6, []awscloudwatch.IMetric{
			search(ns, "GatewayDeliveryFailures", fd, "Sum", "delivery failures"),
		}, []awscloudwatch.IMetric{
			search(ns, "GatewayLastResponseStatus", fd, "Maximum", "last response status"),
		}),
	)

	o.Dashboard.AddWidgets(header(RowStorage, "Copies of finished videos into S3."))
	o.Dashboard.AddWidgets(
		graph("Bytes copied", 8, []awscloudwatch.IMetric{
			search(ns, "BytesCopied", fd, "Sum", "bytes"),
		}, nil),
		graph("Copy duration (ms) p50 / p90 / max", 8, []awscloudwatch.IMetric{
			search(ns, "CopyDuration", fd, "p50", "p50"),
			search(ns, "CopyDuration", fd, "p90", "p90"),
			search(ns, "CopyDuration", fd, "Maximum", "max"),
		}, nil),
		graph("Copy failures", 8, []awscloudwatch.IMetric{
			search(ns, "CopyFailures", fd, "Sum", "failures"),
		}, nil),
	)

	var errs, throttles, durations []awscloudwatch.IMetric
	for _, name := range props.FunctionOrder {
		fn := props.Functions[name]
		errs = append(errs, fn.MetricErrors(&awscloudwatch.MetricOptions{Label: jsii.String(name), Period: period, Statistic: jsii.String("Sum")}))
		throttles = append(throttles, fn.MetricThrottles(&awscloudwatch.MetricOptions{Label: jsii.String(name), Period: period, Statistic: jsii.String("Sum")}))
		durations = append(durations, fn.MetricDuration(&awscloudwatch.MetricOptions{Label: jsii.String(name), Period: period, Statistic: jsii.String("p99")}))
	}
	sm := props.StateMachine
	smFailed := sm.MetricFailed(&awscloudwatch.MetricOptions{Label: jsii.String("failed"), Period: period, Statistic: jsii.String("Sum")})
	smTimedOut := sm.MetricTimedOut(&awscloudwatch.MetricOptions{Label: jsii.String("timed out"), Period: period, Statistic: jsii.String("Sum")})
	smAborted := sm.MetricAborted(&awscloudwatch.MetricOptions{Label: jsii.String("aborted"), Period: period, Statistic: jsii.String("Sum")})
	dlqDepth := props.DeadLetters.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{
		Label: jsii.String("messages"), Period: period, Statistic: jsii.String("Maximum"),
	})

	o.Dashboard.AddWidgets(header(RowPlatform, "AWS-side health: Lambda, Step Functions, dead letters."))
	o.Dashboard.AddWidgets(
		graph("Lambda errors", 8, errs, nil),
		graph("Lambda throttles", 8, throttles, nil),
		graph("Lambda duration p99 (ms)", 8, durations, nil),
	)
	o.Dashboard.AddWidgets(
		graph("Workflow executions failed / timed out / aborted", 12, []awscloudwatch.IMetric{smFailed, smTimedOut, smAborted}, nil),
		graph("Async-failure DLQ depth", 12, []awscloudwatch.IMetric{dlqDepth}, nil),
	)

	if props.AlarmTopicARN != "" {
		o.Topic = awssns.Topic_FromTopicArn(c, jsii.String("AlarmTopic"), jsii.String(props.AlarmTopicARN))
	} else {
		o.Topic = awssns.NewTopic(c, jsii.String("AlarmTopic"), &awssns.TopicProps{
			DisplayName: jsii.String("videojobs alarms"),
			EnforceSSL:  jsii.Bool(true),
		})
	}
	if props.AlarmEmail != "" {
		o.Topic.AddSubscription(awssnssubscriptions.NewEmailSubscription(jsii.String(props.AlarmEmail), nil))
	}
	action := awscloudwatchactions.NewSnsAction(o.Topic)
	alarm := func(id, description string, metric awscloudwatch.IMetric, threshold float64) {
		a := awscloudwatch.NewAlarm(c, jsii.String(id), &awscloudwatch.AlarmProps{
			AlarmDescription:   jsii.String(description),
			Metric:             metric,
			Threshold:          jsii.Number(threshold),
			EvaluationPeriods:  jsii.Number(1),
			ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
			TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
		})
		a.AddAlarmAction(action)
		a.AddOkAction(action)
		o.Alarms[id] = a
	}

	// Generation failure rate: failed / (failed + completed) over 5 minutes,
	// summed over the functions. Every metric with an extra dimension is
	// also published under Function alone, and Function is the short
	// function name (docs/internals.md, internal/metrics), so plain metrics
	// give the totals: 5 + 5 = 10, the most one alarm may read.
	rateMetrics := map[string]awscloudwatch.IMetric{}
	var failed, completed []string
	for i, name := range props.FunctionOrder {
		for _, m := range []struct {
			metric string
			into   *[]string
		}{{"JobsFailed", &failed}, {"JobsCompleted", &completed}} {
			key := fmt.Sprintf("%s%d", strings.ToLower(m.metric[4:5]), i)
			rateMetrics[key] = awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
				Namespace:     jsii.String(ns),
				MetricName:    jsii.String(m.metric),
				DimensionsMap: &map[string]*string{fd: jsii.String(name)},
				Statistic:     jsii.String("Sum"),
				Period:        period,
			})
			*m.into = append(*m.into, "FILL("+key+", 0)")
		}
	}
	failedSum, completedSum := "("+strings.Join(failed, " + ")+")", "("+strings.Join(completed, " + ")+")"
	alarm("GenerationFailureRate",
		fmt.Sprintf("videojobs: %.0f%% or more of the jobs that ended in 5 minutes failed (provider failures, rejections, deadlines). See the Generation row.", props.FailureRateThresholdPercent),
		awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
			Expression:   jsii.String(fmt.Sprintf("IF(%[1]s + %[2]s > 0, 100 * %[1]s / (%[1]s + %[2]s), 0)", failedSum, completedSum)),
			UsingMetrics: &rateMetrics,
			Label:        jsii.String("generation failure rate (%)"),
			Period:       period,
		}),
		props.FailureRateThresholdPercent)

	alarm("WebhookSignatureRejections",
		fmt.Sprintf("videojobs: %.0f or more webhook callbacks rejected in 5 minutes (bad signature, stale timestamp, unknown job): a misconfigured secret after rotation, or forged traffic.", props.SignatureRejectionThreshold),
		insights(ns, "WebhookRejected", "Function, Reason", "webhooks rejected"),
		props.SignatureRejectionThreshold)

	alarm("WebhookDeliveryFailures",
		"videojobs: the gateway reports failed webhook deliveries to this API (its own delivery summary). Jobs still finish by polling; check the webhook route and the Webhook delivery row.",
		insights(ns, "GatewayDeliveryFailures", "Function", "gateway delivery failures"),
		1)

	alarm("DeadLetterQueueNotEmpty",
		"videojobs: an asynchronous Lambda invocation failed after its retries and is parked in the async-failure queue.",
		dlqDepth, 1)

	workflowUsing := map[string]awscloudwatch.IMetric{"f": smFailed, "t": smTimedOut, "a": smAborted}
	alarm("WorkflowFailures",
		"videojobs: a job workflow execution failed, timed out or was aborted, so its job may not have reached a terminal state.",
		awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
			Expression:   jsii.String("FILL(f, 0) + FILL(t, 0) + FILL(a, 0)"),
			UsingMetrics: &workflowUsing,
			Label:        jsii.String("executions failed + timed out + aborted"),
			Period:       period,
		}), 1)

	errUsing := map[string]awscloudwatch.IMetric{}
	errExpr := ""
	for i, m := range errs {
		key := fmt.Sprintf("e%d", i)
		errUsing[key] = m
		if i > 0 {
			errExpr += " + "
		}
		errExpr += "FILL(" + key + ", 0)"
	}
	alarm("FunctionErrors",
		"videojobs: Lambda invocations are failing (unhandled errors or timeouts) across the functions.",
		awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
			Expression: jsii.String(errExpr), UsingMetrics: &errUsing, Label: jsii.String("function errors"), Period: period,
		}), 5)
	return o
}
