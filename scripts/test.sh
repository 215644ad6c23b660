#!/usr/bin/env bash
# Runs the whole test suite (unit + end-to-end with real servers). Called by `make test` and CI.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
for extra in scripts/install-llm-runtime.sh scripts/install-browser.sh; do
  [[ -f "$extra" ]] && bash "$extra"
done
.venv/bin/ruff check agent tests bench
exec .venv/bin/python -m pytest -q -ra --durations=15 "$@"
