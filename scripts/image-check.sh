#!/usr/bin/env bash
# Build the greffier image for real and run it as an operator would (`make image-check`).
#
# Where no registry for base images is reachable, the base is built from Debian's own packages:
# debootstrap bookworm (python3 3.11, python3-venv, python-is-python3, ca-certificates, passwd,
# tzdata), imported into podman once and cached as $IMAGE_CHECK_BASE, then brought up to date from
# bookworm-updates and bookworm-security. The Dockerfile is built on it unchanged
# (--build-arg PYTHON_IMAGE=<that base>; pip fetches deploy/requirements.lock from PyPI, so the
# build uses the host network). Then scripts/image_room_check.py runs the image read-only as uid
# 10001 against a test livekit-server and checks health, captions, metrics and minutes.
#
# Not in `make test`/CI: it downloads several hundred MB and takes minutes. Needs root (debootstrap,
# podman's default storage). Idempotent: the base and the build's layers are reused, containers
# are removed. Exit status non-zero on any failure.
#
# Settings (environment): IMAGE_CHECK_DIR (work folder, default /var/tmp/greffier-image-check),
# IMAGE_CHECK_BASE (default localhost/greffier-base:bookworm), IMAGE_CHECK_IMAGE (default
# localhost/greffier:image-check), IMAGE_CHECK_STORAGE_DRIVER (overlay|vfs, default: overlay if it
# works, else vfs), IMAGE_CHECK_MODEL (WHISPER_MODEL in the container, default base),
# IMAGE_CHECK_REBUILD_BASE=1 (debootstrap again), DEBIAN_MIRROR (default http://deb.debian.org/debian).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
WORK="${IMAGE_CHECK_DIR:-/var/tmp/greffier-image-check}"
BASE="${IMAGE_CHECK_BASE:-localhost/greffier-base:bookworm}"
IMAGE="${IMAGE_CHECK_IMAGE:-localhost/greffier:image-check}"
MODEL="${IMAGE_CHECK_MODEL:-base}"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
PY="$ROOT/.venv/bin/python"
START=$(date +%s)
declare -a TIMINGS=()

say() { printf '== %s\n' "$*"; }
die() { printf 'image-check: %s\n' "$*" >&2; exit 1; }
CURRENT="setup"
step() {  # step NAME COMMAND...: run (set -e applies inside), time, and record it
    local name="$1" t0
    shift
    CURRENT="$name"
    t0=$(date +%s)
    say "$name"
    "$@"
    TIMINGS+=("$(printf '%-28s %5ss' "$name" $(($(date +%s) - t0)))")
}
trap 'rc=$?; [ "$rc" -eq 0 ] || echo "image-check: FAILED in step \"$CURRENT\" (exit $rc); logs in $WORK" >&2' EXIT

[ "$(id -u)" -eq 0 ] || die "run as root (debootstrap and podman's storage need it)"
[ -x "$PY" ] || die "no .venv: run make bootstrap first"
mkdir -p "$WORK"

install_tools() {
    local missing=()
    command -v podman >/dev/null || missing+=(podman crun conmon slirp4netns uidmap netavark aardvark-dns)
    command -v debootstrap >/dev/null || missing+=(debootstrap)
    command -v espeak-ng >/dev/null || missing+=(espeak-ng)  # the test speech
    if [ "${#missing[@]}" -gt 0 ]; then
        echo "installing: ${missing[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
    fi
    podman --version
}

# overlay first (podman's default here); vfs (a full copy per layer: slower, more disk) where
# overlay is not available. vfs gets a store of its own: podman refuses a store made by another
# driver ("database configuration mismatch").
pick_storage() {
    local driver="${IMAGE_CHECK_STORAGE_DRIVER:-}" found
    if [ -z "$driver" ]; then
        found=$(podman info --format '{{.Store.GraphDriverName}}' 2>"$WORK/storage.err" || true)
        if [ "$found" = overlay ]; then
            driver=overlay
        else
            echo "overlay storage unavailable (${found:-$(tail -1 "$WORK/storage.err")}); using vfs"
            driver=vfs
        fi
    fi
    if [ "$driver" = overlay ]; then
        PODMAN=(podman)
    else
        PODMAN=(podman --storage-driver vfs --root "$WORK/storage-vfs" --runroot /run/greffier-image-check-vfs)
    fi
    echo "storage driver: $driver ($("${PODMAN[@]}" info --format '{{.Store.GraphRoot}}'))"
}

# The Debian root filesystem, imported as $BASE-raw (kept: the slow, downloading half).
debootstrap_base() {
    if [ "${IMAGE_CHECK_REBUILD_BASE:-0}" = 1 ]; then
        "${PODMAN[@]}" rmi -f "$BASE" "$BASE-raw" >/dev/null 2>&1 || true
    fi
    if "${PODMAN[@]}" image exists "$BASE-raw"; then
        echo "cached: $BASE-raw ($("${PODMAN[@]}" image inspect -f '{{.Created}}' "$BASE-raw" | cut -c1-19))"
        return 0
    fi
    # A finished debootstrap stays in $WORK/rootfs until it is imported, so a failure after it
    # does not download it again.
    local rootfs="$WORK/rootfs"
    if [ ! -x "$rootfs/usr/bin/python3" ]; then
        rm -rf "$rootfs" "$rootfs.partial"
        nice debootstrap --variant=minbase \
            --include=python3,python3-venv,python-is-python3,ca-certificates,passwd,tzdata \
            bookworm "$rootfs.partial" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 \
            || { tail -20 "$WORK/debootstrap.log"; return 1; }
        mv "$rootfs.partial" "$rootfs"
    fi
    printf 'deb %s bookworm main\ndeb %s bookworm-updates main\ndeb %s bookworm-security main\n' \
        "$MIRROR" "$MIRROR" "${MIRROR%/debian}/debian-security" >"$rootfs/etc/apt/sources.list"
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
    tar -C "$rootfs" --numeric-owner -c . \
        | "${PODMAN[@]}" import --change 'ENV LANG=C.UTF-8' --change 'CMD ["python3"]' - "$BASE-raw"
    rm -rf "$rootfs"
}

