#!/usr/bin/env bash
# Idempotent set-up of everything greffier needs on a fresh Debian machine:
# system packages, .venv with the package and its extras, and livekit-server (pinned).
# Fast when everything is already there. Usage: scripts/bootstrap.sh [extras] (default models,test,bench)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
extras="${1:-models,test,bench}"

apt_packages=(espeak-ng sox redis-server)
missing=()
for pkg in "${apt_packages[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if ((${#missing[@]})); then
  if command -v apt-get >/dev/null 2>&1 && [[ $(id -u) == 0 ]]; then
    echo "bootstrap: installing ${missing[*]} with apt-get" >&2
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "bootstrap: please install these system packages: ${missing[*]}" >&2
  fi
fi

python="${PYTHON:-python3}"
if [[ ! -x .venv/bin/python ]]; then
  "$python" -m venv .venv
fi
stamp=".venv/.greffier-install"
want="$(cat pyproject.toml | sha256sum | cut -c1-16)-$extras"
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
  echo "bootstrap: installing Python dependencies into .venv ($extras)" >&2
  .venv/bin/python -m pip install -q --upgrade pip >/dev/null
  .venv/bin/python -m pip install -q -e ".[$extras]"
  echo "$want" > "$stamp"
fi

bash scripts/install-livekit-server.sh
bash scripts/install-browser.sh
bash scripts/install-diarization.sh
