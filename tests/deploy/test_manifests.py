"""The deployment files validate: scripts/validate-deploy.sh (hadolint, compose-go, livekit-server's
strict config parse, kustomize + kubernetes-validate in strict mode, the ServiceMonitor CRD schema,
cross-file consistency). Its tools install once into .tools/ from the package registries; the
validation itself needs no network, no Docker engine and no cluster."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(900)
def test_validate_deploy_script_passes() -> None:
    if shutil.which("go") is None:
        pytest.skip("Go is needed to build kustomize and composecheck")
    proc = subprocess.run(
        ["bash", "scripts/validate-deploy.sh"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=880,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-6000:]
    assert "validate-deploy: all deployment files are valid" in output
    # The checks really ran (no silent skip of the core validators).
    for marker in ("ok: Dockerfile", "ok: kubernetes-validate", "ok: consistency", "valid (project"):
        assert marker in output, output[-6000:]
