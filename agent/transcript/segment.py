"""One final caption segment as it is kept in the journal and handed to the minutes."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class SegmentWord:
    text: str
    start: float  # wall clock, seconds since the Unix epoch
    end: float
    probability: float = 1.0


@dataclass(frozen=True)
class Segment:
    """A committed utterance. Times are wall-clock (epoch seconds) so tracks line up."""

    segment_id: str
    speaker_identity: str
    speaker_name: str
    start: float
    end: float
    text: str
    language: str
    track_id: str = ""
    words: tuple[SegmentWord, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["words"] = [asdict(w) for w in self.words]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Segment:
        words = tuple(SegmentWord(**w) for w in data.get("words") or ())
        fields = {k: data[k] for k in cls.__dataclass_fields__ if k in data and k != "words"}
        return cls(words=words, **fields)
