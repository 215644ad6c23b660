"""Whisper's word pieces become whole words in captions, and a word is committed only whole."""

from __future__ import annotations

from agent.asr.events import TranscriptEvent
from agent.room.captions import caption_from_event, whole_words
from agent.room.legacy import LegacyStream
from agent.timebase import Word


def pieces(*texts: str) -> list[Word]:
    return [Word(t, i * 0.3, i * 0.3 + 0.25, 0.9 - i * 0.01) for i, t in enumerate(texts)]


def test_a_piece_without_a_space_joins_the_word_before() -> None:
    words, stable = whole_words(pieces(" Ravi", " d", "'être", " ici"), 4)
    assert [w.text for w in words] == [" Ravi", " d'être", " ici"]
    assert stable == 3
    assert words[1].start == 0.3 and words[1].end == 0.6 + 0.25
    assert words[1].probability == min(0.89, 0.88)


def test_a_word_whose_last_piece_is_not_committed_is_not_committed() -> None:
    _, stable = whole_words(pieces(" Ravi", " d", "'être", " ici"), 2)
    assert stable == 1  # " d" is committed, "'être" is not: the word "d'être" waits
    _, stable = whole_words(pieces(" Ravi", " d", "'être", " ici"), 3)
    assert stable == 2
    _, stable = whole_words(pieces(" don", "'t", " go"), 0)
    assert stable == 0


def test_languages_without_spaces_keep_their_words() -> None:
    words, stable = whole_words(pieces("我们", "明天", "开会。"), 2)
    assert [w.text for w in words] == ["我们", "明天", "开会。"] and stable == 2


def test_english_text_without_pieces_is_unchanged() -> None:
    words, stable = whole_words(pieces(" We", " decided", " to", " move."), 2)
    assert [w.text for w in words] == [" We", " decided", " to", " move."]
    assert stable == 2


def test_the_legacy_append_stream_never_splits_a_word() -> None:
    """The interim commits ``d`` before ``'être``; Visio's rule must still show ``d'être``."""
    stream = LegacyStream("append")
    interim = TranscriptEvent(
        segment_id="s1",
        text="Ravi d'être",
        kind="interim",
        start=0.0,
        end=0.9,
        language="fr",
        words=tuple(pieces(" Ravi", " d", "'être")),
        stable_words=2,
    )
    final = TranscriptEvent(
        segment_id="s1",
        text="Ravi d'être ici",
        kind="final",
        start=0.0,
        end=1.2,
        language="fr",
        words=tuple(pieces(" Ravi", " d", "'être", " ici")),
    )
    texts = []
    for event in (interim, final):
        caption = caption_from_event(event, identity="a", name="A", track_sid="TR", wall=lambda t: 1000 + t)
        texts += [p.text for p in stream.packets(caption)]
    assert texts == ["Ravi", "d'être ici"]
    assert " ".join(texts) == "Ravi d'être ici"
