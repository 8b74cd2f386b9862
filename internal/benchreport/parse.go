// Package benchreport turns `go test -bench` output into the one markdown
// table `make bench` prints: each figure beside the baseline measured in
// the same run, their ratio, and the target it is held to.
package benchreport

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Result is one benchmark line: its name without the -GOMAXPROCS suffix,
// its iteration count and every metric by unit ("ns/op", "p99-ms", …).
type Result struct {
	Name    string
	N       int64
	Metrics map[string]float64
}

// Results holds the parsed benchmarks by name; a later line for the same
// name (a -count > 1 run) replaces an earlier one.
type Results map[string]Result

// Metric returns one metric of one benchmark.
func (r Results) Metric(name, unit string) (float64, bool) {
	res, ok := r[name]
	if !ok {
		return 0, false
	}
	v, ok := res.Metrics[unit]
	return v, ok
}

// Parse reads `go test -bench` output, skipping every line that is not a
// benchmark result (package headers, logs, PASS/FAIL).
func Parse(r io.Reader) (Results, error) {
	out := Results{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		res, ok := parseLine(sc.Text())
		if ok {
			out[res.Name] = res
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read benchmark output: %w", err)
	}
	return out, nil
}

// parseLine reads "BenchmarkX/sub-2  1  123 ns/op  4.5 x-hmac".
func parseLine(line string) (Result, bool) {
	f := strings.Fields(line)
	if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") || len(f)%2 != 0 {
		return Result{}, false
	}
	n, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return Result{}, false
	}
	name := f[0]
	if i := strings.LastIndexByte(name, '-'); i > 0 {
		if _, err := strconv.Atoi(name[i+1:]); err == nil {
			name = name[:i]
		}
	}
	res := Result{Name: name, N: n, Metrics: map[string]float64{}}
	for i := 2; i+1 < len(f); i += 2 {
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil {
			return Result{}, false
		}
		res.Metrics[f[i+1]] = v
	}
	return res, true
}
