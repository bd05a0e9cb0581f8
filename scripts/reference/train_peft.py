"""PyTorch + PEFT reference for `routelab train`: the same recipe (split, LoRA rank/alpha/dropout,
targets, epochs, max length, lr, batch size, AdamW + linear warm-up/decay, global-norm clipping,
CLS pooler + classifier trained in full) on this CPU, for accuracy and throughput comparisons.
The interpreter is the reference venv that scripts/reference/setup-pyref.sh creates.

  ~/.cache/routelab/pyref/bin/python scripts/reference/train_peft.py \
      --task seq --train datasets/samples/domain_train.parquet \
      --validation datasets/samples/domain_validation.parquet \
      --test datasets/samples/domain_test.parquet --epochs 3 --out reports/training/domain_peft.json

With --parity-fixture JSON it does not train: it writes the step-by-step fixture of
train/tests/peft_parity.rs (formula-initialised adapter and head, dropout off, four steps):

  ~/.cache/routelab/pyref/bin/python scripts/reference/train_peft.py --task seq \
      --train datasets/samples/domain_train.parquet --lr 1e-3 \
      --parity-fixture train/tests/fixtures/peft_parity.json

Reference only; routelab never depends on Python.
"""
import argparse
import json
import math
import os
import random
import tempfile
import time

import pyarrow.parquet as pq
import torch
from peft import LoraConfig, get_peft_model
from safetensors import safe_open
from transformers import (AutoTokenizer, BertForSequenceClassification,
                          BertForTokenClassification)

p = argparse.ArgumentParser()
p.add_argument("--task", choices=["seq", "token"], default="seq")
# HF BertForSequenceClassification pools with BERT's pooler (dense + tanh on [CLS]): routelab's
# `pooling: cls`. routelab's `mean` pooling has no HF counterpart, so it is refused here.
p.add_argument("--pooling", choices=["cls"], default="cls")
p.add_argument("--model", default=os.path.expanduser("~/.cache/routelab/models/all-MiniLM-L6-v2"))
p.add_argument("--train", required=True)
p.add_argument("--validation")
p.add_argument("--test")
p.add_argument("--rank", type=int, default=8)
p.add_argument("--alpha", type=float, default=16.0)
p.add_argument("--dropout", type=float, default=0.1)
p.add_argument("--targets", default="query,value",
               help="routelab target names: query,key,value,attention_output,intermediate,output")
p.add_argument("--epochs", type=int, default=3)
p.add_argument("--lr", type=float, default=5e-4)
p.add_argument("--batch-size", type=int, default=16)
p.add_argument("--max-length", type=int, default=128)
p.add_argument("--weight-decay", type=float, default=0.01)
p.add_argument("--warmup-ratio", type=float, default=0.06)
p.add_argument("--max-grad-norm", type=float, default=1.0)
p.add_argument("--seed", type=int, default=42)
p.add_argument("--threads", type=int, default=2)
p.add_argument("--out")
p.add_argument("--parity-fixture", metavar="JSON",
               help="instead of training: write the step-by-step fixture of train/tests/peft_parity.rs")
a = p.parse_args()

torch.manual_seed(a.seed)
random.seed(a.seed)
torch.set_num_threads(a.threads)
tok = AutoTokenizer.from_pretrained(a.model)


def rows(path):
    if path.endswith(".parquet"):
        return pq.read_table(path).to_pylist()
    return [json.loads(l) for l in open(path) if l.strip()]


train_rows = rows(a.train)
if a.task == "seq":
    labels = sorted({r["label"] for r in train_rows})
else:
    tags = sorted({t for r in train_rows for t in r["tags"] if t != "O"})
    labels = (["O"] if any("O" in r["tags"] for r in train_rows) else []) + tags
lid = {l: i for i, l in enumerate(labels)}


def encode(rs):
    out = []
    for r in rs:
        ids = tok(r["text"], add_special_tokens=False)["input_ids"]
        keep = a.max_length - 2
        if a.task == "seq":
            y = lid[r["label"]]
        else:
            assert len(r["tags"]) == len(ids), "tags do not align with word pieces"
            y = [-100] + [lid[t] for t in r["tags"][:keep]] + [-100]
        out.append(([tok.cls_token_id] + ids[:keep] + [tok.sep_token_id], y))
    return out


def batch(items):
    s = max(len(i) for i, _ in items)
    ids = torch.zeros(len(items), s, dtype=torch.long)
    mask = torch.zeros(len(items), s, dtype=torch.long)
    ys = []
    for k, (i, y) in enumerate(items):
        ids[k, : len(i)] = torch.tensor(i)
        mask[k, : len(i)] = 1
        ys.append(y if a.task == "seq" else y + [-100] * (s - len(y)))
    return ids, mask, torch.tensor(ys)


