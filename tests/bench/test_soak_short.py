"""The soak benchmark, shortened for CI: three minutes instead of sixty, same checks at the end
(every final in the journal, the minutes delivered once, no "Event loop is closed" line)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]


def test_short_soak_loses_nothing(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, "bench/soak_bench.py", "--minutes", "3", "--window", "1", "--model", "tiny.en",
         "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "| minute | final words |" in run.stdout
    summary = json.loads((tmp_path / "soak.json").read_text())["summary"]
    assert summary["finals"] > 10
    assert summary["finals_missing_from_journal"] == 0
    assert summary["minutes_deliveries"] == 1
    assert summary["event_loop_closed_lines"] == 0
