package main

import (
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"
)

// table renders rows as left-aligned columns two spaces apart. Widths count
// runes, so "—" and "✓" line up.
func table(header []string, rows [][]string) []string {
	width := make([]int, len(header))
	for _, r := range append([][]string{header}, rows...) {
		for i, c := range r {
			width[i] = max(width[i], utf8.RuneCountInString(c))
		}
	}
	line := func(r []string) string {
		var b strings.Builder
		for i, c := range r {
			b.WriteString(c)
			if i < len(r)-1 {
				b.WriteString(strings.Repeat(" ", width[i]-utf8.RuneCountInString(c)+2))
			}
		}
		return b.String()
	}
	out := []string{line(header)}
	for _, r := range rows {
		out = append(out, line(r))
	}
	return out
}

// status is one job as the live view shows it.
type status struct {
	Name     string
	ID       string
	State    string
	Provider string
	Health   health
	Elapsed  time.Duration
	Err      string
}

var liveHeader = []string{"JOB", "ID", "STATE", "PROVIDER", "DELIVERIES r/d/rt/l/rj", "ELAPSED"}

func (s status) row() []string {
	state := orDash(s.State)
	if s.Err != "" {
		state += " (" + s.Err + ")"
	}
	return []string{s.Name, orDash(s.ID), state, orDash(s.Provider), s.Health.String(), s.Elapsed.Truncate(100 * time.Millisecond).String()}
}

// live shows progress. On a terminal it redraws the whole table in place
// with ANSI cursor movement; otherwise (a pipe, a CI log) it prints one
// plain line each time a job's state changes, so the output stays readable.
type live struct {
	out   io.Writer
	tty   bool
	drawn int               // lines drawn last time (tty)
	last  map[string]string // job name → last printed state (plain)
	start time.Time
}

func newLive(out io.Writer, tty bool, start time.Time) *live {
	return &live{out: out, tty: tty, last: map[string]string{}, start: start}
}

// ANSI: move the cursor up n lines; clear the whole line.
const (
	ansiUp    = "\x1b[%dA"
	ansiClear = "\x1b[2K"
)

// update shows the jobs' current statuses at time now.
func (l *live) update(jobs []status, now time.Time) {
	if l.tty {
		l.redraw(jobs)
		return
	}
	for _, j := range jobs {
		if j.State == "" || l.last[j.Name] == j.State {
			continue
		}
		from := l.last[j.Name]
		l.last[j.Name] = j.State
		if from == "" {
			fmt.Fprintf(l.out, "%7s  %-16s %s  %s\n", stamp(now.Sub(l.start)), j.Name, j.ID, j.State)
			continue
		}
		fmt.Fprintf(l.out, "%7s  %-16s %s  %s → %s\n", stamp(now.Sub(l.start)), j.Name, j.ID, from, j.State)
	}
}

func (l *live) redraw(jobs []status) {
	rows := make([][]string, len(jobs))
	for i, j := range jobs {
		rows[i] = j.row()
	}
	lines := table(liveHeader, rows)
	var b strings.Builder
	if l.drawn > 0 {
		fmt.Fprintf(&b, ansiUp, l.drawn)
	}
	for _, ln := range lines {
		b.WriteString("\r" + ansiClear + ln + "\n")
	}
	l.drawn = len(lines)
	io.WriteString(l.out, b.String())
}

func stamp(d time.Duration) string {
	return fmt.Sprintf("%5.1fs", d.Seconds())
}