def spans(seq):
    out, cur = [], None
    for i, t in enumerate(seq):
        pre, _, kind = t.partition("-")
        if pre == "I" and cur and cur[0] == kind:
            cur[2] = i + 1
            continue
        if cur:
            out.append(tuple(cur))
        cur = [kind, i, i + 1] if pre in ("B", "I") else None
    if cur:
        out.append(tuple(cur))
    return out


def prf(tp, fp, fn):
    pr = tp / (tp + fp) if tp + fp else 0.0
    rc = tp / (tp + fn) if tp + fn else 0.0
    return pr, rc, (2 * pr * rc / (pr + rc) if pr + rc else 0.0)


def evaluate(model, data):
    model.eval()
    gold, pred, gs, ps = [], [], [], []
    with torch.no_grad():
        for k in range(0, len(data), 32):
            chunk = data[k : k + 32]
            ids, mask, y = batch(chunk)
            logits = model(input_ids=ids, attention_mask=mask).logits
            if a.task == "seq":
                gold += y.tolist()
                pred += logits.argmax(-1).tolist()
            else:
                am = logits.argmax(-1)
                for r in range(len(chunk)):
                    g = [(t, int(am[r, j])) for j, t in enumerate(y[r].tolist()) if t != -100]
                    gold += [t for t, _ in g]
                    pred += [q for _, q in g]
                    gs.append([labels[t] for t, _ in g])
                    ps.append([labels[q] for _, q in g])
    model.train()
    n = len(labels)
    f1s = []
    for c in range(n):
        tp = sum(1 for g, q in zip(gold, pred) if g == c and q == c)
        sup = sum(1 for g in gold if g == c)
        prd = sum(1 for q in pred if q == c)
        if sup + prd:
            f1s.append(prf(tp, prd - tp, sup - tp)[2])
    out = {
        "accuracy": sum(g == q for g, q in zip(gold, pred)) / max(len(gold), 1),
        "macro_f1": sum(f1s) / len(f1s) if f1s else 0.0,
    }
    if a.task == "token":
        tp = fp = fn = 0
        for g, q in zip(gs, ps):
            G, P = set(spans(g)), set(spans(q))
            tp += len(G & P)
            fp += len(P - G)
            fn += len(G - P)
        out["entity_f1"] = prf(tp, fp, fn)[2]
    return out


# routelab target names -> module paths inside encoder.layer.N (as train/src/lora.rs hf_path).
HF_PATHS = {"query": r"attention\.self\.query", "key": r"attention\.self\.key",
            "value": r"attention\.self\.value", "attention_output": r"attention\.output\.dense",
            "intermediate": r"intermediate\.dense", "output": r"output\.dense"}


def peft_targets(names):
    """A full-match regex for PEFT: suffix matching would let `output.dense` also hit
    `attention.output.dense` and the pooler."""
    unknown = [n for n in names if n not in HF_PATHS]
    if unknown:
        raise SystemExit(f"--targets: unknown {unknown}; use {sorted(HF_PATHS)}")
    return r".*encoder\.layer\.\d+\.(?:" + "|".join(HF_PATHS[n] for n in names) + ")"


cls = BertForSequenceClassification if a.task == "seq" else BertForTokenClassification
if a.parity_fixture:
    # Dropout off everywhere, so that both frameworks compute the same function.
    a.dropout = 0.0
    base = cls.from_pretrained(a.model, num_labels=len(labels), hidden_dropout_prob=0.0,
                               attention_probs_dropout_prob=0.0)
else:
    base = cls.from_pretrained(a.model, num_labels=len(labels))
save = ["classifier", "pooler"] if a.task == "seq" else ["classifier"]
cfg = LoraConfig(r=a.rank, lora_alpha=a.alpha, lora_dropout=a.dropout,
                 target_modules=peft_targets(a.targets.split(",")), modules_to_save=save,
                 task_type="SEQ_CLS" if a.task == "seq" else "TOKEN_CLS")
model = get_peft_model(base, cfg)
model.train()
train = encode(train_rows)
val = encode(rows(a.validation)) if a.validation else None
test = encode(rows(a.test)) if a.test else None
params = [p for p in model.parameters() if p.requires_grad]
opt = torch.optim.AdamW(params, lr=a.lr, weight_decay=a.weight_decay, eps=1e-8)
steps_per_epoch = math.ceil(len(train) / a.batch_size)
total = steps_per_epoch * a.epochs
warm = math.ceil(a.warmup_ratio * total)
sched = torch.optim.lr_scheduler.LambdaLR(
    opt, lambda s: s / max(1, warm) if s < warm else max(0.0, (total - s) / max(1, total - warm)))


