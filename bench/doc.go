// Package bench holds the system-level benchmarks behind `make bench`:
// they need the local stack (moto, the Lambda Runtime Interface Emulator,
// the AI Stats simulator) and the real function bootstraps, which the
// benchmarks build and start themselves, once per test binary, on first
// use. Plain `go test ./...` runs only the package's unit tests and
// starts nothing.
//
//	go test -run '^$' -bench . -benchtime 1x -timeout 15m ./bench/
//
// Each benchmark reports its figures with b.ReportMetric next to a
// baseline measured in the same run; cmd/benchtable turns the output into
// the table in BENCHMARKS.md:
//
//   - BenchmarkColdStart: INIT duration of each function under the RIE
//     against a hello-world aws-lambda-go bootstrap (testdata/hello).
//   - BenchmarkWebhookStorm: latency of a storm of signed deliveries to the
//     webhook λ through the local HTTP API, against the same storm to an
//     empty 200 handler (testdata/ok200) behind the same front and RIE pool.
//   - BenchmarkJobCost: Step Functions transitions, Lambda invocations and
//     GB-seconds, and DynamoDB capacity units per job for the webhook path,
//     the poll-only path and a fixed 20 s poll loop, measured on real
//     executions of a 3-minute generation.
//
// The non-test code is the accounting the benchmarks share: DynamoDB
// capacity units from the requests the functions send.
package bench
