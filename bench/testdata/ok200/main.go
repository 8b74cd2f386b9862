// Command ok200 is the webhook storm's baseline: an HTTP API handler that
// decodes the API Gateway v2 event, as every function behind the API must,
// and answers an empty 200. The storm's latency against it is the cost of
// the front, the RIE and the Lambda runtime, without any of ours.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

func handle(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return events.APIGatewayV2HTTPResponse{StatusCode: 200}, nil
}

func main() { lambda.Start(handle) }