def formula(n, offset, scale):
    """Deterministic initial values (row-major, HF layout) shared with train/tests/peft_parity.rs."""
    return torch.tensor([scale * math.sin(0.731 * k + offset) for k in range(n)], dtype=torch.float32)


def write_parity_fixture(path, n_steps=4, bs=4):
    """Runs n_steps optimizer steps on the first n_steps*bs training rows (file order, no dropout)
    from formula-initialised LoRA A / classifier (B = 0, pooler from the checkpoint), recording the
    loss, pre-clip gradient norm and learning rate of each step and the final eval logits."""
    targets = a.targets.split(",")
    with torch.no_grad():
        for name, prm in model.named_parameters():
            if not prm.requires_grad:
                continue
            if ".lora_A." in name:
                layer = int(name.split("layer.")[1].split(".")[0])
                offset = 0.5 * layer + 0.25 * targets.index(name.split(".lora_A.")[0].split(".")[-1])
                prm.copy_(formula(prm.numel(), offset, 0.05).reshape(prm.shape))
            elif "classifier" in name and name.endswith("weight"):
                prm.copy_(formula(prm.numel(), 1.0, 0.02).reshape(prm.shape))
    data = train[: n_steps * bs]
    total_p, warm_p = n_steps, math.ceil(a.warmup_ratio * n_steps)
    sch = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: s / max(1, warm_p) if s < warm_p else max(0.0, (total_p - s) / max(1, total_p - warm_p)))
    steps = []
    for k in range(n_steps):
        ids, mask, y = batch(data[k * bs : (k + 1) * bs])
        logits = model(input_ids=ids, attention_mask=mask).logits
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, len(labels)), y.reshape(-1), ignore_index=-100)
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(params, a.max_grad_norm)
        lr = opt.param_groups[0]["lr"]
        opt.step()
        sch.step()
        opt.zero_grad()
        steps.append({"lr": lr, "loss": loss.item(), "grad_norm": float(norm)})
    model.eval()
    with torch.no_grad():
        ids, mask, _ = batch(data[:bs])
        final = model(input_ids=ids, attention_mask=mask).logits
    fixture = {
        "about": "scripts/reference/train_peft.py --parity-fixture: PyTorch + PEFT, no dropout",
        "framework": f"torch {torch.__version__} + peft",
        "recipe": {"rank": a.rank, "alpha": a.alpha, "targets": targets, "lr": a.lr,
                   "weight_decay": a.weight_decay, "warmup_ratio": a.warmup_ratio,
                   "max_grad_norm": a.max_grad_norm, "batch_size": bs, "max_length": a.max_length},
        "labels": labels,
        "examples": [{"text": r["text"], "label": r["label"]} for r in train_rows[: n_steps * bs]],
        "steps": steps,
        "final_logits": final.reshape(bs, -1).tolist(),
    }
    json.dump(fixture, open(path, "w"), indent=1)
    print(json.dumps(steps))


if a.parity_fixture:
    write_parity_fixture(a.parity_fixture)
    raise SystemExit(0)
history, samples, train_time = [], 0, 0.0
rng = random.Random(a.seed)
for epoch in range(a.epochs):
    order = list(range(len(train)))
    rng.shuffle(order)
    t0, losses = time.time(), []
    for k in range(0, len(order), a.batch_size):
        ids, mask, y = batch([train[i] for i in order[k : k + a.batch_size]])
        logits = model(input_ids=ids, attention_mask=mask).logits
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, len(labels)), y.reshape(-1), ignore_index=-100)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, a.max_grad_norm)
        opt.step()
        sched.step()
        opt.zero_grad()
        losses.append(loss.item())
        samples += ids.shape[0]
    train_time += time.time() - t0
    rec = {"epoch": epoch + 1, "train_loss": sum(losses) / len(losses)}
    if val:
        rec["validation"] = evaluate(model, val)
    history.append(rec)
    print(json.dumps(rec), flush=True)
with tempfile.TemporaryDirectory() as d:
    model.save_pretrained(d)
    with safe_open(os.path.join(d, "adapter_model.safetensors"), "pt") as f:
        keys = sorted(f.keys())
report = {
    "framework": f"torch {torch.__version__} + peft",
    "threads": a.threads,
    "args": vars(a),
    "labels": labels,
    "epochs": history,
    "test": evaluate(model, test) if test else None,
    "samples_per_second": samples / train_time,
    "train_seconds": train_time,
    "peft_adapter_keys_sample": [k for k in keys if "layer.0." in k or "classifier" in k or "pooler" in k],
}
print(json.dumps(report["test"]), "samples/s", round(report["samples_per_second"], 2))
if a.out:
    json.dump(report, open(a.out, "w"), indent=2)
