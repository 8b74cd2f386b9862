package chaos

import (
	"bytes"
	"context"
	"errors"
	"os"
	"testing"
	"time"
)

// testJobs is the size of the run `make test` does: enough jobs to meet
// every coverage fault and kill every killable function, small enough for
// a few minutes on two cores.
const testJobs = 36

// TestChaos runs a seeded chaos run through the whole local stack and
// asserts the ledger's invariants: every job terminal in its scripted
// state, one provider job per submission, no change and no write from
// forged or unsigned callbacks, every stored video byte-identical to the
// gateway's, every workflow execution finished, and every fault and kill
// actually injected.
func TestChaos(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 8*time.Minute)
	defer cancel()
	var progress bytes.Buffer
	sys, err := StartSystem(ctx, Options{Seed: 1, KeepDir: true, Log: &progress})
	if errors.Is(err, ErrToolsAbsent) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatalf("start system: %v", err)
	}
	defer func() {
		sys.Close()
		if t.Failed() {
			t.Logf("logs kept in %s", sys.Dir)
			return
		}
		os.RemoveAll(sys.Dir)
	}()
	t.Log(progress.String())

	l, err := Run(ctx, sys, RunConfig{Jobs: testJobs, InFlight: testJobs, Progress: &progress})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	var out bytes.Buffer
	l.Print(&out)
	t.Logf("%s\n%s", progress.String(), out.String())

	for _, v := range l.Violations() {
		t.Error(v)
	}
	for _, f := range coverage {
		if l.Faults[f] == 0 {
			t.Errorf("fault %s was never injected", f)
		}
	}
	for _, fn := range Killable {
		if k := l.Kills[fn]; k.Landed == 0 {
			t.Errorf("no kill of %s landed mid-invocation: %+v", fn, k)
		}
	}
	kinds := map[string]bool{}
	for _, f := range l.Forgeries {
		kinds[f.Kind] = true
	}
	if len(kinds) < 3 {
		t.Errorf("forged callbacks of %d kinds sent, want at least 3", len(kinds))
	}
}
