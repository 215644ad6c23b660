"""Captions out: every recognizer event is published three ways.

1. LiveKit's transcription text streams (topic ``lk.transcription``) with the sender identity of
   the participant who spoke, as livekit-agents does for user speech: LiveKit's front-end
   components show them unchanged. Interim and final of one utterance share ``lk.segment_id``.
2. The legacy transcription packets (``publish_transcription``), read by older front ends and by
   Visio, in the mode ``LEGACY_TRANSCRIPTION`` chooses (``agent.room.legacy``).
3. Our JSON message on topic ``greffier.captions`` (schema in README, ``"v": 1``) with speaker name,
   times and words, for clients that want more than text.

Translations of a final (``agent.translate``) go only to the listeners who asked for their
language: a text stream with ``lk.segment_id`` ``<segment>.<language>`` and the attributes
``greffier.language`` and ``greffier.translated_from`` (and ``greffier.translated_segments`` when
one translation covers several finals), and the JSON message with ``language``, ``translated_from``,
``original_segment_id`` and ``original_segment_ids``. Everyone else sees the originals only.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from livekit import rtc

from agent import metrics
from agent.asr.events import TranscriptEvent
from agent.logs import get_logger
from agent.room.legacy import LEGACY_DEFAULT, LegacyMode, LegacyStream
from agent.timebase import Word

logger = get_logger(__name__)

TOPIC_TRANSCRIPTION = "lk.transcription"
TOPIC_CAPTIONS = "greffier.captions"
SCHEMA_VERSION = 1
ATTR_SEGMENT_ID = "lk.segment_id"
ATTR_TRACK_ID = "lk.transcribed_track_id"
ATTR_FINAL = "lk.transcription_final"
ATTR_LANGUAGE = "greffier.language"
ATTR_TRANSLATED_FROM = "greffier.translated_from"
ATTR_TRANSLATED_SEGMENTS = "greffier.translated_segments"  # when one translation covers several


@dataclass(frozen=True)
class TranslatedCaption:
    """A final in another language, for ``listeners`` only."""

    original: Caption
    language: str
    text: str
    listeners: tuple[str, ...]
    submitted_at: float = 0.0  # time.monotonic() when the original final was handed over
    # Segment ids of every final this translates (several when translations caught up), in order.
    covers: tuple[str, ...] = ()

    @property
    def segment_id(self) -> str:
        return f"{self.original.segment_id}.{self.language}"

    def to_message(self) -> dict[str, Any]:
        message = self.original.to_message()
        message.update(
            segment_id=self.segment_id,
            text=self.text,
            language=self.language,
            translated_from=self.original.language,
            original_segment_id=self.original.segment_id,
            original_segment_ids=list(self.covers or (self.original.segment_id,)),
            words=[],  # word times belong to the original's words
        )
        return message


@dataclass(frozen=True)
class Caption:
    """One published caption, with wall-clock times (epoch seconds)."""

    speaker_identity: str
    speaker_name: str
    track_sid: str
    segment_id: str
    text: str
    final: bool
    language: str
    start: float
    end: float
    words: tuple[Word, ...]  # on the wall clock
    stable_words: int = 0  # leading words the agreement policy committed (all, for a final)

    def to_message(self) -> dict[str, Any]:
        return {
            "type": "caption",
            "v": SCHEMA_VERSION,
            "speaker": {"identity": self.speaker_identity, "name": self.speaker_name},
            "track_sid": self.track_sid,
            "segment_id": self.segment_id,
            "text": self.text,
            "final": self.final,
            "language": self.language,
            "start": round(self.start, 3),
            "end": round(self.end, 3),
            "words": [
                {
                    "text": w.text,
                    "start": round(w.start, 3),
                    "end": round(w.end, 3),
                    "p": round(w.probability, 3),
                }
                for w in self.words
            ],
            "sent_at": round(time.time(), 3),
        }


def caption_from_event(
    event: TranscriptEvent, *, identity: str, name: str, track_sid: str, wall: Any
) -> Caption:
    """``wall`` maps the stream's audio clock to epoch seconds."""
    words, stable = whole_words(event.words, len(event.words) if event.is_final else event.stable_words)
    return Caption(
        speaker_identity=identity,
        speaker_name=name,
        track_sid=track_sid,
        segment_id=event.segment_id,
        text=event.text,
        final=event.is_final,
        language=event.language,
        start=wall(event.start),
        end=wall(event.end),
        words=tuple(Word(w.text.strip(), wall(w.start), wall(w.end), w.probability) for w in words),
        stable_words=stable,
    )


