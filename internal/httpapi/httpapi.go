// Package httpapi holds the API Gateway HTTP API (payload 2.0) helpers the
// API Lambdas share: strict JSON decoding of request bodies with
// field-level errors (design.md guarantee 10), the JSON error envelope
// {"error":{"code","message","field"?}}, and JSON responses.
//
// API Gateway payload format 2.0:
// https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html
package httpapi

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/aws/aws-lambda-go/events"
)

// Error is a client-facing API error: an HTTP status and the envelope
// fields. Handlers return it as is; its Message must never carry internal
// detail (for 5xx use Internal).
type Error struct {
	Status  int
	Code    string
	Message string
	// Field is the offending request field as a dotted path, when one is
	// to blame.
	Field string
}

func (e *Error) Error() string {
	if e.Field != "" {
		return "http " + strconv.Itoa(e.Status) + " " + e.Code + " (" + e.Field + "): " + e.Message
	}
	return "http " + strconv.Itoa(e.Status) + " " + e.Code + ": " + e.Message
}

// envelope is the wire shape of every error body.
type envelope struct {
	Error envelopeBody `json:"error"`
}

type envelopeBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

// Internal is the one 500 answer: it says nothing about the cause, which
// belongs in the log line, not in the response.
var Internal = &Error{Status: http.StatusInternalServerError, Code: "internal_error", Message: "internal error; retry later"}

// JSON answers status with v encoded as JSON. Responses are never cached:
// they describe live job state and may carry presigned URLs.
func JSON(status int, v any) events.APIGatewayV2HTTPResponse {
	b, err := json.Marshal(v)
	if err != nil {
		// Only a programming error (an unencodable type) gets here.
		return ErrorResponse(Internal)
	}
	return events.APIGatewayV2HTTPResponse{
		StatusCode: status,
		Headers: map[string]string{
			"Content-Type":  "application/json; charset=utf-8",
			"Cache-Control": "no-store",
		},
		Body: string(b),
	}
}

// ErrorResponse answers e as the JSON error envelope.
func ErrorResponse(e *Error) events.APIGatewayV2HTTPResponse {
	status := e.Status
	if status < 400 || status > 599 {
		status = http.StatusInternalServerError
	}
	return JSON(status, envelope{Error: envelopeBody{Code: e.Code, Message: e.Message, Field: e.Field}})
}

// Header returns a request header by name, ignoring case. API Gateway
// lowercases header names in payload 2.0, but local fronts and tests may
// not.
func Header(req events.APIGatewayV2HTTPRequest, name string) string {
	if v, ok := req.Headers[strings.ToLower(name)]; ok {
		return v
	}
	for k, v := range req.Headers {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}
