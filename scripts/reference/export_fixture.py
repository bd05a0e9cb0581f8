"""Loads a routelab export the two ways a Hugging Face user does and records the logits.

  1. AutoModelForSequenceClassification.from_pretrained(EXPORT): the merged model;
  2. the base model plus PeftModel.from_pretrained(base, EXPORT/adapter): the adapter;
  3. (the old layout's bug, for contrast) the adapter applied on top of the merged model.

Run with the pyref venv (scripts/reference/setup-pyref.sh) on the export that
train/tests/export_reference.rs writes when ROUTELAB_KEEP_EXPORT is set:

  ~/.cache/routelab/pyref/bin/python scripts/reference/export_fixture.py EXPORT --base BASE \
      > train/tests/fixtures/export_reference.json
"""
import argparse
import json
import os
import sys
import warnings

import peft
import torch
import transformers
from peft import PeftModel
from transformers import AutoModelForSequenceClassification, AutoTokenizer

TEXTS = [
    "How do I compute the derivative of x squared?",
    "My invoice was charged twice this month, can I get a refund?",
    "Why does this Rust function fail to compile with a borrow error?",
    "hi",
]


def logits(model, tok):
    model.eval()
    enc = tok(TEXTS, padding=True, return_tensors="pt")
    with torch.no_grad():
        return model(**enc).logits.tolist()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("export")
    ap.add_argument("--base", required=True, help="the base model directory")
    args = ap.parse_args()
    adapter = os.path.join(args.export, "adapter")
    tok = AutoTokenizer.from_pretrained(args.export)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        merged = AutoModelForSequenceClassification.from_pretrained(args.export)
    labels = [merged.config.id2label[i] for i in range(merged.config.num_labels)]
    # The base's own pooler is kept; the head is random until the adapter's copy replaces it.
    base = AutoModelForSequenceClassification.from_pretrained(args.base, num_labels=len(labels))
    with warnings.catch_warnings(record=True) as peft_caught:
        warnings.simplefilter("always")
        with_adapter = PeftModel.from_pretrained(base, adapter)
    twice = PeftModel.from_pretrained(
        AutoModelForSequenceClassification.from_pretrained(args.export), adapter
    )
    json.dump(
        {
            "versions": {
                "torch": torch.__version__,
                "transformers": transformers.__version__,
                "peft": peft.__version__,
            },
            "from_pretrained_warnings": [str(w.message) for w in caught],
            # PEFT's own complaints (missing or unexpected adapter keys), not deprecations.
            "peft_warnings": [str(w.message) for w in peft_caught if w.category is UserWarning],
            "texts": TEXTS,
            "labels": labels,
            "transformers_logits": logits(merged, tok),
            "peft_logits": logits(with_adapter, tok),
            "double_applied_logits": logits(twice, tok),
        },
        sys.stdout,
        indent=1,
    )
    print()


if __name__ == "__main__":
    main()
