#!/usr/bin/env bash
# Builds livekit-server at a pinned version from the Go module proxy into .tools/bin (git-ignored).
# Reuses the binary when it is already there at the right version.
set -euo pipefail
LIVEKIT_VERSION="${LIVEKIT_VERSION:-v1.13.5}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin_dir="$root/.tools/bin"
target="$bin_dir/livekit-server"
stamp="$bin_dir/livekit-server.version"

if [[ -x "$target" && -f "$stamp" && "$(cat "$stamp")" == "$LIVEKIT_VERSION" ]]; then
  exit 0
fi
if ! command -v go >/dev/null 2>&1; then
  echo "install-livekit-server: Go is required to build livekit-server $LIVEKIT_VERSION (apt-get install golang or see go.dev)" >&2
  exit 1
fi
mkdir -p "$bin_dir"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
echo "building livekit-server $LIVEKIT_VERSION with go install (about 2 minutes the first time)..." >&2
GOBIN="$tmp" GOFLAGS="${GOFLAGS:--buildvcs=false}" go install "github.com/livekit/livekit-server/cmd/server@$LIVEKIT_VERSION"
mv "$tmp/server" "$target"
echo "$LIVEKIT_VERSION" > "$stamp"
echo "livekit-server $LIVEKIT_VERSION installed at $target" >&2
