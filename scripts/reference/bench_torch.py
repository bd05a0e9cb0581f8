#!/usr/bin/env python3
"""PyTorch reference timing for router-core's `inference` bench (benches/inference.rs).

Same model (all-MiniLM-L6-v2 encoder + the 3-label reference head from
router-core/tests/fixtures/reference/seq_head.safetensors, cls pooling = HF
BertForSequenceClassification), same inputs ("hello" repeated to 16/64/256 tokens, batch 32 x 64
tokens), same thread count, tokenization included (HF fast tokenizer, padding to the longest).

Usage: bench_torch.py [--threads 2] [--model-dir DIR]
Prints one line per case: name, median ms per call, and per-text ms for the batch case.
"""
import argparse
import json
import os
import shutil
import statistics
import tempfile
import time

import torch
from safetensors.numpy import load_file, save_file
from transformers import AutoTokenizer, BertForSequenceClassification

HERE = os.path.dirname(os.path.abspath(__file__))
HEAD = os.path.normpath(os.path.join(HERE, "..", "..", "router-core", "tests", "fixtures", "reference",
                                     "seq_head.safetensors"))
LABELS = ["math", "law", "other"]


def assemble(base, out):
    """MiniLM weights renamed to bert.* + the reference head, as a BertForSequenceClassification dir."""
    cfg = json.load(open(os.path.join(base, "config.json")))
    cfg["architectures"] = ["BertForSequenceClassification"]
    cfg["id2label"] = {str(i): l for i, l in enumerate(LABELS)}
    cfg["label2id"] = {l: i for i, l in enumerate(LABELS)}
    json.dump(cfg, open(os.path.join(out, "config.json"), "w"))
    w = {"bert." + k: v for k, v in load_file(os.path.join(base, "model.safetensors")).items()}
    w.update(load_file(HEAD))
    save_file(w, os.path.join(out, "model.safetensors"))
    for f in ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json"):
        if os.path.exists(os.path.join(base, f)):
            shutil.copy(os.path.join(base, f), out)


def timeit(fn, min_time, min_runs):
    for _ in range(3):
        fn()
    times, start = [], time.perf_counter()
    while len(times) < min_runs or time.perf_counter() - start < min_time:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000.0, len(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--model-dir", default=os.environ.get(
        "ROUTELAB_MODEL_DIR", os.path.expanduser("~/.cache/routelab/models/all-MiniLM-L6-v2")))
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        assemble(args.model_dir, tmp)
        tok = AutoTokenizer.from_pretrained(tmp)
        model = BertForSequenceClassification.from_pretrained(tmp).eval()

    def classify(texts):
        with torch.inference_mode():
            enc = tok(texts, padding=True, truncation=True, max_length=512, return_tensors="pt")
            return torch.softmax(model(**enc).logits, -1)

    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}")
    # Sanity: HF's forward agrees with the numpy reference fixture.
    expected = json.load(open(os.path.join(os.path.dirname(HEAD), "expected.json")))
    first = expected["sentences"][0]
    with torch.inference_mode():
        enc = tok([first["text"]], return_tensors="pt")
        got = model(**enc).logits[0].tolist()
    diff = max(abs(a - b) for a, b in zip(got, first["seq_logits_cls"]))
    print(f"torch vs numpy reference logits: max abs diff {diff:.2e}")
    assert diff < 1e-4
    for n in (16, 64, 256, 16):  # warm-up of every shape (oneDNN picks kernels per shape)
        for _ in range(5):
            classify([" ".join(["hello"] * (n - 2))])
    classify([" ".join(["hello"] * 62)] * 32)
    for n in (16, 64, 256):
        text = " ".join(["hello"] * (n - 2))
        assert len(tok(text)["input_ids"]) == n
        ms, runs = timeit(lambda: classify([text]), 5.0, 30)
        print(f"batch1_seq{n}: {ms:.3f} ms/call (median of {runs})")
    text = " ".join(["hello"] * 62)
    ms, runs = timeit(lambda: classify([text] * 32), 8.0, 10)
    print(f"batch32_seq64: {ms:.3f} ms/call, {ms / 32:.3f} ms/text, {32000.0 / ms:.1f} texts/s (median of {runs})")


if __name__ == "__main__":
    main()
