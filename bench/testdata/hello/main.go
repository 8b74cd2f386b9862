// Command hello is the cold-start baseline: the smallest aws-lambda-go
// function, a handler returning a constant, so its INIT duration is the
// Go runtime plus the Lambda runtime client and nothing of ours.
package main

import "github.com/aws/aws-lambda-go/lambda"

func main() {
	lambda.Start(func() (string, error) { return "hello", nil })
}
