"""The one segment type: an utterance with its timed words, from the recogniser to the minutes.

A room's segments carry who spoke (participant identity and display name, the track) and are on
the wall clock (epoch seconds) so tracks line up; a file's segments are on the file's clock and
carry a speaker name only when diarized. Either way the words are ``agent.timebase.Word``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from agent.timebase import Word


@dataclass(frozen=True)
class Segment:
    segment_id: str = ""
    speaker_identity: str = ""
    speaker_name: str = ""
    start: float = 0.0
    end: float = 0.0
    text: str = ""
    language: str = ""
    track_id: str = ""
    words: tuple[Word, ...] = field(default_factory=tuple)

    @property
    def speaker(self) -> str | None:
        """The label a reader sees (a display name, or a diarized "Salle (A)"), if any."""
        return self.speaker_name or None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        # Streaming-only word fields stay out of the journal when unset (files written before
        # them read the same).
        data["words"] = [{k: v for k, v in asdict(w).items() if v is not None} for w in self.words]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Segment:
        known = Word.__dataclass_fields__
        words = tuple(Word(**{k: v for k, v in w.items() if k in known}) for w in data.get("words") or ())
        fields = {k: data[k] for k in cls.__dataclass_fields__ if k in data and k != "words"}
        return cls(words=words, **fields)
