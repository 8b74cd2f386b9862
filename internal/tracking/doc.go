// Package tracking is the domain service behind the workflow-facing Lambdas:
// it follows a provider job to its end and lands its video in S3.
//
// Three services share one model of "what the provider says" and one way of
// applying it to a job (through job.Transition, so state only moves forward):
//
//   - Receiver handles a signed webhook delivery: verify on the raw bytes,
//     dedupe, reconcile with a provider GET when the event is terminal or
//     disagrees with local state, write, then wake the waiting workflow.
//   - Watcher serves the workflow's Watch/Poll/MarkFailed steps: it stores
//     the task token, polls the provider with back-off under a deadline, and
//     ends jobs that cannot finish.
//   - Archiver streams a completed job's video into S3 exactly once and
//     marks the job stored.
//
// The package declares the ports it needs (Store, Provider, TaskNotifier,
// Secrets, Copier, Recorder) with only the calls it makes; the Lambdas wire
// the real adapters and the tests use in-memory fakes.
package tracking
