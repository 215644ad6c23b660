"""What every layer agrees on: the sample rate the pipeline runs at, and a timed word.

It sits below everything else (audio, recogniser, transcript, writers) so that one word type
travels from the decoder to the minutes without conversions between look-alike classes.
"""

from __future__ import annotations

from dataclasses import dataclass

SAMPLE_RATE = 16_000
"""Every pipeline stage works on 16 kHz mono float32: Whisper's and Silero's native rate."""


@dataclass(frozen=True)
class Word:
    """A timed word. The clock depends on the owner: a live stream's audio clock (seconds since
    the stream started), a file's clock, or the wall clock (epoch seconds) in a room's transcript.

    ``first_seen`` and ``committed_at`` are on the same clock: when the word first appeared in an
    interim and when the agreement policy committed it (streaming only).
    """

    text: str
    start: float
    end: float
    probability: float = 1.0
    first_seen: float | None = None
    committed_at: float | None = None

    def shifted(self, offset: float) -> Word:
        """The same word on a clock ``offset`` seconds later (audio clock -> wall clock)."""
        return Word(
            self.text,
            self.start + offset,
            self.end + offset,
            self.probability,
            None if self.first_seen is None else self.first_seen + offset,
            None if self.committed_at is None else self.committed_at + offset,
        )
