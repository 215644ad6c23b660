"""In-process checks of the offline block loop and of the ``--stream`` hook (with a fake engine)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from agent.asr import offline
from agent.asr.offline import ResolvedModel, transcribe_offline
from agent.asr.settings import AsrSettings
from agent.audio import AudioReader, write_wav
from agent.cli import transcribe
from agent.timebase import Word
from agent.transcript.document import Transcript
from agent.transcript.segment import Segment

SETTINGS = ResolvedModel("fake", "/fake", "cpu", "int8", None, True)


class FakeModel:
    """Records each transcribe() call and returns one word in the middle of the block."""

    def __init__(self) -> None:
        self.calls: list[dict] = []

    def transcribe(self, audio: np.ndarray, **kwargs):
        self.calls.append({"seconds": len(audio) / 16_000, **kwargs})
        mid = len(audio) / 32_000
        word = SimpleNamespace(start=mid, end=mid + 0.3, word=" word", probability=0.9)
        seg = SimpleNamespace(start=mid, end=mid + 0.3, text=" word", words=[word])
        return iter([seg]), SimpleNamespace(language="fr", language_probability=0.97)


def tone_with_pauses(seconds: int) -> np.ndarray:
    """1 s of tone then 1 s of silence, repeated: cuts must land in the silences."""
    t = np.arange(16_000) / 16_000
    period = np.concatenate([0.5 * np.sin(2 * np.pi * 300 * t), np.zeros(16_000)])
    return np.tile(period, seconds // 2).astype(np.float32)


def test_long_files_are_cut_in_pauses_and_offsets_applied(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "long.wav", tone_with_pauses(100))
    model = FakeModel()
    with AudioReader(path) as reader:
        tr = transcribe_offline(reader, model, SETTINGS, block_seconds=30.0, progress=False)
    lengths = [c["seconds"] for c in model.calls]
    assert sum(lengths) == pytest.approx(100.0)
    assert all(10.0 <= n <= 50.0 for n in lengths[:-1])
    audio = tone_with_pauses(100)
    offset = 0.0
    for n in lengths[:-1]:  # every cut falls in a silent second
        offset += n
        cut = round(offset * 16_000)
        assert np.abs(audio[cut - 800 : cut + 800]).max() == 0.0
    # the language is detected on the first block, then imposed; the prompt carries context
    assert model.calls[0]["language"] is None
    assert all(c["language"] == "fr" for c in model.calls[1:])
    assert all(c["initial_prompt"] is None for c in model.calls)
    assert all(c["word_timestamps"] and c["vad_filter"] for c in model.calls)
    assert tr.language == "fr" and tr.duration == pytest.approx(100.0)
    starts = [s.start for s in tr.segments]
    assert starts == sorted(starts) and starts[-1] > 60.0
    assert tr.segments[1].words[0].start == pytest.approx(starts[1])


@pytest.fixture
def short_wav(tmp_path: Path) -> Path:
    return write_wav(tmp_path / "short.wav", tone_with_pauses(4))


@pytest.fixture
def tiny_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WHISPER_MODEL", "tiny.en")
    monkeypatch.setenv("WHISPER_DEVICE", "cpu")
    monkeypatch.delenv("WHISPER_LANGUAGE", raising=False)


def test_stream_mode_runs_the_engine_with_the_cli_settings(
    short_wav: Path, tiny_env: None, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    calls: list[tuple[np.ndarray, float, AsrSettings]] = []

    def fake_stream(audio: np.ndarray, speed: float, settings: AsrSettings, **_: object) -> Transcript:
        calls.append((audio, speed, settings))
        word = Word("hi", 1.0, 1.3, 0.9, first_seen=1.5, committed_at=2.2)
        seg = Segment(start=1.0, end=1.3, text="hi", words=(word,))
        return Transcript([seg], language="en", duration=len(audio) / 16_000, mode="stream")

    monkeypatch.setattr(transcribe, "transcribe_stream", fake_stream)
    assert transcribe.main([str(short_wav), "--speed", "4", "-f", "json"]) == 0  # implies --stream
    (audio, speed, settings), = calls  # fmt: skip
    assert audio.dtype == np.float32 and len(audio) == 4 * 16_000
    assert speed == 4.0
    assert settings.model == "tiny.en" and settings.language is None and settings.beam_size == 1
    data = json.loads(capsys.readouterr().out)
    assert data["mode"] == "stream" and data["model"] == "tiny.en"
    assert data["segments"][0]["words"][0]["final_at"] == 2.2
    assert data["duration"] == 4.0


@pytest.mark.parametrize("bad", ["0", "-1", "fast", "nan"])
def test_bad_speed_is_rejected(short_wav: Path, bad: str) -> None:
    with pytest.raises(SystemExit) as info:
        transcribe.main([str(short_wav), "--stream", "--speed", bad])
    assert info.value.code == 2


def test_stream_mode_takes_language_and_beam_overrides(
    short_wav: Path, tiny_env: None, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    seen: list[AsrSettings] = []

    def fake_stream(audio: np.ndarray, speed: float, settings: AsrSettings, **_: object) -> Transcript:
        seen.append(settings)
        return Transcript([], mode="stream")

    monkeypatch.setattr(transcribe, "transcribe_stream", fake_stream)
    assert transcribe.main([str(short_wav), "--stream", "--language", "fr", "--beam-size", "3"]) == 0
    assert (seen[0].language, seen[0].beam_size) == ("fr", 3)
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("total", [600.0, None])
def test_progress_bar_counts_audio_seconds(total: float | None) -> None:
    out = io.StringIO()
    bar = offline._progress_bar(total, True, out)
    bar.update(150.0)
    bar.close()
    assert "transcribing" in out.getvalue() and "150" in out.getvalue()
    quiet = io.StringIO()
    offline._progress_bar(total, None, quiet).close()  # auto: not a terminal -> nothing
    assert quiet.getvalue() == ""
