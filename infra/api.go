package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2authorizers"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2integrations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// WebhookPath is the gateway's callback route (docs/internals.md); the job
// id travels in the `job` query parameter.
const WebhookPath = "/webhooks/ai-stats"

// APIProps configures NewAPI.
type APIProps struct {
	Submit, Jobs, Webhook awslambda.IFunction
	// AllowedOrigins enables CORS for browser clients; empty disables it.
	AllowedOrigins []string
	// JWTIssuer and JWTAudience switch the job routes from IAM to a JWT
	// authorizer when both are set.
	JWTIssuer   string
	JWTAudience []string
	// RateLimit/BurstLimit throttle the whole stage;
	// WebhookRateLimit/WebhookBurstLimit the open webhook route.
	RateLimit, WebhookRateLimit   float64
	BurstLimit, WebhookBurstLimit int
	Retention                     awslogs.RetentionDays
}

// API is the HTTP API (payload 2.0) in front of submit, jobs and webhook.
type API struct {
	constructs.Construct
	HttpApi    awsapigatewayv2.HttpApi
	Stage      awsapigatewayv2.HttpStage
	AccessLogs awslogs.LogGroup
	// WebhookRoute is the one route without an authorizer.
	WebhookRoute awsapigatewayv2.HttpRoute
}

// jobRoute is one authorized route of the job API.
type jobRoute struct {
	method awsapigatewayv2.HttpMethod
	path   string
	submit bool // handled by submit; every other job route by jobs
}

// JobRoutes are the routes that require authorization (design.md §4).
var jobRoutes = []jobRoute{
	{awsapigatewayv2.HttpMethod_POST, "/jobs", true},
	{awsapigatewayv2.HttpMethod_GET, "/jobs", false},
	{awsapigatewayv2.HttpMethod_GET, "/jobs/{id}", false},
	{awsapigatewayv2.HttpMethod_GET, "/jobs/{id}/download-url", false},
	{awsapigatewayv2.HttpMethod_POST, "/jobs/{id}/cancel", false},
}

// accessLogFormat records one JSON line per request. It leaves out every
// header (signatures, SigV4 credentials) and the body (guarantee 9); the
// path's `job` query parameter is a job id, not a secret.
const accessLogFormat = `{"requestId":"$context.requestId","ip":"$context.identity.sourceIp",` +
	`"requestTime":"$context.requestTime","httpMethod":"$context.httpMethod","routeKey":"$context.routeKey",` +
	`"path":"$context.path","status":"$context.status","protocol":"$context.protocol",` +
	`"responseLength":"$context.responseLength","responseLatency":"$context.responseLatency",` +
	`"integrationStatus":"$context.integrationStatus","integrationLatency":"$context.integrationLatency",` +
	`"integrationError":"$context.integrationErrorMessage","authorizerError":"$context.authorizer.error",` +
	`"userArn":"$context.identity.userArn"}`

