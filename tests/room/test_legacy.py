"""Legacy transcription packets in each mode, read back by a client applying Visio's rule."""

from __future__ import annotations

import pytest
from livekit import rtc

from agent.config import ConfigError
from agent.demo.visio import VisioView
from agent.room.captions import Caption
from agent.room.legacy import LegacyStream, new_from
from agent.room.settings import RoomSettings
from agent.timebase import Word


class FakeSink:
    """Stands in for ``rtc.LocalParticipant``: keeps what would have been published."""

    def __init__(self) -> None:
        self.sent: list[rtc.Transcription] = []

    async def publish_transcription(self, transcription: rtc.Transcription) -> None:
        self.sent.append(transcription)


def words(spec: str, start: float = 100.0, step: float = 0.4) -> tuple[Word, ...]:
    return tuple(
        Word(t, start + i * step, start + i * step + step * 0.8, 0.9) for i, t in enumerate(spec.split())
    )


def caption(
    spec: str,
    stable: int,
    *,
    final: bool = False,
    segment: str = "TR_a-1f-0",
    who: str = "alice",
    timed: tuple[Word, ...] | None = None,
) -> Caption:
    w = timed if timed is not None else words(spec)
    return Caption(
        speaker_identity=who,
        speaker_name=who.title(),
        track_sid=f"TR_{who}",
        segment_id=segment,
        text=" ".join(x.text for x in w),
        final=final,
        language="en",
        start=w[0].start,
        end=w[-1].end,
        words=w,
        stable_words=len(w) if final else stable,
    )


async def feed(stream: LegacyStream, captions: list[Caption]) -> tuple[FakeSink, VisioView]:
    sink, view = FakeSink(), VisioView()
    for c in captions:
        before = len(sink.sent)
        await stream.send(sink, c)
        for t in sink.sent[before:]:
            view.receive(t.participant_identity, list(t.segments))
    return sink, view


UTTERANCE = [
    caption("the quick", 0),
    caption("the quick brown fox", 2),  # "the quick" committed
    caption("the quick brown fox jumps", 4),  # "brown fox" committed
    caption("the quick brown fox jumps over the lazy dog", 4, final=True),
]


async def test_append_sends_each_committed_word_once_and_the_finals_tail() -> None:
    sink, view = await feed(LegacyStream("append"), UTTERANCE)
    texts = [t.segments[0].text for t in sink.sent]
    assert texts == ["the quick", "brown fox", "jumps over the lazy dog"]
    assert all(len(t.segments) == 1 and t.segments[0].final for t in sink.sent)
    ids = [t.segments[0].id for t in sink.sent]
    assert len(set(ids)) == len(ids)  # a fresh id per packet
    assert all(t.participant_identity == "alice" and t.track_sid == "TR_alice" for t in sink.sent)
    # Visio's rule shows the whole utterance, once.
    assert view.text("alice") == "the quick brown fox jumps over the lazy dog"
    assert view.dropped == 0 and view.ignored == 0
    # Packet times are those of the words they carry.
    first = sink.sent[0].segments[0]
    assert first.start_time == int(100.0 * 1000) and first.end_time == int((100.4 + 0.32) * 1000)


async def test_interims_without_new_committed_words_send_nothing() -> None:
    sink, _ = await feed(
        LegacyStream("append"),
        [
            caption("hello", 0),
            caption("hello there", 0),
            caption("hello there", 1),
            caption("hello there", 1),
        ],
    )
    assert [t.segments[0].text for t in sink.sent] == ["hello"]


async def test_a_revision_by_the_final_is_never_resent() -> None:
    # Interims committed "I red the"; the final decode heard "I read the book".
    interim = caption("I red the", 3)
    timed = words("I read the book")
    final = caption("", 0, final=True, timed=timed)
    sink, view = await feed(LegacyStream("append"), [interim, final])
    assert [t.segments[0].text for t in sink.sent] == ["I red the", "book"]
    assert view.text() == "I red the book"


async def test_a_final_that_retimes_or_merges_words_sends_only_later_words() -> None:
    sent = words("we will meet at ten", step=0.4)
    # The final merged "at ten" into "at10", nudged every time by 0.15 s, and added two words.
    final = (
        *(w.shifted(0.15) for w in sent[:3]),
        Word("at10", sent[3].start + 0.1, sent[4].end + 0.1, 0.9),
        Word("on", sent[4].end + 0.3, sent[4].end + 0.5, 0.9),
        Word("Monday.", sent[4].end + 0.6, sent[4].end + 1.0, 0.9),
    )
    already = [(w.text.lower(), w.start, w.end) for w in sent]
    assert [w.text for w in final[new_from(already, final) :]] == ["on", "Monday."]


