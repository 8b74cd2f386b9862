// Package badinput is the bad-input suite (design.md guarantee 10, and 3
// for webhooks): table-driven requests against the local HTTP API's
// POST /jobs and POST /webhooks/ai-stats, each answered with its documented
// status and JSON error envelope {"error":{"code","message","field"?}},
// and each proven to write nothing (a ScanAll of the table before and
// after) and to change no job. It runs against the whole local stack
// (package chaos starts it) and holds only tests.
package badinput