# podman's defaults first (crun). Where they cannot start a container (this VM: crun 1.8 refuses
# hybrid cgroups, and root lacks CAP_SYS_RESOURCE, so podman's default rlimits, nofile 1048576,
# cannot be set), runc with rlimits the host allows. RUNTIME_OPTS go to every build and run.
pick_runtime() {
    RUNTIME_OPTS=()
    if "${PODMAN[@]}" run --rm --network host "$BASE-raw" true 2>"$WORK/runtime.err"; then
        echo "runtime: podman's default"
        return 0
    fi
    echo "default runtime cannot start a container: $(tail -1 "$WORK/runtime.err")"
    if ! command -v runc >/dev/null; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends runc
    fi
    local nofile nproc
    nofile=$(ulimit -Hn)
    nproc=$(ulimit -Hu)
    if [ "$nofile" = unlimited ] || [ "$nofile" -gt 65536 ]; then nofile=65536; fi
    if [ "$nproc" = unlimited ] || [ "$nproc" -gt 16384 ]; then nproc=16384; fi
    RUNTIME_OPTS=(--runtime runc --ulimit "nofile=$nofile:$nofile" --ulimit "nproc=$nproc:$nproc")
    if ! "${PODMAN[@]}" run --rm --network host "${RUNTIME_OPTS[@]}" "$BASE-raw" true 2>"$WORK/runtime.err"; then
        cat "$WORK/runtime.err"
        return 1
    fi
    echo "runtime: ${RUNTIME_OPTS[*]}"
}

# Security and point-release updates on top, in a layer of their own: $BASE.
update_base() {
    if "${PODMAN[@]}" image exists "$BASE"; then
        echo "cached: $BASE ($("${PODMAN[@]}" image inspect -f '{{.Created}}' "$BASE" | cut -c1-19))"
        return 0
    fi
    printf '%s\n' "FROM $BASE-raw" \
        'RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get -y upgrade \' \
        ' && apt-get clean && rm -rf /var/lib/apt/lists/* \' \
        ' && python --version && python -m venv --help >/dev/null' >"$WORK/Containerfile.base"
    if ! nice "${PODMAN[@]}" build "${RUNTIME_OPTS[@]}" --network host --pull=never \
        -t "$BASE" -f "$WORK/Containerfile.base" "$WORK" >"$WORK/base-update.log" 2>&1; then
        tail -30 "$WORK/base-update.log"
        return 1
    fi
    grep -E '^(Python|Successfully tagged)|upgraded,' "$WORK/base-update.log"
}

build_image() {
    # This machine reaches PyPI through a TLS-inspecting proxy: its CA bundle is bind-mounted into
    # the build's RUN steps (not copied into the image). Harmless where the public CAs suffice.
    local ca=()
    [ -f /etc/ssl/certs/ca-certificates.crt ] \
        && ca=(-v /etc/ssl/certs/ca-certificates.crt:/etc/ssl/certs/ca-certificates.crt:ro)
    # VARIANT=cpu is passed although it is the default: buildah 1.28 (Debian 12's, under podman 4.3)
    # resolves `FROM base-${VARIANT}` to a stage only when the arg is given on the command line
    # (containers/buildah#4312); otherwise it looks for an image named base-cpu.
    # pipefail: the pipeline fails when the build does (grep always sees STEP lines otherwise).
    if ! nice "${PODMAN[@]}" build "${RUNTIME_OPTS[@]}" --format docker --network host --pull=never --layers \
        "${ca[@]}" --build-arg VARIANT=cpu --build-arg PYTHON_IMAGE="$BASE" -t "$IMAGE" -f Dockerfile . 2>&1 \
        | tee "$WORK/build.log" | grep --line-buffered -E '^(\[[0-9]+/[0-9]+] )?(STEP|COMMIT|Error|error)'; then
        tail -30 "$WORK/build.log"
        return 1
    fi
    "${PODMAN[@]}" image inspect -f 'image {{.Id}}: {{.Size}} bytes, user {{.Config.User}}, healthcheck {{if .Config.Healthcheck}}set{{else}}MISSING{{end}}' "$IMAGE" \
        | cut -c1-200
}

room_check() {
    PYTHONPATH="$ROOT" "$PY" "$ROOT/scripts/image_room_check.py" "$IMAGE" "$WORK" \
        --podman "${PODMAN[*]}" --run-opts "${RUNTIME_OPTS[*]}" --model "$MODEL"
}

step "tools" install_tools
step "storage" pick_storage
step "base (debootstrap)" debootstrap_base
step "runtime" pick_runtime
step "base (updates)" update_base
step "build Dockerfile" build_image
step "run and check" room_check

say "timings"
printf '  %s\n' "${TIMINGS[@]}"
printf '  %-28s %5ss\n' "total" $(($(date +%s) - START))
echo "image-check: passed ($IMAGE on $BASE)"