async def test_a_repeated_word_later_in_the_final_is_not_taken_for_a_sent_one() -> None:
    sent = [("the", 100.0, 100.3)]
    final = words("the cat saw the dog")  # the second "the" is at 101.2, long after
    assert new_from(sent, final) == 1


async def test_an_utterance_cut_in_segments_by_trimming_sends_each_word_once() -> None:
    # A long monologue: all of "This is one. This is two" is committed (and sent); the recognizer
    # closes segment 0 at the sentence end, and the committed rest opens segment 1.
    first = words("This is one. This is two", start=100.0)
    second = words("and three.", start=102.4)
    sink, view = await feed(
        LegacyStream("append"),
        [
            caption("", 6, segment="s-0", timed=first),
            caption("", 3, segment="s-0", final=True, timed=first[:3]),
            caption("", 3, segment="s-1", timed=first[3:] + second),
            caption("", 0, segment="s-1", final=True, timed=first[3:] + second),
        ],
    )
    assert [t.segments[0].text for t in sink.sent] == ["This is one. This is two", "and three."]
    assert view.text() == "This is one. This is two and three."
    assert len({t.segments[0].id for t in sink.sent}) == len(sink.sent)


async def test_the_same_word_said_again_in_the_next_utterance_is_sent() -> None:
    _, view = await feed(
        LegacyStream("append"),
        [
            caption("yes", 0, final=True, segment="s-0", timed=words("yes", start=100.0)),
            caption("yes", 0, final=True, segment="s-1", timed=words("yes", start=101.0)),
        ],
    )
    assert view.text() == "yes yes"


async def test_two_participants_interleaved_keep_their_own_words() -> None:
    alice = [caption("good morning all", 2, who="alice", segment="A-0")]
    bob = [caption("bonjour à tous", 1, who="bob", segment="B-0")]
    sink, view = await feed(
        LegacyStream("append"),
        [
            alice[0],
            bob[0],
            caption("good morning all", 0, final=True, who="alice", segment="A-0"),
            caption("bonjour à tous", 0, final=True, who="bob", segment="B-0"),
        ],
    )
    assert view.text("alice") == "good morning all"
    assert view.text("bob") == "bonjour à tous"
    assert {t.participant_identity for t in sink.sent} == {"alice", "bob"}
    assert len({t.segments[0].id for t in sink.sent}) == len(sink.sent)
    # Rows follow who spoke: alice, bob, alice, bob.
    assert [r.identity for r in view.rows] == ["alice", "bob", "alice", "bob"]


async def test_update_mode_is_livekits_interims_then_final_under_one_id() -> None:
    sink, view = await feed(LegacyStream("update"), UTTERANCE)
    assert [t.segments[0].text for t in sink.sent] == [c.text for c in UTTERANCE]
    assert {t.segments[0].id for t in sink.sent} == {"TR_a-1f-0"}
    assert [t.segments[0].final for t in sink.sent] == [False, False, False, True]
    # Which is why Visio, keeping the first packet per id, shows only "the quick".
    assert view.text() == "the quick" and view.dropped == 3


async def test_off_mode_sends_nothing() -> None:
    sink, _ = await feed(LegacyStream("off"), UTTERANCE)
    assert sink.sent == []


async def test_what_is_remembered_is_bounded() -> None:
    stream = LegacyStream("append", max_tracks=3)
    for i in range(10):  # tracks come and go in a long meeting
        stream.packets(caption("a b", 1, segment=f"s-{i}", who=f"p{i}"))
    assert len(stream._tracks) == 3
    long = words(" ".join(f"w{i}" for i in range(200)))
    stream.packets(caption("", 200, timed=long))
    assert len(stream._tracks["TR_alice"].words) <= 64


def test_visio_rule_ignores_packets_with_several_segments() -> None:
    view = VisioView()
    seg = rtc.TranscriptionSegment(id="x", text="a", start_time=0, end_time=1, final=True, language="en")
    two = rtc.TranscriptionSegment(id="y", text="b", start_time=0, end_time=1, final=True, language="en")
    view.receive("alice", [seg, two])
    assert view.text() == "" and view.ignored == 1


def test_setting_defaults_to_append_and_rejects_other_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LEGACY_TRANSCRIPTION", raising=False)
    assert RoomSettings.from_env().legacy_transcription == "append"
    monkeypatch.setenv("LEGACY_TRANSCRIPTION", "Update")
    assert RoomSettings.from_env().legacy_transcription == "update"
    monkeypatch.setenv("LEGACY_TRANSCRIPTION", "replace")
    with pytest.raises(ConfigError) as error:
        RoomSettings.from_env()
    assert str(error.value) == (
        "LEGACY_TRANSCRIPTION='replace' is invalid: expected one of append, update, off"
    )
