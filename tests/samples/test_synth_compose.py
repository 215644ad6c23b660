"""espeak-ng speech and the longer recordings built for benchmarks and bad-input tests."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from agent.audio import load_audio
from agent.audio.silence import longest_silence
from agent.samples import (
    SampleUnavailableError,
    build_meeting,
    build_monologue,
    espeak_binary,
    pyannote_sample,
    synth_speech,
)

needs_espeak = pytest.mark.skipif(
    espeak_binary() is None, reason="espeak-ng is not installed (apt-get install espeak-ng)"
)


def wav_header(path: Path) -> tuple[int, int, int]:
    with wave.open(str(path), "rb") as fh:
        return fh.getnchannels(), fh.getframerate(), fh.getsampwidth()


@pytest.fixture(scope="module")
def have_sample() -> None:
    try:
        pyannote_sample()
    except SampleUnavailableError as exc:
        pytest.skip(str(exc))


@needs_espeak
@pytest.mark.parametrize("lang", ["en", "fr"])
def test_synth_speech_is_16k_mono_and_cached(lang: str) -> None:
    text = {"en": "Good morning, the meeting starts now.", "fr": "Bonjour, la réunion commence."}
    path = synth_speech(text[lang], lang)
    assert wav_header(path) == (1, 16_000, 2)
    audio = load_audio(path)
    assert 1.0 < len(audio) / 16_000 < 5.0
    assert float(np.abs(audio).max()) > 0.1
    assert synth_speech(text[lang], lang) == path  # cache hit


@needs_espeak
def test_synth_speech_to_explicit_path(tmp_path: Path) -> None:
    target = synth_speech("testing one two three", "en", tmp_path / "out.wav")
    assert target == tmp_path / "out.wav"
    assert wav_header(target)[1] == 16_000


def test_unknown_voice_is_a_clear_error() -> None:
    if espeak_binary() is None:
        pytest.skip("espeak-ng is not installed")
    with pytest.raises(SampleUnavailableError, match="espeak-ng"):
        synth_speech("hello", "xx-not-a-voice")


def test_build_meeting(tmp_path: Path, have_sample: None) -> None:
    rec = build_meeting(tmp_path / "meeting.wav", repeats=2, gap=1.0, noise_floor=0.001)
    assert len(rec.utterances) == 26
    audio = load_audio(rec.wav)
    assert rec.duration == pytest.approx(len(audio) / 16_000, abs=1e-3)
    # each utterance is followed by a 1 s gap of faint noise and the next one starts after it
    for prev, nxt in zip(rec.utterances, rec.utterances[1:], strict=False):
        assert nxt.start - prev.end == pytest.approx(1.0, abs=1e-3)
        gap = audio[round(prev.end * 16_000) + 160 : round(nxt.start * 16_000) - 160]
        assert np.sqrt(np.mean(gap**2)) < 0.003
    assert rec.normalized_reference().split()[:3] == ["hello", "hello", "oh"]


def test_monologue_from_real_speech_has_no_pause(tmp_path: Path, have_sample: None) -> None:
    rec = build_monologue(tmp_path / "mono.wav", seconds=60, source="sample")
    audio = load_audio(rec.wav)
    assert 60.0 <= rec.duration < 66.0
    assert longest_silence(audio) <= 0.3
    assert len(rec.utterances) > 13  # the call is looped


@needs_espeak
@pytest.mark.parametrize("lang", ["en", "fr"])
def test_monologue_from_espeak_has_no_pause(tmp_path: Path, lang: str) -> None:
    rec = build_monologue(tmp_path / f"mono-{lang}.wav", seconds=40, source="espeak", lang=lang)
    assert rec.duration >= 40.0
    assert longest_silence(load_audio(rec.wav)) <= 0.3
    assert rec.language == lang


def test_monologue_rejects_bad_source(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        build_monologue(tmp_path / "x.wav", source="radio")
