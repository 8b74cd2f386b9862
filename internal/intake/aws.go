package intake

import (
	"context"
	"errors"
	"fmt"
	"time"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
)

// StartExecutionAPI is the Step Functions call the workflow adapter makes.
type StartExecutionAPI interface {
	StartExecution(ctx context.Context, in *sfn.StartExecutionInput, optFns ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error)
}

var _ StartExecutionAPI = (*sfn.Client)(nil)

// StepFunctions starts job workflows: one Standard execution per job,
// named after the job id.
type StepFunctions struct {
	api             StartExecutionAPI
	stateMachineARN string
}

// NewStepFunctions returns the Workflow adapter for a state machine.
func NewStepFunctions(api StartExecutionAPI, stateMachineARN string) *StepFunctions {
	return &StepFunctions{api: api, stateMachineARN: stateMachineARN}
}

// Start starts the job's execution. Execution names are unique per state
// machine (for 90 days after they close), and the name is the job id, so
// ExecutionAlreadyExists means this job's workflow already runs or ran: a
// retried submission must not start a second one, and is not an error.
// (Standard workflows answer a same-name, same-input start of a running
// execution with success already; a closed one or another input — a
// different first wait, say — gives ExecutionAlreadyExists.)
// https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html
func (w *StepFunctions) Start(ctx context.Context, jobID string, input []byte) error {
	in := string(input)
	_, err := w.api.StartExecution(ctx, &sfn.StartExecutionInput{
		StateMachineArn: &w.stateMachineARN,
		Name:            &jobID,
		Input:           &in,
	})
	var exists *sfntypes.ExecutionAlreadyExists
	if err != nil && !errors.As(err, &exists) {
		return fmt.Errorf("start execution %s: %w", jobID, err)
	}
	return nil
}

// PresignGetAPI is the presign call the download adapter makes;
// s3.NewPresignClient returns one.
type PresignGetAPI interface {
	PresignGetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.PresignOptions)) (*v4.PresignedHTTPRequest, error)
}

var _ PresignGetAPI = (*s3.PresignClient)(nil)

// S3Presigner is the Presigner adapter.
type S3Presigner struct {
	api PresignGetAPI
}

// NewS3Presigner returns the Presigner adapter.
func NewS3Presigner(api PresignGetAPI) *S3Presigner {
	return &S3Presigner{api: api}
}

// PresignGet returns a GET URL for bucket/key valid for ttl.
func (p *S3Presigner) PresignGet(ctx context.Context, bucket, key string, ttl time.Duration) (string, error) {
	req, err := p.api.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: &key}, s3.WithPresignExpires(ttl))
	if err != nil {
		return "", fmt.Errorf("presign get s3://%s/%s: %w", bucket, key, err)
	}
	return req.URL, nil
}
