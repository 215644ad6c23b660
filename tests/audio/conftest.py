"""Session fixtures for the audio tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def need_sox() -> None:
    if shutil.which("sox") is None:
        pytest.skip("sox is not installed (apt-get install sox)")


@pytest.fixture(scope="session")
def audio_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("audio")