// NewAPI creates the HTTP API, its $default stage with access logging and
// throttling, and the routes.
func NewAPI(scope constructs.Construct, id string, props *APIProps) *API {
	a := &API{Construct: constructs.NewConstruct(scope, jsii.String(id))}
	// Children hang off the embedded construct: jsii cannot use the Go
	// wrapper struct itself as a scope.
	c := a.Construct

	apiProps := &awsapigatewayv2.HttpApiProps{
		Description:        jsii.String("videojobs: job API (authorized) and AI Stats webhook (HMAC-verified in the function)"),
		CreateDefaultStage: jsii.Bool(false),
	}
	if len(props.AllowedOrigins) > 0 {
		apiProps.CorsPreflight = &awsapigatewayv2.CorsPreflightOptions{
			AllowOrigins: jsii.Strings(props.AllowedOrigins...),
			AllowMethods: &[]awsapigatewayv2.CorsHttpMethod{
				awsapigatewayv2.CorsHttpMethod_GET, awsapigatewayv2.CorsHttpMethod_POST, awsapigatewayv2.CorsHttpMethod_OPTIONS,
			},
			// SigV4 (IAM) and bearer (JWT) clients, plus the idempotency key.
			AllowHeaders: jsii.Strings("authorization", "content-type", "idempotency-key",
				"x-amz-date", "x-amz-security-token", "x-amz-content-sha256"),
			MaxAge: awscdk.Duration_Hours(jsii.Number(1)),
		}
	}
	a.HttpApi = awsapigatewayv2.NewHttpApi(c, jsii.String("HttpApi"), apiProps)

	a.AccessLogs = awslogs.NewLogGroup(c, jsii.String("AccessLogs"), &awslogs.LogGroupProps{
		Retention:     props.Retention,
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	a.Stage = awsapigatewayv2.NewHttpStage(c, jsii.String("DefaultStage"), &awsapigatewayv2.HttpStageProps{
		HttpApi:                a.HttpApi,
		StageName:              jsii.String("$default"),
		AutoDeploy:             jsii.Bool(true),
		DetailedMetricsEnabled: jsii.Bool(true),
		Throttle: &awsapigatewayv2.ThrottleSettings{
			RateLimit:  jsii.Number(props.RateLimit),
			BurstLimit: jsii.Number(float64(props.BurstLimit)),
		},
	})

	var authorizer awsapigatewayv2.IHttpRouteAuthorizer = awsapigatewayv2authorizers.NewHttpIamAuthorizer()
	if props.JWTIssuer != "" {
		authorizer = awsapigatewayv2authorizers.NewHttpJwtAuthorizer(jsii.String("JwtAuthorizer"), jsii.String(props.JWTIssuer),
			&awsapigatewayv2authorizers.HttpJwtAuthorizerProps{JwtAudience: jsii.Strings(props.JWTAudience...)})
	}
	submit := awsapigatewayv2integrations.NewHttpLambdaIntegration(jsii.String("Submit"), props.Submit, nil)
	jobs := awsapigatewayv2integrations.NewHttpLambdaIntegration(jsii.String("Jobs"), props.Jobs, nil)
	for _, r := range jobRoutes {
		integration := jobs
		if r.submit {
			integration = submit
		}
		a.HttpApi.AddRoutes(&awsapigatewayv2.AddRoutesOptions{
			Path:        jsii.String(r.path),
			Methods:     &[]awsapigatewayv2.HttpMethod{r.method},
			Integration: integration,
			Authorizer:  authorizer,
		})
	}
	routes := a.HttpApi.AddRoutes(&awsapigatewayv2.AddRoutesOptions{
		Path:        jsii.String(WebhookPath),
		Methods:     &[]awsapigatewayv2.HttpMethod{awsapigatewayv2.HttpMethod_POST},
		Integration: awsapigatewayv2integrations.NewHttpLambdaIntegration(jsii.String("Webhook"), props.Webhook, nil),
		// The gateway cannot sign requests with SigV4 or present a JWT; the
		// webhook λ verifies the HMAC signature on the raw body instead.
		Authorizer: awsapigatewayv2.NewHttpNoneAuthorizer(),
	})
	a.WebhookRoute = (*routes)[0]

	// The L2 stage has no access-log or per-route settings; set them on the
	// CloudFormation resource.
	cfnStage := a.Stage.Node().DefaultChild().(awsapigatewayv2.CfnStage)
	cfnStage.SetAccessLogSettings(&awsapigatewayv2.CfnStage_AccessLogSettingsProperty{
		DestinationArn: a.AccessLogs.LogGroupArn(),
		Format:         jsii.String(accessLogFormat),
	})
	// The webhook route is open to the internet, so it gets its own, lower
	// limit: a flood of forged callbacks is refused by API Gateway before it
	// costs an invocation, and cannot starve the job routes.
	cfnStage.AddPropertyOverride(jsii.String("RouteSettings"), map[string]any{
		"POST " + WebhookPath: map[string]any{
			"ThrottlingRateLimit":  props.WebhookRateLimit,
			"ThrottlingBurstLimit": props.WebhookBurstLimit,
		},
	})
	// CloudFormation rejects route settings for a route that does not exist yet.
	a.Stage.Node().AddDependency(a.WebhookRoute)
	return a
}

// URL is the API's base URL without a trailing slash (the $default stage
// has no path segment). It depends only on the AWS::ApiGatewayV2::Api
// resource, never on a route, integration or stage.
func (a *API) URL() *string {
	return a.HttpApi.ApiEndpoint()
}
