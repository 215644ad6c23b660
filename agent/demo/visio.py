"""What a Visio (La Suite Meet) user sees of greffier's captions, by Visio's display rule.

Visio's captions front end (``src/frontend/src/features/subtitle/component/Subtitles.tsx`` in
``suitenumerique/meet``) reads only the legacy ``RoomEvent.TranscriptionReceived`` packets, ignores a
packet with more than one segment, keeps the **first** packet it sees for each segment id (every later
packet with that id is dropped), and shows a participant's consecutive segments joined by spaces in
one row. This module applies that rule, written from its description (not Visio's code), so tests
and the benchmark can score what Visio's users would read.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from livekit import rtc


@dataclass
class VisioSegment:
    """One segment Visio displays, with when it arrived (epoch seconds)."""

    identity: str
    segment_id: str
    text: str
    start: float  # the segment's own times, epoch seconds (from the packet's milliseconds)
    end: float
    received_at: float


@dataclass
class VisioRow:
    identity: str
    segments: list[VisioSegment] = field(default_factory=list)

    @property
    def text(self) -> str:
        return " ".join(s.text for s in self.segments)


class VisioView:
    """Applies Visio's rule to legacy packets; ``attach`` it to a connected ``rtc.Room``."""

    def __init__(self) -> None:
        self.rows: list[VisioRow] = []
        self.shown: list[VisioSegment] = []
        self.ignored = 0  # packets with more than one segment
        self.dropped = 0  # packets whose id was already shown
        self._ids: set[str] = set()

    def attach(self, room: rtc.Room) -> VisioView:
        room.on("transcription_received", self._on_packet)
        return self

    def _on_packet(
        self, segments: list[rtc.TranscriptionSegment], participant: Any, publication: Any
    ) -> None:
        identity = getattr(participant, "identity", "") if participant is not None else ""
        self.receive(identity, segments)

    def receive(
        self, identity: str, segments: list[rtc.TranscriptionSegment], at: float | None = None
    ) -> None:
        if len(segments) != 1:
            self.ignored += 1
            return
        segment = segments[0]
        if segment.id in self._ids:
            self.dropped += 1
            return
        self._ids.add(segment.id)
        shown = VisioSegment(
            identity,
            segment.id,
            segment.text,
            segment.start_time / 1000,
            segment.end_time / 1000,
            time.time() if at is None else at,
        )
        self.shown.append(shown)
        if not self.rows or self.rows[-1].identity != identity:
            self.rows.append(VisioRow(identity))
        self.rows[-1].segments.append(shown)

    def text(self, identity: str | None = None) -> str:
        """Everything shown for ``identity`` (or everyone), rows in order, joined by spaces."""
        return " ".join(r.text for r in self.rows if identity is None or r.identity == identity)

    def last_received(self) -> float:
        return max((s.received_at for s in self.shown), default=0.0)
