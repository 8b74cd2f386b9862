// Package localstack runs the whole videojobs system on one machine with no
// AWS account: a moto server for DynamoDB, S3, Step Functions, Secrets
// Manager, EventBridge and CloudWatch; one official Lambda Runtime Interface
// Emulator (RIE) process pool per function running the real bootstrap
// binaries; a Lambda front that answers the Step Functions executor's Invoke
// calls and proxies every other AWS call to moto; and an API Gateway HTTP API
// (payload 2.0) front for clients and webhooks.
//
// Moto's Step Functions executor sends its Lambda and EventBridge calls to
// http://localhost:$MOTO_PORT, so moto runs on its own port with MOTO_PORT set
// to the Lambda front's port (see [StartMoto]).
//
// Every server binds 127.0.0.1 on a free port, and every child process runs
// in its own process group so Close can stop it, and anything it started, by
// PID.
package localstack
