#!/usr/bin/env bash
# Replay throughput of the working tree against an earlier commit, side by side in one run.
#
#   ./scripts/bench-replay-vs.sh <commit> [rounds]
#
# Builds this tree's replay bench and the same bench file against <commit> (in a git worktree
# under $TMPDIR, with the bench's `libc` dev-dependency added there), then runs them
# alternately `rounds` times (default 2) on the same log files: synthetic prompts at
# 100k / 1M / 4M rows, and the real MMLU prompts of datasets/samples/routing_log.parquet
# cycled to 1M rows, on all cores and then pinned to one core (`taskset -c 1`: CPU time per
# row without scheduling noise, the steadier measure of the work done). Timing runs hold
# /tmp/routelab-bench.lock so they never overlap another benchmark. Logs are kept in
# $TMPDIR/routelab-replay-logs for later runs.
set -euo pipefail
shopt -s inherit_errexit
cd "$(dirname "$0")/.."
base=${1:?usage: bench-replay-vs.sh <commit> [rounds]}
rounds=${2:-2}
tmp=${TMPDIR:-/tmp}
old_tree="$tmp/routelab-bench-$(git rev-parse --short "$base")"
logs="$tmp/routelab-replay-logs"
mkdir -p "$logs"

if [ ! -d "$old_tree" ]; then
  git worktree add --detach "$old_tree" "$base" >/dev/null
fi
cp eval/benches/replay.rs "$old_tree/eval/benches/replay.rs"
if ! grep -q '^libc' "$old_tree/eval/Cargo.toml"; then
  sed -i 's/^\[dev-dependencies\]$/[dev-dependencies]\nlibc = "0.2"/' "$old_tree/eval/Cargo.toml"
fi

# Builds the bench of tree $1 and copies it to $2: both trees can build to the same file name
# in a shared target dir, so each binary is copied away before the other is built.
bench_binary() {
  local built
  built=$( (cd "$1" && cargo bench -p eval --bench replay --no-run 2>&1) |
    sed -n 's/.*(\(.*replay-[0-9a-f]*\)).*/\1/p' | tail -1)
  # Cargo prints the path relative to the tree when the target dir is inside it.
  case $built in
    "") echo "building the bench in $1 failed" >&2; return 1 ;;
    /*) ;;
    *) built="$1/$built" ;;
  esac
  cp "$built" "$2"
  echo "$2"
}
new_bin=$(bench_binary "$PWD" "$tmp/routelab-replay-bench-new")
old_bin=$(bench_binary "$old_tree" "$tmp/routelab-replay-bench-old")
prompts="$PWD/datasets/samples/routing_log.parquet"

run() {
  local name=$1 bin=$2
  echo "## $name ($bin), synthetic prompts, $(date -u +%FT%TZ), load $(cut -d' ' -f1-3 /proc/loadavg)"
  REPLAY_BENCH_DIR="$logs" REPLAY_BENCH_ROWS=100000,1000000,4000000 "$bin" | tail -3
  echo "## $name, MMLU prompts, $(date -u +%FT%TZ), load $(cut -d' ' -f1-3 /proc/loadavg)"
  REPLAY_BENCH_PROMPTS="$prompts" REPLAY_BENCH_DIR="$logs" REPLAY_BENCH_ROWS=1000000 "$bin" | tail -1
  echo "## $name, MMLU prompts, one core, $(date -u +%FT%TZ), load $(cut -d' ' -f1-3 /proc/loadavg)"
  REPLAY_BENCH_PROMPTS="$prompts" REPLAY_BENCH_DIR="$logs" REPLAY_BENCH_ROWS=1000000 \
    taskset -c 1 "$bin" | tail -1
}

exec 9>/tmp/routelab-bench.lock
flock 9
echo "| rows | prompt bytes (mean) | log MiB | decode-only rows/s | decode CPU µs/row | replay rows/s | replay CPU µs/row | router µs/row | replay CPU / decode CPU | peak RSS MiB |"
for round in $(seq 1 "$rounds"); do
  echo "# round $round"
  run "new: working tree" "$new_bin"
  run "old: $base" "$old_bin"
done
