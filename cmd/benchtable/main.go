// Command benchtable reads `go test -bench` output (files named on the
// command line, or stdin) and prints the benchmark table of BENCHMARKS.md
// as markdown: each figure beside the baseline measured in the same run,
// their ratio and its target (scripts/bench.sh, make bench).
package main

import (
	"fmt"
	"io"
	"os"

	"github.com/videojobs/videojobs/internal/benchreport"
)

func main() {
	if err := run(os.Args[1:], os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "benchtable:", err)
		os.Exit(1)
	}
}

func run(paths []string, stdin io.Reader, stdout io.Writer) error {
	readers := []io.Reader{stdin}
	if len(paths) > 0 {
		readers = readers[:0]
		for _, p := range paths {
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			defer f.Close()
			readers = append(readers, f)
		}
	}
	results, err := benchreport.Parse(io.MultiReader(readers...))
	if err != nil {
		return err
	}
	if len(results) == 0 {
		return fmt.Errorf("no benchmark results in the input")
	}
	return benchreport.Render(stdout, results, benchreport.ListPrices)
}
