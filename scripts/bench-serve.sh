#!/usr/bin/env bash
# Load test of `routelab serve` with wrk, on loopback only.
#
# Starts `routelab mock-upstream` and `routelab serve` in front of it,
# then runs wrk at 1, 16 and 64 connections against the upstream directly and through
# routelab, for a rule-only (keyword) config and a model-signal config (embedding similarity
# with all-MiniLM-L6-v2) and a classifier config (the domain LoRA classifier that
# scripts/quickstart.sh trains into models/domain-classifier). Prints one markdown table row per run.
#
# Needs: cargo build --release -p routelab, and wrk.
# Env: DURATION (default 10s), CONNS (default "1 16 64"), MODEL_DIR (default
# $ROUTELAB_MODEL_DIR or ~/.cache/routelab/models/all-MiniLM-L6-v2), DOMAIN_MODEL (default
# models/domain-classifier), CONFIGS (default "rule embedding domain").
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-target/release/routelab}
DURATION=${DURATION:-10s}
CONNS=${CONNS:-"1 16 64"}
CONFIGS=${CONFIGS:-"rule embedding domain"}
DOMAIN_MODEL=$(realpath -m "${DOMAIN_MODEL:-models/domain-classifier}")
MODEL_DIR=${MODEL_DIR:-${ROUTELAB_MODEL_DIR:-$HOME/.cache/routelab/models/all-MiniLM-L6-v2}}
[[ -x $BIN ]] || { echo "missing $BIN: cargo build --release -p routelab" >&2; exit 1; }
if [[ " $CONFIGS " == *" domain "* && ! -f $DOMAIN_MODEL/config.json ]]; then
  echo "no domain classifier at $DOMAIN_MODEL: run scripts/quickstart.sh first (or set DOMAIN_MODEL)" >&2; exit 1
fi
command -v wrk >/dev/null || { echo "wrk not installed" >&2; exit 1; }

WORK=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT

# Starts a process printing "... listening on http://ADDR" first; sets ADDR.
start() {
  local out=$WORK/$1.out; shift
  "$@" >"$out" 2>"$out.err" &
  PIDS+=($!)
  for _ in $(seq 1 600); do
    ADDR=$(sed -n 's/.*listening on http:\/\///p' "$out" | head -1)
    [[ -n $ADDR ]] && return 0
    sleep 0.1
  done
  echo "$* did not start: $(cat "$out.err")" >&2; exit 1
}

start upstream "$BIN" mock-upstream --port 0
UPSTREAM=$ADDR

cat >"$WORK/post.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"model":"auto","temperature":0.2,"messages":[{"role":"system","content":"You are helpful."},{"role":"user","content":"Can you prove that the sum of two even numbers is even?"}]}'
LUA

