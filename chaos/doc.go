// Package chaos proves the videojobs guarantees under fire. It runs the whole
// system on this machine (internal/localstack: moto with Step Functions
// executing the repo's ASL, the five real bootstrap binaries under the Lambda
// RIE, the local HTTP API and the in-process AI Stats simulator), drives a
// seeded batch of jobs through it while the simulator injects every fault it
// knows and the harness SIGKILLs webhook, watch and store function processes
// in the middle of invocations and throws forged and unsigned callbacks at
// the webhook endpoint, then writes a ledger: what each job was scripted to
// end as and what it ended as, how many provider jobs each submission made,
// what the forgeries changed, whether every stored video matches the bytes
// the gateway served, which faults were injected and which defence caught
// each one.
//
// [StartSystem] brings the stack up (the bad-input suite reuses it with no
// faults and no kills), [Run] drives one seeded run and returns its [Ledger],
// and [Ledger.Violations] lists every broken invariant. `make chaos`
// (cmd/videojobs-chaos) prints the ledger of a 300-job run; the package test
// runs a smaller one on every `make test`.
package chaos
