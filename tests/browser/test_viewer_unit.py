"""The viewer's pure JavaScript logic (caption store, WebVTT/text export, interface strings) under
``node --test``. Fast, no browser; in CI a missing node fails instead of skipping."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

WEB = Path(__file__).resolve().parents[2] / "web"


def test_viewer_logic_node_unit_tests() -> None:
    node = shutil.which("node")
    if node is None:
        if os.environ.get("CI"):
            pytest.fail("node is not installed (needed for web/): apt-get install nodejs")
        pytest.skip("node is not installed")
    result = subprocess.run(
        [node, "--test", "tests/transcript.test.mjs"], cwd=WEB, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "# fail 0" in result.stdout
