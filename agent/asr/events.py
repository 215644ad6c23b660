"""What the streaming recognizer emits."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from agent.timebase import Word

__all__ = ["TranscriptEvent", "Word"]


@dataclass(frozen=True)
class TranscriptEvent:
    """``interim``: the whole segment so far (stable prefix + unstable tail); ``final``: settled.

    Interim updates and the final of one utterance share ``segment_id``.
    """

    kind: Literal["interim", "final"]
    segment_id: str
    text: str
    language: str
    start: float
    end: float
    words: tuple[Word, ...] = field(default_factory=tuple)
    confidence: float = 0.0
    emitted_at: float = 0.0  # audio clock when the event was produced
    stable_words: int = 0  # how many leading words are committed (interim only)

    @property
    def is_final(self) -> bool:
        return self.kind == "final"
