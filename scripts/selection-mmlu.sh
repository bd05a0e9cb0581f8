#!/usr/bin/env bash
# Learned model selection on the full RouteLLM MMLU log (14,037 requests after contamination,
# Mixtral-8x7B vs GPT-4): builds the log, trains the knn, mlp and mf selectors on the same
# seeded split (the embeddings are computed once, into the signal store, and read back by the
# other runs), replays each test split through its exported config, calibrates each selector
# on its validation split for 20%, 50% and 80% GPT-4 calls and replays the test split at each
# (target vs achieved share), and writes reports/selection/mmlu.md from the reports.
#
#   ./scripts/selection-mmlu.sh [work-dir]     # default runs/selection-mmlu
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${CARGO_TARGET_DIR:-target}/release/routelab"
[ -x "$bin" ] || { echo "build first: cargo build --release -p routelab" >&2; exit 2; }
work=${1:-runs/selection-mmlu}
mkdir -p "$work"
log="$work/routing_log.parquet"
[ -f "$log" ] || "$bin" datasets build routing-log --out "$work" > "$work/build.log"
echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; $(date -u +%FT%TZ)" | tee "$work/machine.txt"
for m in knn mlp mf; do
  /usr/bin/time -f "%e s wall, %M KB peak" -o "$work/$m.time" \
    "$bin" --log-level error train --task selection --method "$m" --log "$log" --output "$work/$m" \
    --signals "$work/signals" | tee "$work/$m.out"
  cat "$work/$m.time"
  "$bin" eval --config "$work/$m/routing.yaml" --log "$work/$m/test.parquet" --out "$work/$m-eval" \
    --signals "$work/signals" --no-progress > "$work/$m-eval.out"
  head -2 "$work/$m-eval.out"
  for share in 0.2 0.5 0.8; do
    "$bin" calibrate --config "$work/$m/routing.yaml" --log "$work/$m/validation.parquet" \
      --target "strong_share=$share" --out "$work/$m-cal-$share.yaml" --signals "$work/signals" > /dev/null
    "$bin" eval --config "$work/$m-cal-$share.yaml" --log "$work/$m/test.parquet" \
      --out "$work/$m-cal-$share" --signals "$work/signals" --no-progress > /dev/null
  done
done
python3 - "$work" > reports/selection/mmlu.md <<'EOF'
import json, sys, pathlib
w = pathlib.Path(sys.argv[1])
machine = (w / "machine.txt").read_text().strip()
print("# Learned model selection on the RouteLLM MMLU log\n")
print("Written by `./scripts/selection-mmlu.sh` (" + machine + "). Test split only: never seen by")
print("training, early stopping or the default threshold. Random = the zero router (APGR 0.5);")
print("oracle = GPT-4 exactly where it is right and Mixtral is not.\n")
print("| method | test requests | APGR | CPT(50%) | CPT(80%) | AIQ | random APGR / AIQ | oracle APGR / AIQ | embed / fit / wall |")
print("|---|---|---|---|---|---|---|---|---|")
for m in ["knn", "mlp", "mf"]:
    r = json.loads((w / m / "training_report.json").read_text())
    t = r["test"]
    pct = lambda v: "n/a" if v is None else f"{100 * v:.1f}%"
    wall = (w / f"{m}.time").read_text().split()[0]
    secs = f"{r['seconds']['embed']:.0f} s / {r['seconds']['fit']:.1f} s / {float(wall):.0f}"
    extra = f" (k={json.loads((w / m / 'selector.json').read_text()).get('k')})" if m == "knn" else ""
    print(f"| {m}{extra} | {t['requests']} | {t['apgr']:.4f} | {pct(t['cpt50'])} | {pct(t['cpt80'])} | "
          f"{t['aiq']:.4f} | {t['random_apgr']:.2f} / {t['random_aiq']:.4f} | "
          f"{t['oracle_apgr']:.4f} / {t['oracle_aiq']:.4f} | {secs} s |")
r = json.loads((w / "knn" / "training_report.json").read_text())
s = r["split"]
print(f"\nSplit by request id (seed {s['seed']}): train {s['train']}, validation {s['validation']}, test {s['test']}; "
      f"{r['log']['left_out']} rows left out. Embedding model {r['embedding']['name']} ({r['embedding']['dim']} dims).")
print("The first run (knn) embeds the log into the work folder's signal store; mlp and mf read those embeddings back,")
print("so their embed time is the store read. A cold run in an empty work folder shows the encoder pass.\n")
print("Default threshold of each `routing.yaml` (strong share 0.5 on the validation split) and what the test split")
print("does with it (`routelab eval --config <method>/routing.yaml --log <method>/test.parquet` reproduces it):\n")
print("| method | threshold | validation strong share | test strong share | test quality | test USD / 1k |")
print("|---|---|---|---|---|---|")
for m in ["knn", "mlp", "mf"]:
    r = json.loads((w / m / "training_report.json").read_text())
    c, a = r["calibration"], r["test_at_threshold"]
    print(f"| {m} | {c['set'].split('=')[1][:8]} | {c['achieved']:.3f} | {a['strong_share']:.3f} | {a['quality']:.4f} | {a['cost_per_1k']:.4f} |")
print("\nCalibration error: `routelab calibrate --log <method>/validation.parquet --target strong_share=X`, then")
print("`routelab eval` of the calibrated config on the test split; GPT-4 share of the test split:\n")
print("| method | target 0.2 | target 0.5 | target 0.8 | mean abs. error |")
print("|---|---|---|---|---|")
for m in ["knn", "mlp", "mf"]:
    got = []
    for share in ["0.2", "0.5", "0.8"]:
        rep = json.loads((w / f"{m}-cal-{share}" / "report.json").read_text())
        strong = next((x["share"] for x in rep["per_model"] if x["key"] == "gpt-4-1106-preview"), 0.0)
        got.append((float(share), strong))
    err = sum(abs(a - b) for a, b in got) / len(got)
    print(f"| {m} | " + " | ".join(f"{b:.3f}" for _, b in got) + f" | {err:.3f} |")
EOF
echo "wrote reports/selection/mmlu.md"
