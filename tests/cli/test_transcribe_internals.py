"""In-process checks of the offline block loop and of the ``--stream`` hook (with a fake engine)."""

from __future__ import annotations

import io
import json
import sys
import types
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from agent.audio import AudioReader, write_wav
from agent.cli import transcribe
from agent.cli.transcribe import WhisperSettings, transcribe_offline

SETTINGS = WhisperSettings("fake", "/fake", "cpu", "int8", None, True)


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


def test_stream_without_engine_is_a_clear_error(
    short_wav: Path, tiny_env: None, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.setitem(sys.modules, "agent.asr.offline_stream", None)  # import fails
    assert transcribe.main([str(short_wav), "--stream"]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "agent.asr.offline_stream" in err


def test_stream_hook_calls_run_stream(
    short_wav: Path, tiny_env: None, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    calls: list[tuple] = []

    def run_stream(audio: np.ndarray, speed: float, **kwargs):
        calls.append((audio, speed, kwargs))
        word = SimpleNamespace(start=1.0, end=1.3, text="hi", probability=0.9,
                               first_seen=1.5, final_at=2.2)  # fmt: skip
        seg = SimpleNamespace(start=1.0, end=1.3, text="hi", words=[word])
        return SimpleNamespace(segments=[seg], language="en")

    fake = types.ModuleType("agent.asr.offline_stream")
    fake.run_stream = run_stream  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "agent.asr.offline_stream", fake)
    assert transcribe.main([str(short_wav), "--speed", "4", "-f", "json"]) == 0  # implies --stream
    (audio, speed, kwargs), = calls  # fmt: skip
    assert audio.dtype == np.float32 and len(audio) == 4 * 16_000
    assert speed == 4.0
    assert kwargs["model_path"].endswith("model") and kwargs["local_files_only"] is True
    assert kwargs["sample_rate"] == 16_000 and kwargs["language"] is None
    assert kwargs["model"] == "tiny.en" and kwargs["beam_size"] is None
    kwargs["progress"](2.0)  # the engine reports audio seconds done
    data = json.loads(capsys.readouterr().out)
    assert data["mode"] == "stream" and data["model"] == "tiny.en"
    assert data["segments"][0]["words"][0]["final_at"] == 2.2
    assert data["duration"] == 4.0


@pytest.mark.parametrize("bad", ["0", "-1", "fast", "nan"])
def test_bad_speed_is_rejected(short_wav: Path, bad: str) -> None:
    with pytest.raises(SystemExit) as info:
        transcribe.main([str(short_wav), "--stream", "--speed", bad])
    assert info.value.code == 2


def test_stream_hook_passes_only_accepted_keywords(
    short_wav: Path, tiny_env: None, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    seen: dict = {}

    def run_stream(audio: np.ndarray, speed: float, *, language: str | None = None):
        seen.update(language=language, speed=speed)
        return []

    fake = types.ModuleType("agent.asr.offline_stream")
    fake.run_stream = run_stream  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "agent.asr.offline_stream", fake)
    assert transcribe.main([str(short_wav), "--stream", "--language", "fr"]) == 0
    assert seen == {"language": "fr", "speed": 1.0}
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("total", [600.0, None])
def test_progress_bar_counts_audio_seconds(total: float | None) -> None:
    out = io.StringIO()
    bar = transcribe._progress_bar(total, True, out)
    bar.update(150.0)
    bar.close()
    assert "transcribing" in out.getvalue() and "150" in out.getvalue()
    quiet = io.StringIO()
    transcribe._progress_bar(total, None, quiet).close()  # auto: not a terminal -> nothing
    assert quiet.getvalue() == ""
