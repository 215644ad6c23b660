"""A caption reader: a participant that receives what greffier publishes, as a front end would.

Records every ``lk.transcription`` text stream (text, attributes, sender identity), every JSON
caption on ``greffier.captions`` and every status message, each with its arrival time.

Streams are kept in the order they opened, which is the order they were sent: the Python SDK reads
each stream's chunks through its own request, so two short streams may finish out of order.
"""

from __future__ import annotations

import asyncio
import bisect
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from livekit import rtc

TOPIC_TRANSCRIPTION = "lk.transcription"
TOPIC_CAPTIONS = "greffier.captions"
TOPIC_STATUS = "greffier.status"


@dataclass
class StreamCaption:
    sender: str
    text: str
    segment_id: str
    track_id: str
    final: bool
    received_at: float
    attributes: dict[str, str] = field(default_factory=dict)
    opened: int = 0  # rank of the stream's header among those this reader saw


@dataclass
class CaptionLog:
    streams: list[StreamCaption] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    statuses: list[dict[str, Any]] = field(default_factory=list)
    legacy: list[rtc.Transcription] = field(default_factory=list)

    def finals(self, sender: str | None = None) -> list[StreamCaption]:
        return [c for c in self.streams if c.final and (sender is None or c.sender == sender)]

    def final_text(self, sender: str | None = None) -> str:
        return " ".join(c.text for c in self.finals(sender))

    def json_finals(self, identity: str | None = None) -> list[dict[str, Any]]:
        """The speakers' own finals; translations of them (``translated_from``) are left out."""
        return [
            m
            for m in self.messages
            if m.get("final")
            and not m.get("translated_from")
            and (identity is None or m["speaker"]["identity"] == identity)
        ]


class CaptionReader:
    def __init__(self, room: rtc.Room, on_caption: Callable[[StreamCaption], None] | None = None) -> None:
        self.room = room
        self.log = CaptionLog()
        self.on_caption = on_caption
        self._tasks: set[asyncio.Task[None]] = set()
        self._opened = itertools.count()
        room.register_text_stream_handler(TOPIC_TRANSCRIPTION, self._on_text_stream)
        room.on("data_received", self._on_data)
        room.on("transcription_received", self._on_legacy)

    @classmethod
    async def join(cls, url: str, token: str, **kw: Any) -> CaptionReader:
        room = rtc.Room()
        reader = cls(room, **kw)
        await room.connect(url, token)
        return reader

    def _on_text_stream(self, reader: rtc.TextStreamReader, sender: str) -> None:
        task = asyncio.ensure_future(self._read(reader, sender, next(self._opened)))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _read(self, reader: rtc.TextStreamReader, sender: str, opened: int) -> None:
        text = await reader.read_all()
        attrs = reader.info.attributes or {}
        caption = StreamCaption(
            sender=sender,
            text=text,
            segment_id=attrs.get("lk.segment_id", ""),
            track_id=attrs.get("lk.transcribed_track_id", ""),
            final=attrs.get("lk.transcription_final") == "true",
            received_at=time.time(),
            attributes=dict(attrs),
            opened=opened,
        )
        bisect.insort(self.log.streams, caption, key=lambda c: c.opened)
        if self.on_caption:
            self.on_caption(caption)

    def _on_data(self, packet: rtc.DataPacket) -> None:
        if packet.topic not in (TOPIC_CAPTIONS, TOPIC_STATUS):
            return
        try:
            message = json.loads(packet.data)
        except ValueError:
            return
        message["_received_at"] = time.time()
        (self.log.messages if packet.topic == TOPIC_CAPTIONS else self.log.statuses).append(message)

    def _on_legacy(
        self, segments: list[rtc.TranscriptionSegment], participant: Any, publication: Any
    ) -> None:
        self.log.legacy.append(segments)  # type: ignore[arg-type]

    async def rpc(self, method: str, payload: str = "", agent_identity: str = "greffier-agent") -> str:
        return await self.room.local_participant.perform_rpc(
            destination_identity=agent_identity, method=method, payload=payload, response_timeout=10.0
        )

    async def leave(self) -> None:
        await self.room.disconnect()
