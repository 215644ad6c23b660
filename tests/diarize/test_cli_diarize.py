"""`python -m agent transcribe FILE --diarize` on the real two-speaker sample."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from agent.samples import pyannote_sample


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, WHISPER_MODEL="tiny.en")
    return subprocess.run(
        [sys.executable, "-m", "agent", "transcribe", str(pyannote_sample().wav), *args],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip


def test_rttm_and_json_name_two_speakers() -> None:
    rttm = _run("--format", "rttm")
    assert rttm.returncode == 0, rttm.stderr
    speakers = {line.split()[7] for line in rttm.stdout.splitlines() if line.startswith("SPEAKER")}
    assert len(speakers) == 2, rttm.stdout
    labelled = _run("--diarize", "--format", "json")
    assert labelled.returncode == 0, labelled.stderr
    data = json.loads(labelled.stdout)
    assert {s.get("speaker") for s in data["segments"]} >= {"A", "B"}, data["segments"][:3]
