#!/usr/bin/env bash
# Idempotent set-up for the caption viewer (web/) and its real-browser test:
#   1. Debian's Chromium (+ fonts) with apt-get when /usr/bin/chromium is missing;
#   2. `npm ci` in web/ when node_modules is missing or older than package-lock.json;
#   3. the bundle (web/dist: index.html, style.css, viewer.js) when a source file is newer.
# Fast (well under a second) when everything is already there. Needs Node.js >= 20 with npm.
# Usage: scripts/install-browser.sh [--no-browser]   (--no-browser: only npm ci + build)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
web="$root/web"
want_browser=1
[[ "${1:-}" == "--no-browser" ]] && want_browser=0

if ((want_browser)); then
  apt_packages=(chromium fonts-dejavu-core)
  missing=()
  for pkg in "${apt_packages[@]}"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  if ((${#missing[@]})); then
    if command -v apt-get >/dev/null 2>&1 && [[ $(id -u) == 0 ]]; then
      echo "install-browser: installing ${missing[*]} with apt-get (about a minute)" >&2
      apt-get update -qq >/dev/null
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    else
      echo "install-browser: please install these system packages: ${missing[*]}" >&2
      exit 1
    fi
  fi
fi

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "install-browser: Node.js >= 20 and npm are required (apt-get install nodejs npm)" >&2
  exit 1
fi

cd "$web"
marker="node_modules/.package-lock.json"  # written by npm at each install
if [[ ! -f "$marker" || package-lock.json -nt "$marker" || package.json -nt "$marker" ]]; then
  echo "install-browser: npm ci in web/" >&2
  npm ci --no-audit --no-fund --loglevel=error
fi

if [[ ! -f dist/viewer.js || ! -f dist/index.html || ! -f dist/react.js ]] \
   || [[ -n "$(find index.html build.mjs src react package-lock.json -newer dist/viewer.js -print -quit)" ]]; then
  node build.mjs
fi
