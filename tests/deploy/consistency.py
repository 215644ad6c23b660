"""Cross-file checks that a schema cannot make (run by scripts/validate-deploy.sh with PyYAML).

Usage: consistency.py RENDERED_K8S.yaml...  (kustomize outputs of deploy/k8s and its overlays)

- the grace period outlasts the drain plus the time the last minutes take (LLM + delivery);
- probes hit the livekit-agents health port (HEALTH_PORT), metrics the PROMETHEUS_PORT;
- the pod runs as the image's non-root user with a read-only root filesystem, /tmp and DATA_DIR
  writable; the HPA, PDB and Service select the Deployment's pods;
- compose: stop_grace_period outlasts --drain-timeout, and the agent's DATA_DIR is a volume.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
MINUTES_MARGIN_S = 300  # building + delivering the last minutes after the drain ends
errors: list[str] = []


def check(cond: bool, message: str) -> None:
    if not cond:
        errors.append(message)


def duration_s(text: str) -> float:
    """Compose durations: 1h30m, 35m, 90s, 2100 (seconds)."""
    text = str(text).strip()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    units = {"h": 3600, "m": 60, "s": 1, "ms": 0.001, "us": 1e-6}
    parts = re.findall(r"(\d+(?:\.\d+)?)(h|ms|us|m|s)", text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"not a duration: {text!r}")
    return sum(float(n) * units[u] for n, u in parts)


def default_of(value: str) -> str:
    """`${VAR:-default}` -> default (compose interpolation with the file's own default)."""
    m = re.fullmatch(r"\$\{\w+:?-([^}]*)\}", str(value).strip())
    return m.group(1) if m else str(value)


def dockerfile_user() -> int:
    users = re.findall(r"^USER\s+(\d+)", (ROOT / "Dockerfile").read_text(), re.M)
    return int(users[-1].split(":")[0]) if users else -1


def check_k8s(path: Path) -> None:
    docs = [d for d in yaml.safe_load_all(path.read_text()) if d]
    by_kind: dict[str, list[dict]] = {}
    for d in docs:
        by_kind.setdefault(d["kind"], []).append(d)
    where = path.name
    deps = [d for d in by_kind.get("Deployment", []) if d["metadata"]["name"] == "greffier"]
    cms = [c for c in by_kind.get("ConfigMap", []) if c["metadata"]["name"] == "greffier-config"]
    check(len(deps) == 1 and len(cms) == 1, f"{where}: expected the greffier Deployment and ConfigMap")
    if not deps or not cms:
        return
    dep, cfg = deps[0], cms[0]["data"]
    pod = dep["spec"]["template"]["spec"]
    pod_labels = dep["spec"]["template"]["metadata"]["labels"]
    (ctr,) = [c for c in pod["containers"] if c["name"] == "greffier"]

    drain = int(cfg["DRAIN_TIMEOUT"])
    grace = int(pod.get("terminationGracePeriodSeconds", 30))
    check(
        grace >= drain + MINUTES_MARGIN_S,
        f"{where}: terminationGracePeriodSeconds={grace} < DRAIN_TIMEOUT {drain} + {MINUTES_MARGIN_S}s",
    )
    check(
        "$(DRAIN_TIMEOUT)" in ctr.get("args", []), f"{where}: args must pass --drain-timeout $(DRAIN_TIMEOUT)"
    )
    ports = {p["name"]: p["containerPort"] for p in ctr["ports"]}
    check(ports.get("health") == int(cfg["HEALTH_PORT"]), f"{where}: health port != HEALTH_PORT")
    check(ports.get("metrics") == int(cfg["PROMETHEUS_PORT"]), f"{where}: metrics port != PROMETHEUS_PORT")
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        get = ctr.get(probe, {}).get("httpGet", {})
        check(get.get("port") in ("health", int(cfg["HEALTH_PORT"])), f"{where}: {probe} not on health port")
        check(get.get("path") == "/", f"{where}: {probe} must GET / (livekit-agents health)")

    psc, csc = pod.get("securityContext", {}), ctr.get("securityContext", {})
    check(psc.get("runAsNonRoot") is True, f"{where}: runAsNonRoot")
    check(psc.get("runAsUser") == dockerfile_user(), f"{where}: runAsUser != Dockerfile USER")
    check(csc.get("readOnlyRootFilesystem") is True, f"{where}: readOnlyRootFilesystem")
    check(csc.get("allowPrivilegeEscalation") is False, f"{where}: allowPrivilegeEscalation")
    mounts = {m["mountPath"]: m["name"] for m in ctr.get("volumeMounts", [])}
    check(cfg["DATA_DIR"] in mounts, f"{where}: DATA_DIR {cfg['DATA_DIR']} is not a volume")
    check("/tmp" in mounts, f"{where}: /tmp is not a volume (read-only root filesystem)")
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    data_vol = volumes.get(mounts.get(cfg["DATA_DIR"], ""), {})
    claim = data_vol.get("persistentVolumeClaim", {}).get("claimName")
    if claim:
        pvcs = {p["metadata"]["name"]: p for p in by_kind.get("PersistentVolumeClaim", [])}
        check(claim in pvcs, f"{where}: PVC {claim} missing")
        if claim in pvcs:
            modes = pvcs[claim]["spec"]["accessModes"]
            check("ReadWriteMany" in modes, f"{where}: DATA_DIR PVC shared by all pods must be ReadWriteMany")
    else:
        check("emptyDir" in data_vol, f"{where}: DATA_DIR must be a PVC or an emptyDir")

    def selects(selector: dict) -> bool:
        return bool(selector) and all(pod_labels.get(k) == v for k, v in selector.items())

    for hpa in by_kind.get("HorizontalPodAutoscaler", []):
        ref = hpa["spec"]["scaleTargetRef"]
        check(ref["kind"] == "Deployment" and ref["name"] == "greffier", f"{where}: HPA target")
        names = [m.get("pods", {}).get("metric", {}).get("name") for m in hpa["spec"]["metrics"]]
        check("greffier_worker_load" in names, f"{where}: HPA must scale on greffier_worker_load")
        check(any(m["type"] == "Resource" for m in hpa["spec"]["metrics"]), f"{where}: HPA CPU fallback")
    check(len(by_kind.get("HorizontalPodAutoscaler", [])) == 1, f"{where}: one HPA")
    pdbs = by_kind.get("PodDisruptionBudget", [])
    check(len(pdbs) == 1 and selects(pdbs[0]["spec"]["selector"]["matchLabels"]), f"{where}: PDB selector")
    for svc in by_kind.get("Service", []):
        check(selects(svc["spec"]["selector"]), f"{where}: Service {svc['metadata']['name']} selector")


def check_compose() -> None:
    compose = yaml.safe_load((ROOT / "deploy/compose.yaml").read_text())
    env = {}
    for line in (ROOT / "deploy/compose.env.example").read_text().splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            k, v = line.split("=", 1)
            env[k.strip()] = v.strip()
    agent = compose["services"]["agent"]
    cmd = agent["command"]
    drain = int(default_of(cmd[cmd.index("--drain-timeout") + 1]))
    grace = duration_s(default_of(agent["stop_grace_period"]))
    check(grace >= drain + MINUTES_MARGIN_S, f"compose: stop_grace_period {grace}s < drain {drain}s + margin")
    env_drain = int(env.get("GREFFIER_DRAIN_TIMEOUT", drain))
    env_grace = duration_s(env.get("GREFFIER_STOP_GRACE_PERIOD", str(grace)))
    check(env_grace >= env_drain + MINUTES_MARGIN_S, "compose.env.example: grace period < drain + margin")
    data_dir = agent["environment"]["DATA_DIR"]
    check(any(str(v).split(":")[1] == data_dir for v in agent["volumes"]), "compose: DATA_DIR not a volume")
    check(compose["services"]["livekit"]["image"].endswith(":v1.13.5"), "compose: livekit-server v1.13.5")


def main(paths: list[str]) -> int:
    for p in paths:
        check_k8s(Path(p))
    check_compose()
    for e in errors:
        print(f"consistency: {e}", file=sys.stderr)
    if not errors:
        print(f"ok: consistency ({len(paths)} renders + compose)", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
