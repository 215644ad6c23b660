"""What the streaming recognizer emits."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


@dataclass(frozen=True)
class Word:
    """A word on the stream's audio clock (seconds since the stream started).

    ``first_seen`` and ``committed_at`` are on the same clock: the audio position when the word
    first appeared in an interim and when the agreement policy committed it.
    """

    text: str
    start: float
    end: float
    probability: float = 1.0
    first_seen: float | None = None
    committed_at: float | None = None


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
