#!/usr/bin/env bash
# make bench: runs every benchmark behind BENCHMARKS.md, in one command,
# and prints one markdown table (cmd/benchtable) to stdout. Each benchmark
# reports against a baseline measured in the same run. About 6½ to 10 minutes
# on 2 cores, most of it BenchmarkJobCost's real-time 3-minute generation
# (BENCH_GENERATION=40s shortens it, changing what the cost rows mean).
#
# The raw `go test -bench` output is kept in $BENCH_OUT (default
# .cache/bench); the table is also written to $BENCH_OUT/table.md. A
# failing step does not stop the others: its rows read "not run" and the
# script exits non-zero at the end.
set -uo pipefail
cd "$(dirname "$0")/.."

out="${BENCH_OUT:-.cache/bench}"
generation="${BENCH_GENERATION:-3m}"
mkdir -p "$out"
rm -f "$out"/*.txt
status=0

step() {
	local name=$1
	shift
	echo "== $name: $*" >&2
	if ! "$@" >"$out/$name.txt" 2>"$out/$name.log"; then
		echo "bench: $name failed (output: $out/$name.txt, $out/$name.log)" >&2
		tail -n 20 "$out/$name.txt" >&2
		status=1
	fi
	grep -E '^Benchmark' "$out/$name.txt" >&2 || true
}

# 1: verify + parse vs bare HMAC (x-hmac is measured inside the benchmark
# by alternating rounds of both).
step webhook go test -run '^$' -bench '^Benchmark(HMACBaseline|VerifyAndParse)4KiB$' -benchmem -benchtime 2s \
	./internal/webhook/
# 3: copies from a loopback HTTP source into a plain-HTTP S3 sink, with
# io.Copy of the same stream as the baseline.
step copier go test -run '^$' -bench '^BenchmarkCopyHTTP' -benchtime 1x -timeout 10m ./internal/copier/
# 6: the gateway simulator serving 200 concurrent jobs at two time scales.
step simulator go test -run '^$' -bench '^BenchmarkConcurrentJobs$' -benchtime 3x ./internal/simulator/
# 2, 4, 5: the local stack (moto + RIE + simulator), started by the
# benchmarks themselves.
step system go test -run '^$' -bench . -benchtime 1x -timeout 20m ./bench/ -bench.generation="$generation"

go run ./cmd/benchtable "$out"/*.txt | tee "$out/table.md" || status=1
exit $status
