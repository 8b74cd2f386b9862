// Package e2e runs the whole videojobs system on this machine and drives it
// through its HTTP API, the way a client and the AI Stats gateway would: the
// five real bootstrap binaries under the Lambda Runtime Interface Emulator,
// moto (with Step Functions executing the repo's ASL), the local HTTP API
// front and the in-process AI Stats simulator, all from
// internal/localstack. Its tests prove the design guarantees end to end:
// every job reaches the right terminal state with an intact S3 object
// whether its webhooks arrive, are lost or are mangled, a submission makes
// exactly one provider job, and the workflow stays within its budget of
// state transitions. It also runs every sample event in events/ through its
// function, as `sam local invoke` would.
//
// The tests skip, with a message, only when moto_server or aws-lambda-rie is
// absent (`make tools` installs the emulator into .cache/bin).
package e2e