def whole_words(words: Sequence[Word], stable: int) -> tuple[list[Word], int]:
    """Whisper's word pieces as spoken words, and how many of them are committed.

    A piece that starts with an apostrophe or a hyphen, no space before, continues the word
    before (French ``d`` + ``'être``); once stripped, captions would lose that. Pieces of
    languages written without spaces (Chinese, Japanese) start with a letter and stay apart.
    A word is committed only when all its pieces are, so a client that joins committed words
    with spaces (Visio's legacy rule) never splits one.
    """
    out: list[Word] = []
    committed = 0
    for i, w in enumerate(words):
        if out and w.text and not w.text[0].isspace() and not w.text[0].isalnum():
            last = out[-1]
            joined = last.text + w.text
            out[-1] = Word(joined, last.start, max(last.end, w.end), min(last.probability, w.probability))
            if i >= stable and committed == len(out):
                committed -= 1  # its last piece is not committed yet
            continue
        out.append(w)
        if i < stable:
            committed = len(out)
    return out, committed


class CaptionPublisher:
    """Publishes captions in order, off the audio path (a slow data channel never stalls ASR)."""

    def __init__(
        self, room: rtc.Room, *, history_size: int = 2000, legacy: LegacyMode = LEGACY_DEFAULT
    ) -> None:
        self.room = room
        self.legacy = LegacyStream(legacy)
        self.history: deque[Caption] = deque(maxlen=history_size)
        self._queue: asyncio.Queue[Caption | TranslatedCaption | None] = asyncio.Queue(maxsize=1000)
        self._task = asyncio.create_task(self._run(), name="caption-publisher")
        self.published = 0
        self.dropped = 0

    def publish(self, caption: Caption) -> None:
        if caption.final:
            self.history.append(caption)
        try:
            self._queue.put_nowait(caption)
        except asyncio.QueueFull:
            self.dropped += 1
            metrics.caption_updates_dropped.inc()  # interim updates are disposable; the final follows
            logger.warning("caption queue full: dropping an update")

    def publish_translation(self, translated: TranslatedCaption) -> None:
        try:
            self._queue.put_nowait(translated)
        except asyncio.QueueFull:
            metrics.translations_skipped.labels("queue_full").inc()

    def forget_speaker(self, identity: str) -> None:
        kept = [c for c in self.history if c.speaker_identity != identity]
        self.history.clear()
        self.history.extend(kept)

    async def _run(self) -> None:
        while True:
            caption = await self._queue.get()
            if caption is None:
                return
            if not self.room.isconnected():
                continue
            if isinstance(caption, TranslatedCaption):
                try:
                    await self._send_translation(caption)
                except Exception as exc:
                    logger.warning("could not publish a translation: %s", type(exc).__name__)
                continue
            try:
                await self._send(caption)
                self.published += 1
                kind = "final" if caption.final else "interim"
                metrics.captions_published.labels(kind).inc()
                metrics.caption_latency.labels(kind).observe(max(0.0, time.time() - caption.end))
            except Exception as exc:
                logger.warning("could not publish a caption: %s", type(exc).__name__)

    async def _send(self, c: Caption) -> None:
        lp = self.room.local_participant
        attributes = {
            ATTR_SEGMENT_ID: c.segment_id,
            ATTR_TRACK_ID: c.track_sid,
            ATTR_FINAL: "true" if c.final else "false",
        }
        writer = await lp.stream_text(
            topic=TOPIC_TRANSCRIPTION, attributes=attributes, sender_identity=c.speaker_identity
        )
        await writer.write(c.text)
        await writer.aclose()
        await self.legacy.send(lp, c)
        await lp.publish_data(
            json.dumps(c.to_message(), ensure_ascii=False).encode(),
            reliable=True,
            topic=TOPIC_CAPTIONS,
        )

    async def _send_translation(self, t: TranslatedCaption) -> None:
        listeners = [i for i in t.listeners if i in self.room.remote_participants]
        if not listeners:
            return  # they left meanwhile
        lp = self.room.local_participant
        attributes = {
            ATTR_SEGMENT_ID: t.segment_id,
            ATTR_TRACK_ID: t.original.track_sid,
            ATTR_FINAL: "true",
            ATTR_LANGUAGE: t.language,
            ATTR_TRANSLATED_FROM: t.original.language,
        }
        if len(t.covers) > 1:
            attributes[ATTR_TRANSLATED_SEGMENTS] = ",".join(t.covers)
        writer = await lp.stream_text(
            topic=TOPIC_TRANSCRIPTION,
            attributes=attributes,
            sender_identity=t.original.speaker_identity,
            destination_identities=listeners,
        )
        await writer.write(t.text)
        await writer.aclose()
        await lp.publish_data(
            json.dumps(t.to_message(), ensure_ascii=False).encode(),
            reliable=True,
            topic=TOPIC_CAPTIONS,
            destination_identities=listeners,
        )
        if t.submitted_at:
            metrics.translation_latency.observe(max(0.0, time.monotonic() - t.submitted_at))

    async def aclose(self) -> None:
        """Deliver what is queued (the last finals matter), then stop."""
        await self._queue.put(None)
        try:
            await asyncio.wait_for(self._task, timeout=10.0)
        except (TimeoutError, asyncio.CancelledError):
            self._task.cancel()
