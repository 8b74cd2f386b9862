#!/usr/bin/env bash
# Installs, idempotently, what `make test`, `make dev` and `make demo` need on a
# fresh machine: the AWS Lambda Runtime Interface Emulator (repo-local, via
# go install) and moto server (pip). Says clearly what is missing otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-rie.sh
if ! command -v moto_server >/dev/null 2>&1; then
  echo "moto_server not found; installing moto[server] 5.2.1 with pip" >&2
  if ! python3 -m pip install --quiet "moto[server]==5.2.1"; then
    echo "error: moto server is required (pip install \"moto[server]==5.2.1\")" >&2
    exit 1
  fi
fi
