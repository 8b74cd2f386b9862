#!/usr/bin/env bash
# Installs the official AWS Lambda Runtime Interface Emulator into a repo-local
# GOBIN (.cache/bin by default) so the local stack and its tests can run real
# bootstrap binaries the way `sam local` does. Idempotent: an existing binary
# built from the pinned version is kept.
set -euo pipefail

RIE_MODULE="github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie"
RIE_VERSION="v0.0.0-20261030222936-bef5c4ba774d"

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin_dir="${RIE_BIN_DIR:-$repo_root/.cache/bin}"
rie="$bin_dir/aws-lambda-rie"
stamp="$bin_dir/.aws-lambda-rie.version"

if [[ -x "$rie" && -f "$stamp" && "$(cat "$stamp")" == "$RIE_VERSION" ]]; then
	echo "aws-lambda-rie $RIE_VERSION already installed at $rie"
	exit 0
fi

mkdir -p "$bin_dir"
# Build outside the repo's module so go.mod is never touched.
(cd / && GOBIN="$bin_dir" GOFLAGS=-buildvcs=false CGO_ENABLED=0 go install "$RIE_MODULE@$RIE_VERSION")
echo "$RIE_VERSION" >"$stamp"
echo "installed aws-lambda-rie $RIE_VERSION at $rie"
