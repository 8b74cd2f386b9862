// Command echofn is a test-only Lambda function run under the real RIE by the
// localstack tests. For an HTTP API v2 event it answers with the event it
// received (so the test can check the front's conversion); for any other
// payload it follows small commands: fail, env, sleep, or echo.
package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

type command struct {
	Fail    string `json:"fail"`
	Env     string `json:"env"`
	SleepMS int    `json:"sleepMs"`
}

func handle(ctx context.Context, payload json.RawMessage) (any, error) {
	var probe struct {
		RequestContext *json.RawMessage `json:"requestContext"`
	}
	if err := json.Unmarshal(payload, &probe); err == nil && probe.RequestContext != nil {
		return handleHTTP(payload)
	}
	var c command
	if err := json.Unmarshal(payload, &c); err != nil {
		return nil, err
	}
	switch {
	case c.Fail != "":
		return nil, errors.New(c.Fail)
	case c.Env != "":
		return map[string]string{"value": os.Getenv(c.Env)}, nil
	case c.SleepMS > 0:
		time.Sleep(time.Duration(c.SleepMS) * time.Millisecond)
		return map[string]int{"pid": os.Getpid()}, nil
	}
	return payload, nil
}

func handleHTTP(payload json.RawMessage) (events.APIGatewayV2HTTPResponse, error) {
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(payload, &ev); err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	status := http200
	if s, err := strconv.Atoi(ev.QueryStringParameters["status"]); err == nil {
		status = s
	}
	if ev.QueryStringParameters["binary"] == "1" {
		b := make([]byte, 256)
		for i := range b {
			b[i] = byte(i)
		}
		return events.APIGatewayV2HTTPResponse{
			StatusCode:      status,
			Headers:         map[string]string{"content-type": "application/octet-stream"},
			Body:            base64.StdEncoding.EncodeToString(b),
			IsBase64Encoded: true,
		}, nil
	}
	return events.APIGatewayV2HTTPResponse{
		StatusCode: status,
		Headers:    map[string]string{"content-type": "application/json", "x-echo": "1"},
		Cookies:    []string{"session=abc; Path=/", "theme=dark"},
		Body:       string(payload),
	}, nil
}

const http200 = 200

func main() { lambda.Start(handle) }
