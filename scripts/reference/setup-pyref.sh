#!/usr/bin/env bash
# Creates the Python reference environment that the reference fixtures and the PyTorch side of
# the benchmarks use: ~/.cache/routelab/pyref (or $ROUTELAB_CACHE/pyref), pinned versions from
# PyPI. Idempotent: an environment that already holds these versions is left as it is.
#
#   ./scripts/reference/setup-pyref.sh          # then: ~/.cache/routelab/pyref/bin/python ...
#
# torch comes from PyPI as published (its CUDA libraries are dependencies there; on a machine
# without a GPU it runs on the CPU). About 3 GB to download.
set -euo pipefail

cache="${ROUTELAB_CACHE:-$HOME/.cache/routelab}"
venv="$cache/pyref"
pins=(
  torch==2.15.0
  transformers==5.24.0
  peft==0.21.2
  tokenizers==0.23.3
  safetensors==0.8.0
  numpy==2.4.6
)

if [[ -x "$venv/bin/python" ]] && "$venv/bin/python" - "${pins[@]}" <<'PY'
import sys
from importlib.metadata import version, PackageNotFoundError
for pin in sys.argv[1:]:
    name, want = pin.split("==")
    try:
        if version(name) != want:
            sys.exit(1)
    except PackageNotFoundError:
        sys.exit(1)
PY
then
  echo "pyref: $venv already holds ${pins[*]}"
  exit 0
fi

python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet "${pins[@]}"
"$venv/bin/python" -c 'import torch, transformers, peft; print("pyref:", torch.__version__, transformers.__version__, peft.__version__)'
echo "pyref: ready at $venv"
