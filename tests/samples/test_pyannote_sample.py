"""The pyannote.audio sample: fetched once from PyPI (network), verified, parsed, reused."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from agent.audio import load_audio
from agent.samples import (
    Sample,
    SampleUnavailableError,
    parse_rttm,
    parse_stm,
    pyannote_sample,
)
from agent.samples.pyannote import fetch_pyannote_sample_files


@pytest.fixture(scope="module")
def sample() -> Sample:
    try:
        return pyannote_sample()
    except SampleUnavailableError as exc:  # offline machine: say why instead of failing obscurely
        pytest.skip(str(exc))


def test_sample_files_and_reference(sample: Sample) -> None:
    assert sample.wav.is_file()
    assert sample.duration == pytest.approx(30.0)
    assert sample.speakers == ("Diane", "Sheila")
    assert len(sample.utterances) == 13
    assert len(sample.turns) == 10
    assert all(u.start < u.end for u in sample.utterances)
    assert all(t.start < t.end <= 30.0 for t in sample.turns)
    assert sample.reference_text().startswith("Hello? Hello? Oh, hello.")


def test_normalized_reference(sample: Sample) -> None:
    ref = sample.normalized_reference()
    assert "this is diane in new jersey" in ref
    assert "i did not know you were there" in ref  # contractions expanded
    assert not any(ch in ref for ch in ".,?!'")
    assert len(ref.split()) == 87


def test_audio_is_16k_mono_speech(sample: Sample) -> None:
    audio = load_audio(sample.wav)
    assert len(audio) == 480_000
    first = sample.utterances[0]
    speech = audio[round(first.start * 16_000) : round(first.end * 16_000)]
    before = audio[: round(5.0 * 16_000)]
    assert np.sqrt(np.mean(speech**2)) > 5 * np.sqrt(np.mean(before**2))


def test_second_fetch_reuses_cache(sample: Sample) -> None:
    stamp = sample.wav.stat().st_mtime_ns
    assert fetch_pyannote_sample_files() == sample.wav.parent
    assert sample.wav.stat().st_mtime_ns == stamp


def test_parse_stm_with_labels_and_comments() -> None:
    text = ";; comment\nrec 1 A 0.5 1.25 <o,f0,male> Hello there.\nrec 1 B 2 3\n\n"
    first, second = parse_stm(text)
    assert (first.speaker, first.start, first.end, first.text) == ("A", 0.5, 1.25, "Hello there.")
    assert second.text == ""


def test_parse_rttm() -> None:
    (turn,) = parse_rttm("SPEAKER rec 1 6.690 0.430 <NA> <NA> spk <NA> <NA>\nNOISE x\n")
    assert (turn.speaker, turn.start) == ("spk", 6.69)
    assert turn.end == pytest.approx(7.12)


def test_fetch_command_prints_paths(sample: Sample, tmp_path: Path) -> None:
    out = tmp_path / "meeting.wav"
    proc = subprocess.run(
        [sys.executable, "-m", "agent.samples", "--meeting", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [str(sample.wav), str(out)]
    assert out.stat().st_size > 16_000 * 2 * 60
