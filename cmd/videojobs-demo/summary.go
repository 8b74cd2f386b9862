package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"
)

var summaryHeader = []string{"JOB", "STATE (REASON)", "WANT", "VIA", "S3 OBJECT", "SIZE", "SHA256", "= SIM", "DELIVERIES r/d/rt/l/rj", "TRANSITIONS", "VERDICT"}

// summarize writes the final table and the problems under it, and reports
// how many jobs missed their expectation.
func summarize(w io.Writer, results []result) (failed int) {
	rows := make([][]string, 0, len(results))
	var notes []string
	for _, r := range results {
		want := r.Job.Want.State
		state := orDash(r.State)
		if r.Reason != "" {
			state += " (" + r.Reason + ")"
		}
		key, size, sum, match := "—", "—", "—", "—"
		if o := r.Object; o != nil {
			key, size, sum = o.Key, humanBytes(o.Size), shortSum(o.SHA256)
			match = "no"
			if o.Match {
				match = "yes"
			}
		}
		transitions := "—"
		if r.Transitions > 0 {
			transitions = strconv.Itoa(r.Transitions)
		}
		verdict := "ok"
		if p := r.Job.Want.problems(r); len(p) > 0 {
			verdict = "WRONG"
			failed++
			notes = append(notes, fmt.Sprintf("  %s (%s): %s", r.Job.Name, orDash(r.ID), strings.Join(p, "; ")))
		}
		rows = append(rows, []string{r.Job.Name, state, want, orDash(r.CompletedBy), key, size, sum, match, r.Health.String(), transitions, verdict})
	}
	for _, ln := range table(summaryHeader, rows) {
		fmt.Fprintln(w, ln)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "VIA: what moved the job to completed (webhook, or poll when no valid webhook arrived in time)")
	fmt.Fprintln(w, "S3 OBJECT: key in the video bucket; = SIM: its sha256 and size equal what the simulator served")
	fmt.Fprintln(w, "DELIVERIES: received / duplicates / retries (attempt > 1) / late (arrived after the job moved past them) / rejected (answered 401)")
	fmt.Fprintln(w, "TRANSITIONS: states entered in the job's Step Functions execution (GetExecutionHistory)")
	if failed > 0 {
		fmt.Fprintf(w, "\n%d of %d jobs did not end as expected:\n%s\n", failed, len(results), strings.Join(notes, "\n"))
	} else {
		fmt.Fprintf(w, "\nall %d jobs ended as expected\n", len(results))
	}
	return failed
}

func shortSum(s string) string {
	if len(s) <= 16 {
		return orDash(s)
	}
	return s[:8] + "…" + s[len(s)-8:]
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
