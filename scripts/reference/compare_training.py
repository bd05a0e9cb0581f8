"""Combine a routelab training report and the PyTorch+PEFT reference into
reports/training/<task>.json and .md (held-out metrics, throughput ratio).

  python3 scripts/reference/compare_training.py domain out/domain/training_report.json \
      reports/training/domain_peft.json "<command used>"
"""
import json
import sys

task, routelab_path, peft_path, command = sys.argv[1:5]
r = json.load(open(routelab_path))
p = json.load(open(peft_path))
rt = r["test"]
ent = (rt.get("entity") or {}).get("f1") if rt else None
rl = {
    "accuracy": rt["classification"]["accuracy"],
    "macro_f1": rt["classification"]["macro_f1"],
    "entity_f1": ent,
    "samples_per_second": r["samples_per_second"],
    "train_seconds": r.get("train_seconds", r["wall_seconds"]),
    "per_class": rt["classification"]["per_class"],
    "confusion": rt["classification"]["confusion"],
}
pt = p["test"]
out = {
    "task": task,
    "command": command,
    "labels": r["labels"],
    "recipe": {k: r["config"][k] for k in ("max_length", "batch_size", "learning_rate", "epochs", "seed", "lora", "pooling")},
    "data": r["data"],
    "routelab": rl,
    "pytorch_peft": {**pt, "samples_per_second": p["samples_per_second"], "train_seconds": p["train_seconds"],
                     "framework": p["framework"], "threads": p["threads"]},
    "accuracy_gap_points": 100 * (rl["accuracy"] - pt["accuracy"]),
    "throughput_ratio_routelab_over_pytorch": rl["samples_per_second"] / p["samples_per_second"],
    "routelab_epochs": r["epochs"],
    "pytorch_epochs": p["epochs"],
}
json.dump(out, open(f"reports/training/{task}.json", "w"), indent=2)
lines = [
    f"# Training: {task}",
    "",
    f"Command: `{command}`",
    "",
    f"Recipe: {json.dumps(out['recipe'])}",
    "",
    "| | routelab (burn, flex CPU) | PyTorch + PEFT |",
    "|---|---|---|",
    f"| test accuracy | {rl['accuracy']:.4f} | {pt['accuracy']:.4f} |",
    f"| test macro-F1 | {rl['macro_f1']:.4f} | {pt['macro_f1']:.4f} |",
]
if ent is not None:
    lines.append(f"| test entity F1 | {ent:.4f} | {pt.get('entity_f1', float('nan')):.4f} |")
lines += [
    f"| train samples/s | {rl['samples_per_second']:.2f} | {p['samples_per_second']:.2f} |",
    f"| train seconds | {rl['train_seconds']:.0f} | {p['train_seconds']:.0f} |",
    "",
    f"Accuracy gap (routelab - PyTorch): {out['accuracy_gap_points']:+.2f} points; "
    f"throughput ratio routelab/PyTorch: {out['throughput_ratio_routelab_over_pytorch']:.2f}.",
    "",
    "Per-class (routelab, test):",
    "",
    "| label | P | R | F1 | support |",
    "|---|---|---|---|---|",
]
for c in rl["per_class"]:
    lines.append(f"| {c['label']} | {c['precision']:.3f} | {c['recall']:.3f} | {c['f1']:.3f} | {c['support']} |")
open(f"reports/training/{task}.md", "w").write("\n".join(lines) + "\n")
print("\n".join(lines[:14]))
