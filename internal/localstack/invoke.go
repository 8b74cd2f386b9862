package localstack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
)

// Invoker runs one invocation of a function. An error means the invocation
// could not be carried out (the Lambda service's fault, retried by Step
// Functions as Lambda.ServiceException); a function that ran and failed is a
// Response with FunctionError set.
type Invoker interface {
	Invoke(ctx context.Context, payload []byte) (Response, error)
}

// Response is what a function returned.
type Response struct {
	Payload []byte
	// FunctionError is "Unhandled" when the function failed, as in Lambda's
	// X-Amz-Function-Error header; Payload then holds
	// {"errorMessage":…,"errorType":…}.
	FunctionError string
}

// HandlerFunc adapts an in-process Go function (a test stub, say) to
// [Invoker]. A returned error becomes a function error whose errorType is
// the [FunctionError] type when the error wraps one, else the error's Go type
// name, as aws-lambda-go reports it.
type HandlerFunc func(ctx context.Context, payload []byte) ([]byte, error)

// Invoke implements [Invoker].
func (f HandlerFunc) Invoke(ctx context.Context, payload []byte) (Response, error) {
	out, err := f(ctx, payload)
	if err != nil {
		return errorResponse(err), nil
	}
	return Response{Payload: out}, nil
}

// FunctionError is an error with an explicit Lambda errorType, which is the
// error name Step Functions matches in Retry and Catch.
type FunctionError struct {
	Type    string
	Message string
}

func (e *FunctionError) Error() string { return e.Type + ": " + e.Message }

func errorResponse(err error) Response {
	typ := reflect.TypeOf(err).String()
	if i := strings.LastIndexByte(typ, '.'); i >= 0 {
		typ = typ[i+1:]
	}
	msg := err.Error()
	var fe *FunctionError
	if errors.As(err, &fe) {
		typ, msg = fe.Type, fe.Message
	}
	b, _ := json.Marshal(struct {
		ErrorMessage string `json:"errorMessage"`
		ErrorType    string `json:"errorType"`
	}{msg, typ})
	return Response{Payload: b, FunctionError: "Unhandled"}
}

// isFunctionError reports whether an RIE answer is a function error. The RIE
// answers 200 with the runtime's error document and no X-Amz-Function-Error
// header, so the document's shape is the only signal: an object carrying
// errorType and nothing beyond the fields the runtimes put in it.
func isFunctionError(payload []byte) bool {
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(payload, &doc); err != nil {
		return false
	}
	if _, ok := doc["errorType"]; !ok {
		return false
	}
	for k := range doc {
		switch k {
		case "errorType", "errorMessage", "stackTrace", "requestId", "cause":
		default:
			return false
		}
	}
	return true
}

func functionName(nameOrARN string) (string, error) {
	// Accept a name, a partial ARN (123456789012:function:name) or a full ARN,
	// with an optional :qualifier, as Lambda's Invoke does.
	s := nameOrARN
	if _, after, ok := strings.Cut(s, "function:"); ok {
		s = after
	}
	s, _, _ = strings.Cut(s, ":")
	if s == "" {
		return "", fmt.Errorf("function name %q: empty", nameOrARN)
	}
	return s, nil
}
