"""The legacy transcription packets (``publish_transcription``), in one of three modes.

Why a mode: the two kinds of legacy clients read the same packets in incompatible ways.

- ``update`` (livekit-agents' behaviour): every interim and the final of an utterance go out under
  one segment id. Right for clients that *replace* a segment by id (LiveKit's own legacy
  components); wrong for Visio (La Suite Meet), whose front end keeps the **first** packet it sees
  for an id and drops the later ones, so its users would see the first words of each utterance.
- ``append`` (the default): each packet carries only words the agreement policy has committed
  since the last packet, one segment per packet, under a fresh id, ``final=true``. A committed
  word is never revised on this stream, so a client that keeps the first packet per id and joins
  a speaker's segments with spaces (Visio) shows every word, once. The final of an utterance
  sends only the words not sent yet: when the final decode revises words already sent, the
  revision is not sent (the text streams and the JSON topic carry it), so those clients never see
  a word twice. Clients that replace by id also show this stream correctly, only without the
  unstable tail of interims.
- ``off``: no legacy packets (clients on the ``lk.transcription`` text streams need none).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from typing import Protocol

from livekit import rtc

from agent.asr.agreement import norm
from agent.room.settings import LEGACY_DEFAULT, LEGACY_MODES, LegacyMode
from agent.timebase import Word

# A final's word whose middle lies before the end of the last word sent is the same spoken word,
# however the final decode spelled or timed it: word times move by a few hundred ms between decodes.
# A match by text further than this after the last sent word is a repeated word, not the same one.
ALIGN_SLACK = 0.5


class LegacyCaption(Protocol):
    """What this module reads of a caption (``agent.room.captions.Caption`` has it)."""

    @property
    def speaker_identity(self) -> str: ...
    @property
    def track_sid(self) -> str: ...
    @property
    def segment_id(self) -> str: ...
    @property
    def text(self) -> str: ...
    @property
    def final(self) -> bool: ...
    @property
    def language(self) -> str: ...
    @property
    def start(self) -> float: ...
    @property
    def end(self) -> float: ...
    @property
    def words(self) -> tuple[Word, ...]: ...
    @property
    def stable_words(self) -> int: ...


class TranscriptionSink(Protocol):
    """Where packets go: ``rtc.LocalParticipant`` in a room, a list in unit tests."""

    async def publish_transcription(self, transcription: rtc.Transcription) -> None: ...


@dataclass(frozen=True)
class LegacySegment:
    """One legacy packet to send (times in epoch seconds)."""

    identity: str
    track_sid: str
    segment_id: str
    text: str
    start: float
    end: float
    final: bool
    language: str

    def to_transcription(self) -> rtc.Transcription:
        return rtc.Transcription(
            participant_identity=self.identity,
            track_sid=self.track_sid,
            segments=[
                rtc.TranscriptionSegment(
                    id=self.segment_id,
                    text=self.text,
                    start_time=int(self.start * 1000),
                    end_time=int(self.end * 1000),
                    final=self.final,
                    language=self.language,
                )
            ],
        )


KEEP_SENT = 64  # words remembered per track: more than a final can repeat of what was sent


@dataclass
class _Sent:
    """What the append stream already sent of one track.

    Per track, not per segment: when the recognizer cuts a long utterance at a sentence end, the
    words it had committed after the cut (already sent) open the next segment, and must not be
    sent again under it.
    """

    words: list[tuple[str, float, float]] = field(default_factory=list)  # norm, start, end
    packets: int = 0


class LegacyStream:
    """Turns captions into legacy packets for one room, in order (one instance per publisher)."""

    def __init__(self, mode: LegacyMode = LEGACY_DEFAULT, *, max_tracks: int = 1000) -> None:
        if mode not in LEGACY_MODES:
            raise ValueError(f"unknown legacy transcription mode {mode!r}")
        self.mode: LegacyMode = mode
        self._tracks: dict[str, _Sent] = {}  # track sid -> what was sent, most recent last
        self._max_tracks = max_tracks

    def packets(self, caption: LegacyCaption) -> list[LegacySegment]:
        if self.mode == "off":
            return []
        if self.mode == "update":
            return [
                LegacySegment(
                    caption.speaker_identity,
                    caption.track_sid,
                    caption.segment_id,
                    caption.text,
                    caption.start,
                    caption.end,
                    caption.final,
                    caption.language,
                )
            ]
        return self._append(caption)

    def _append(self, caption: LegacyCaption) -> list[LegacySegment]:
        sent = self._tracks.pop(caption.track_sid, None) or _Sent()
        self._tracks[caption.track_sid] = sent  # most recently used last
        if len(self._tracks) > self._max_tracks:
            self._tracks.pop(next(iter(self._tracks)))
        # An interim's committed prefix is settled; a final settles all its words.
        settled = caption.words if caption.final else caption.words[: max(0, caption.stable_words)]
        fresh = list(settled[new_from(sent.words, settled) :])
        if not fresh:
            return []
        sent.words.extend((norm(w.text), w.start, w.end) for w in fresh)
        del sent.words[:-KEEP_SENT]
        sent.packets += 1
        return [
            LegacySegment(
                caption.speaker_identity,
                caption.track_sid,
                f"{caption.segment_id}.{sent.packets}",
                " ".join(w.text for w in fresh),
                fresh[0].start,
                fresh[-1].end,
                True,
                caption.language,
            )
        ]

    async def send(self, sink: TranscriptionSink, caption: LegacyCaption) -> int:
        """Publish this caption's legacy packets; how many went out."""
        segments = self.packets(caption)
        for segment in segments:
            await sink.publish_transcription(segment.to_transcription())
        return len(segments)


def new_from(
    sent: Sequence[tuple[str, float, float]], words: Sequence[Word]
) -> int:
    """Index of the first of ``words`` (settled words of a caption, in order) not sent yet.

    A final decode may spell, split, merge or re-time words the interims committed. A word is
    already sent when its middle lies before the end of the last sent word, or when it matches a
    sent word by text and lies within ``ALIGN_SLACK`` of it in time (a word said again later is
    a new word).
    """
    if not sent or not words:
        return 0
    sent_end = sent[-1][2]
    by_time = 0
    for i, w in enumerate(words):
        if (w.start + w.end) / 2 <= sent_end:
            by_time = i + 1
    by_text = 0
    matcher = SequenceMatcher(None, [w[0] for w in sent], [norm(w.text) for w in words], autojunk=False)
    for a, b, size in matcher.get_matching_blocks():
        if size and abs(words[b + size - 1].start - sent[a + size - 1][1]) <= ALIGN_SLACK:
            by_text = max(by_text, b + size)
    return max(by_time, by_text)
