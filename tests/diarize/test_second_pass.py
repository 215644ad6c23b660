"""The minutes' second pass keeps the live speakers and lowers WER on the sample."""

from __future__ import annotations

import asyncio

import pytest

from agent.diarize.second_pass import align_words, second_pass
from agent.diarize.settings import SecondPassSettings
from agent.timebase import Word
from agent.transcript.segment import Segment


def _seg(i, who, a, b, text=""):
    return Segment(f"s{i}", who, who.title(), a, b, text, "en", "TR")


def test_align_keeps_speakers_and_adds_orphans():
    live = [_seg(1, "alice", 10.0, 12.0, "helo"), _seg(2, "bob", 12.5, 14.0, "wurld")]
    words = [
        Word("Hello", 10.1, 10.5), Word("again.", 10.6, 11.9),
        Word("World", 12.6, 13.0), Word("late", 14.5, 14.8), Word("far", 30.0, 30.4),
    ]  # fmt: skip
    out = align_words(words, live)
    assert [(s.speaker_identity, s.text) for s in out] == [
        ("alice", "Hello again."),
        ("bob", "World late"),
        ("alice", "far"),  # heard only by the second pass: a new segment of the track's speaker
    ]
    assert out[0].segment_id == "s1" and out[1].segment_id == "s2"


def test_disabled_returns_live():
    live = [_seg(1, "alice", 0.0, 1.0, "x")]
    assert asyncio.run(second_pass("/nonexistent.ogg", live, SecondPassSettings(model=""))) == live


def test_second_pass_on_kept_sample(sample, tmp_path):
    """tiny.en 'live' text stands in for captions; base + beam 5 re-transcribes the kept track."""
    from agent.asr.models import resolve_whisper_model
    from agent.audio.decode import load_audio
    from agent.audio.keep import SessionAudio
    from agent.config import ConfigError
    from agent.samples import word_error_rate

    try:
        resolve_whisper_model("base")
    except (ConfigError, Exception) as exc:  # models extra missing
        pytest.skip(f"whisper base unavailable: {exc}")
    audio = load_audio(sample.wav)
    t0 = 1_700_000_000.0
    keeper = SessionAudio("RM_sp", tmp_path).track("TR", "phone", "Phone bridge")
    keeper.push(audio, t0)
    meta = keeper.close()
    utts = sorted(sample.utterances, key=lambda u: u.start)
    live = [
        Segment(f"u{i}", f"phone#{u.speaker}", f"Phone bridge ({u.speaker})", t0 + u.start, t0 + u.end,
                "garbled words", "en", "TR")
        for i, u in enumerate(utts)
    ]  # fmt: skip
    out = asyncio.run(second_pass(meta.path, live, SecondPassSettings(model="base", beam_size=5)))
    text = " ".join(s.text for s in out)
    wer = word_error_rate(sample.reference_text(), text)
    assert wer < 0.35, wer
    by_id = {s.segment_id: s for s in out}
    for i, u in enumerate(utts):  # speaker attribution kept on every live segment
        assert by_id[f"u{i}"].speaker_identity == f"phone#{u.speaker}"
