"""write_wav round trips and the silence helpers used to build and check test recordings."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from agent.audio import load_audio, write_wav
from agent.audio.silence import longest_silence, squeeze_silences
from tests.audio.audio_helpers import tone


def test_write_wav_round_trip(tmp_path: Path) -> None:
    signal = tone(1.0, 16_000, amplitude=0.25)
    back = load_audio(write_wav(tmp_path / "x.wav", signal))
    assert np.max(np.abs(back - signal)) < 1e-4


def test_write_wav_clips(tmp_path: Path) -> None:
    back = load_audio(write_wav(tmp_path / "hot.wav", np.array([2.0, -2.0, 0.0], np.float32)))
    assert back.tolist() == [32767 / 32768, -32767 / 32768, 0.0]


def speech_like(pauses: list[float]) -> np.ndarray:
    parts = []
    for pause in pauses:
        parts += [tone(0.5, 16_000, amplitude=0.5), np.zeros(round(pause * 16_000), np.float32)]
    parts.append(tone(0.5, 16_000, amplitude=0.5))
    return np.concatenate(parts)


def test_longest_silence() -> None:
    assert abs(longest_silence(speech_like([0.2, 1.0, 0.4])) - 1.0) <= 0.04
    assert longest_silence(tone(1.0, 16_000)) == 0.0


def test_squeeze_silences_caps_every_pause() -> None:
    audio = speech_like([0.2, 1.0, 0.05, 2.5])
    squeezed = squeeze_silences(audio, max_gap=0.1)
    assert longest_silence(squeezed) <= 0.12
    removed = (len(audio) - len(squeezed)) / 16_000
    assert abs(removed - (0.1 + 0.9 + 2.4)) <= 0.1
