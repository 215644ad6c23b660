"""A file's transcript: what ``transcribe`` produces offline or through the streaming engine, and
what its writers (``agent.transcript.writers``) and the diarization CLI work on."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from agent.transcript.segment import Segment


@dataclass
class Transcript:
    segments: list[Segment]
    language: str | None = None
    language_probability: float | None = None
    duration: float | None = None
    source: str = ""
    model: str = ""
    mode: str = "offline"  # or "stream"
    stats: dict[str, Any] = field(default_factory=dict)  # timings, real-time factor

    @property
    def text(self) -> str:
        return " ".join(s.text.strip() for s in self.segments if s.text.strip())
