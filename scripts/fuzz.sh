#!/usr/bin/env bash
# Runs every fuzz target in the module for $1 (default 30s) each, then keeps
# the corpus the fuzzer found under the package's testdata/fuzz/<Target>/ so
# later plain `go test` runs replay it.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${1:-30s}
cache=$(go env GOCACHE)/fuzz
module=$(go list -m)
for dir in $(grep -rl --include='*_test.go' '^func Fuzz' internal functions cmd 2>/dev/null | xargs -n1 dirname | sort -u); do
  pkg="$module/$dir"
  for target in $(grep -h '^func Fuzz' "$dir"/*_test.go | sed -E 's/^func (Fuzz[A-Za-z0-9_]*).*/\1/'); do
    echo "== $pkg $target ($fuzztime)"
    go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "./$dir"
    if [ -d "$cache/$pkg/$target" ]; then
      mkdir -p "$dir/testdata/fuzz/$target"
      cp -n "$cache/$pkg/$target"/* "$dir/testdata/fuzz/$target/" 2>/dev/null || true
    fi
  done
done
