"""Fixtures for the transcribe command: espeak-ng speech and a subprocess runner."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from agent.samples import espeak_binary, synth_speech

REPO = Path(__file__).resolve().parents[2]
ENGLISH = "The quick brown fox jumps over the lazy dog. Hello world, this is a test."


@pytest.fixture(scope="session")
def english_wav() -> Path:
    if espeak_binary() is None:
        pytest.skip("espeak-ng is not installed (apt-get install espeak-ng)")
    return synth_speech(ENGLISH, "en")


@pytest.fixture(scope="session")
def run_cli() -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run ``python -m agent transcribe ARGS`` with tiny.en unless the caller overrides it."""

    def run(*args: str, env: dict[str, str] | None = None, timeout: float = 180):
        full_env = {**os.environ, "WHISPER_MODEL": "tiny.en", "WHISPER_DEVICE": "cpu"}
        full_env.pop("WHISPER_LANGUAGE", None)
        full_env.update(env or {})
        return subprocess.run(
            [sys.executable, "-m", "agent", "transcribe", *map(str, args)],
            cwd=REPO,
            env=full_env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    return run
