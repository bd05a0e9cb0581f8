#!/usr/bin/env bash
# Peak memory of a replay from the signal store as the log grows. For each size: a synthetic
# log and a store holding the quickstart classifier's outputs for every request of it
# (eval/examples/synthetic_store.rs: random class probabilities, no model run), then, each
# timed by `/usr/bin/time` (wall seconds, peak RSS):
#   - `routelab eval` of the rule-only config eval/tests/fixtures/mmlu-keywords.yaml (no store),
#   - `routelab eval` of configs/mmlu-routing.yaml (the domain classifier) reading the store,
#   - `routelab compare` of the two (paired bootstrap, default 2,000 resamples), reading the store;
# the last two must compute nothing (checked). Needs models/domain-classifier
# (./scripts/quickstart.sh) and about 1.6 GB of disk per million rows in $TMPDIR.
#
#   ./scripts/bench-store-memory.sh [rows ...]        (default: 1000000 4000000 16000000)
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1000000 4000000 16000000)
target="${CARGO_TARGET_DIR:-target}"
cargo build --release -q -p routelab
cargo build --release -q -p eval --example synthetic_store
bin="$target/release/routelab"
gen="$target/release/examples/synthetic_store"
[ -d models/domain-classifier ] || { echo "run ./scripts/quickstart.sh first (models/domain-classifier)" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

timed() { # name, then the command; prints wall and peak RSS, keeps the output in $work/out
  local name=$1; shift
  /usr/bin/time -f "%e %M" -o "$work/time" "$@" > "$work/out" 2>&1 || { cat "$work/out" >&2; exit 1; }
  read -r wall rss < "$work/time"
  printf '| %s | %s | %.1f s | %.0f MB |\n' "$rows" "$name" "$wall" "$((rss / 1024))"
}

read_all() { # rows: the last run read every model output from the store and computed none
  grep -q "$1 model outputs read, 0 computed" "$work/out" \
    || { echo "the replay did not read every output from the store:" >&2; grep -i "signal store" "$work/out" >&2; exit 1; }
}

echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; $(date -u +%FT%TZ); load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "| rows | run | wall | peak RSS |"
echo "|---:|---|---:|---:|"
for rows in "${sizes[@]}"; do
  dir="$work/$rows"
  timed "write log and store" "$gen" "$rows" "$dir" models/domain-classifier
  log="$dir/log-$rows.parquet"
  timed "eval, rules only" "$bin" eval -c eval/tests/fixtures/mmlu-keywords.yaml -l "$log" \
    --out "$dir/rules" --no-signal-store --no-progress
  rm -rf "$dir/rules"
  timed "eval, domain classifier from the store" "$bin" eval -c configs/mmlu-routing.yaml -l "$log" \
    --out "$dir/store" --signals "$dir/signals" --no-progress
  read_all "$rows"
  timed "compare, rules vs classifier from the store" "$bin" compare \
    eval/tests/fixtures/mmlu-keywords.yaml configs/mmlu-routing.yaml -l "$log" \
    --out "$dir/compare" --signals "$dir/signals" --no-progress
  read_all "$rows"
  rm -rf "$dir"
done
