#!/usr/bin/env bash
# Fetch the sample speech used by tests, the demo and the benchmark into the git-ignored cache
# (.tools/samples, or $GREFFIER_CACHE_DIR/samples), so later runs work offline.
# Needs: network access to PyPI (pip download of the pyannote.audio wheel, no dependencies).
# Synthetic speech additionally needs the Debian packages espeak-ng and sox.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-.venv/bin/python}"
"$PYTHON" -m agent.samples "$@"
if ! command -v espeak-ng >/dev/null; then
  echo "note: espeak-ng is not installed; synthetic-speech tests will be skipped (apt-get install espeak-ng sox)" >&2
fi
