"""pytest-audioeval's TTS clips: fetched from PyPI once, verified, and heard as their language."""

from __future__ import annotations

import pytest

from agent.asr.decoder import WhisperDecoder
from agent.asr.settings import AsrSettings
from agent.audio import load_audio
from agent.samples import TtsClip, tts_clip, tts_clips
from agent.samples.tts_clips import _folder


def test_clips_and_references() -> None:
    clips = tts_clips("fr") + tts_clips("en")
    assert [c.name for c in clips] == [
        "bonjour_monde", "comptage", "pangrama", "counting", "hello_world", "quick_brown_fox"
    ]  # fmt: skip
    assert tts_clip("fr", "pangrama").text == "Portez ce vieux whisky au juge blond qui fume."
    for clip in clips:
        audio = load_audio(clip.wav)
        assert 1.0 < len(audio) / 16_000 < 5.0 and abs(audio).max() > 0.1
    stamp = clips[0].wav.stat().st_mtime_ns
    assert _folder() == clips[0].wav.parent and clips[0].wav.stat().st_mtime_ns == stamp
    with pytest.raises(KeyError):
        tts_clip("de", "hallo")


def test_whisper_detects_them_confidently() -> None:
    """The reason they exist here: base detects espeak's French at 0.3-0.5, these like real speech."""
    decoder = WhisperDecoder(AsrSettings(model="base"))
    clips: list[TtsClip] = [tts_clip("fr", n) for n in ("bonjour_monde", "pangrama")]
    for clip in [*clips, tts_clip("en", "quick_brown_fox")]:
        hyp = decoder.decode(load_audio(clip.wav), language=None, prompt="", beam_size=1)
        probs = dict(hyp.language_probs or [])
        assert hyp.language == clip.language and probs[clip.language] > 0.9, (clip.name, probs)