# The config of a run: `rule` (keyword + context signals), `embedding` (the same plus an
# embedding-similarity signal computed with all-MiniLM-L6-v2 on every request) or `domain` (the
# same plus the domain classifier, run on every request).
write_config() {
  local embedding_signal="" embedding_decision="" catalog=""
  if [[ $1 == embedding ]]; then
    embedding_signal='    embeddings:
      - {name: proof_like, threshold: 0.6, candidates: ["prove this mathematical statement", "show that the theorem holds"]}'
    embedding_decision='    - name: reasoning_route
      priority: 30
      rules: {operator: AND, conditions: [{type: embedding, name: proof_like}]}
      modelRefs: [{model: big, use_reasoning: true}]'
    catalog="global:
  model_catalog:
    embeddings:
      semantic: {bert_model_path: \"$MODEL_DIR\"}"
  elif [[ $1 == domain ]]; then
    embedding_signal='    domains:
      - {name: math, mmlu_categories: [math]}
      - {name: physics, mmlu_categories: [physics]}'
    embedding_decision='    - name: science_route
      priority: 30
      rules: {operator: OR, conditions: [{type: domain, name: math}, {type: domain, name: physics}]}
      modelRefs: [{model: big, use_reasoning: true}]'
    catalog="global:
  model_catalog:
    system: {domain_classifier: \"$DOMAIN_MODEL\"}"
  fi
  cat >"$WORK/$1.yaml" <<YAML
providers:
  defaults:
    default_model: small
    reasoning_families:
      qwen3: {type: chat_template_kwargs, parameter: enable_thinking}
  models:
    - {name: small, reasoning_family: qwen3, provider_model_id: qwen3-8b, backend_refs: [{endpoint: "$UPSTREAM"}]}
    - {name: big, reasoning_family: qwen3, provider_model_id: qwen3-32b, backend_refs: [{endpoint: "$UPSTREAM"}]}
routing:
  signals:
    keywords:
      - {name: math, operator: OR, keywords: [prove, integral, theorem, derivative]}
      - {name: code, operator: OR, keywords: [python, rust, compile, stack trace]}
    context:
      - {name: long, min_tokens: 4K}
$embedding_signal
  decisions:
$embedding_decision
    - name: math_route
      priority: 20
      rules: {operator: OR, conditions: [{type: keyword, name: math}]}
      modelRefs: [{model: big, use_reasoning: true}]
      plugins:
        - {type: system_prompt, configuration: {system_prompt: "You are a mathematician.", mode: insert}}
    - name: code_route
      priority: 10
      rules: {operator: OR, conditions: [{type: keyword, name: code}, {type: context, name: long}]}
      modelRefs: [{model: big}]
$catalog
YAML
}

# Runs wrk and prints "rps p50 p99 non2xx socket_errors" (latencies in microseconds).
run_wrk() {
  local url=$1 conns=$2 threads=$(( $2 < 2 ? 1 : 2 ))
  local out
  out=$(wrk -t"$threads" -c"$conns" -d"$DURATION" --latency -s "$WORK/post.lua" "$url")
  echo "$out" >>"$WORK/wrk.log"
  python3 - "$out" <<'PY'
import re, sys
out = sys.argv[1]
def us(v):
    n, u = re.match(r"([\d.]+)(us|ms|s)", v).groups()
    return float(n) * {"us": 1, "ms": 1e3, "s": 1e6}[u]
rps = re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)
p50 = us(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))
p99 = us(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))
non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
total = re.search(r"(\d+) requests in", out).group(1)
print(rps, round(p50), round(p99), non2xx.group(1) if non2xx else 0,
      sum(map(int, sock.groups())) if sock else 0, total)
PY
}

echo "| config | conns | direct req/s | routelab req/s | direct p50 / p99 (µs) | routelab p50 / p99 (µs) | added p50 / p99 (µs) | requests | non-2xx | socket errors |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for cfg in $CONFIGS; do
  write_config "$cfg"
  start "serve-$cfg" "$BIN" --log-level warn serve --port 0 --config "$WORK/$cfg.yaml" --reload-poll-ms 0
  ROUTER=$ADDR
  for _ in $(seq 1 600); do
    curl -sf "http://$ROUTER/readyz" >/dev/null && break; sleep 0.1
  done
  # Warm-up (connection pools, first inference).
  wrk -t1 -c4 -d2s -s "$WORK/post.lua" "http://$ROUTER/v1/chat/completions" >/dev/null
  for c in $CONNS; do
    read -r d_rps d_p50 d_p99 d_bad d_sock d_total < <(run_wrk "http://$UPSTREAM/v1/chat/completions" "$c")
    read -r r_rps r_p50 r_p99 r_bad r_sock r_total < <(run_wrk "http://$ROUTER/v1/chat/completions" "$c")
    echo "| $cfg | $c | $d_rps | $r_rps | $d_p50 / $d_p99 | $r_p50 / $r_p99 | $((r_p50 - d_p50)) / $((r_p99 - d_p99)) | $r_total | $((r_bad + d_bad)) | $((r_sock + d_sock)) |"
  done
  curl -s "http://$ROUTER/metrics" | grep -E '^routelab_(http_requests_total|decisions_total)' >>"$WORK/metrics.txt"
done
echo
echo "routelab metrics after the runs:"
sed 's/^/    /' "$WORK/metrics.txt"
