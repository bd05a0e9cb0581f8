#!/usr/bin/env bash
# The signal store measured side by side in one run, on the quickstart's log and config:
# a replay without the store, a cold replay into an empty store, a warm replay, 5- and
# 10-point sweeps of the domain threshold (warm, and the 10-point one cold), and `compare` of
# two configs that share the classifier (warm, cold, and without the store), each timed by `/usr/bin/time -v` (wall seconds and peak RSS). Needs the
# quickstart's classifier (models/domain-classifier: run ./scripts/quickstart.sh first).
#
#   ./scripts/bench-signal-store.sh [rounds]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-2}
bin="${CARGO_TARGET_DIR:-target}/release/routelab"
[ -x "$bin" ] || { echo "build first: cargo build --release -p routelab" >&2; exit 2; }
[ -d models/domain-classifier ] || { echo "run ./scripts/quickstart.sh first (models/domain-classifier)" >&2; exit 2; }
config=configs/mmlu-routing.yaml
log=datasets/samples/routing_log.parquet
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# A second config sharing the classifier: the same decisions at the other strategy.
sed 's/^  strategy: confidence/  strategy: priority/' "$config" > configs/.bench-priority.yaml
trap 'rm -rf "$work" configs/.bench-priority.yaml' EXIT

run() { # name, then the command
  local name=$1; shift
  /usr/bin/time -f "%e %M" -o "$work/time" "$@" > "$work/out" 2>&1 || { cat "$work/out" >&2; exit 1; }
  read -r wall rss < "$work/time"
  local rate
  rate=$(sed -n 's/^replay: \([0-9]*\) rows\/s.*/\1/p' "$work/out" | head -1)
  printf '%-28s %8.2f s  %7.0f MB  %s\n' "$name" "$wall" "$((rss / 1024))" "${rate:+$rate rows/s}"
}

echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; $(date -u +%FT%TZ); load $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq 1 "$rounds"); do
  echo "-- round $r"
  store="$work/store-$r"
  run "replay, no store" "$bin" eval --config "$config" --log "$log" --out "$work/plain" --no-signal-store --no-progress
  run "replay, cold store" "$bin" eval --config "$config" --log "$log" --out "$work/cold" --signals "$store" --no-progress
  run "replay, warm store" "$bin" eval --config "$config" --log "$log" --out "$work/warm" --signals "$store" --no-progress
  for n in 5 10; do
    run "sweep $n points, warm" "$bin" eval --config "$config" --log "$log" --out "$work/sweep$n" --signals "$store" --no-progress \
      --sweep "global.model_catalog.modules.classifier.domain.threshold=0.1:0.9:$n"
  done
  run "sweep 10 points, cold" "$bin" eval --config "$config" --log "$log" --out "$work/sweepc" --signals "$store-sweep" --no-progress \
    --sweep "global.model_catalog.modules.classifier.domain.threshold=0.1:0.9:10"
  run "compare, cold" "$bin" compare "$config" configs/.bench-priority.yaml --log "$log" --out "$work/cmpc" --signals "$store-cmp" --no-progress
  run "compare, warm" "$bin" compare "$config" configs/.bench-priority.yaml --log "$log" --out "$work/cmp" --signals "$store" --no-progress
  run "compare, no store" "$bin" compare "$config" configs/.bench-priority.yaml --log "$log" --out "$work/cmp0" --no-signal-store --no-progress
done
