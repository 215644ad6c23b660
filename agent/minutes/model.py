"""The minutes as data: what the renderers, the files and the deliveries are made from.

Stored as ``minutes.json`` so a delivery retried after a restart sends exactly what was built.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from agent.transcript.segment import Segment

_FORM_ORDER = ["json_schema", "json_object_schema", "json_object", "none"]


@dataclass(frozen=True)
class Attendee:
    identity: str
    name: str
    talk_time_s: float
    segments: int


@dataclass(frozen=True)
class Evidence:
    """Where an item was said. After grounding (``evidence.ground``) the speaker and time come
    from the transcript segment the quote was found in, never from the model; the quote is
    transcript words. ``status``: ``verified`` (found), ``not_found`` (the model quoted words
    nobody said: quote dropped, item flagged), ``missing`` (no quote given), "" (not checked)."""

    speaker: str = ""
    at_s: float | None = None  # seconds into the recording
    quote: str = ""
    status: str = ""

    @classmethod
    def from_dict(cls, data: Any) -> Evidence:
        if not isinstance(data, dict):
            return cls()
        at = data.get("at_s")
        return cls(str(data.get("speaker", "")), float(at) if isinstance(at, int | float) else None,
                   str(data.get("quote", "")), str(data.get("status", "")))


@dataclass(frozen=True)
class Decision:
    text: str
    evidence: Evidence = field(default_factory=Evidence)

    @classmethod
    def from_any(cls, data: Any) -> Decision:
        if isinstance(data, Decision):
            return data
        if isinstance(data, dict):
            return cls(str(data.get("text", "")), Evidence.from_dict(data.get("evidence")))
        return cls(str(data))  # minutes.json written before evidence existed


@dataclass(frozen=True)
class ActionItem:
    task: str
    owner: str = ""
    due: str = ""  # as said ("vendredi prochain"), only when it was said
    evidence: Evidence = field(default_factory=Evidence)
    due_date: str = ""  # ISO date the phrase resolves to, in the meeting's time zone

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ActionItem:
        return cls(str(data.get("task", "")), str(data.get("owner", "")), str(data.get("due", "")),
                   Evidence.from_dict(data.get("evidence")), str(data.get("due_date", "")))


@dataclass(frozen=True)
class Notes:
    """The parts an LLM writes (or the extractive fallback approximates)."""

    summary: str = ""
    topics: tuple[str, ...] = ()
    decisions: tuple[Decision, ...] = ()
    action_items: tuple[ActionItem, ...] = ()
    open_questions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # Plain strings are accepted for decisions (tests, old minutes.json): made Decisions.
        object.__setattr__(self, "decisions", tuple(Decision.from_any(d) for d in self.decisions))

    def is_empty(self) -> bool:
        parts = (self.summary, self.topics, self.decisions, self.action_items, self.open_questions)
        return not any(parts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "summary": self.summary,
            "topics": list(self.topics),
            "decisions": [asdict(d) for d in self.decisions],
            "action_items": [asdict(a) for a in self.action_items],
            "open_questions": list(self.open_questions),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Notes:
        return cls(
            summary=str(data.get("summary", "")),
            topics=tuple(data.get("topics", ())),
            decisions=tuple(Decision.from_any(d) for d in data.get("decisions", ())),
            action_items=tuple(ActionItem.from_dict(a) for a in data.get("action_items", ())),
            open_questions=tuple(data.get("open_questions", ())),
        )


@dataclass(frozen=True)
class LLMCall:
    """One chat-completion call, for the benchmark and the logs (sizes only, never text)."""

    stage: str  # "map", "collapse", "reduce"
    prompt_tokens_estimate: int
    prompt_tokens: int | None
    completion_tokens: int | None
    seconds: float
    ok: bool
    response_format: str = ""  # what the server accepted (json_schema, json_object, none...)
    parsed: str = ""  # json | extracted | repaired | failed (see parse.parse_notes_how)


@dataclass(frozen=True)
class Minutes:
    session_id: str
    room_name: str
    title: str
    language: str
    started_at: float  # epoch seconds
    ended_at: float
    timezone: str
    attendees: tuple[Attendee, ...]
    notes: Notes
    generated: bool  # True when the notes come from the LLM
    notice: str = ""  # shown to readers when the summary was not generated (localized)
    key_sentences: tuple[str, ...] = ()  # extractive fallback, "Speaker: sentence"
    segments: tuple[Segment, ...] = ()
    recipients: tuple[str, ...] = ()  # from room metadata only
    llm_calls: tuple[LLMCall, ...] = field(default_factory=tuple)

    @property
    def duration_s(self) -> float:
        return max(0.0, self.ended_at - self.started_at)

    def llm_output(self) -> dict[str, Any]:
        """How the LLM's answers were obtained, for the JSON's readers: the structured-output
        form the server accepted (``json_schema`` > ``json_object_schema`` > ``json_object`` >
        ``none``: plain text read tolerantly) and how each answer was parsed."""
        answered = [c for c in self.llm_calls if c.response_format]
        forms = sorted({c.response_format for c in answered}, key=_FORM_ORDER.index)
        parsing: dict[str, int] = {}
        for c in self.llm_calls:
            if c.parsed:
                parsing[c.parsed] = parsing.get(c.parsed, 0) + 1
        return {
            "response_format": forms[-1] if forms else "",  # the weakest form any call needed
            "response_formats": forms,
            "parsing": parsing,
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": 1,
            "session_id": self.session_id,
            "room_name": self.room_name,
            "title": self.title,
            "language": self.language,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "duration_s": self.duration_s,
            "timezone": self.timezone,
            "attendees": [asdict(a) for a in self.attendees],
            "notes": self.notes.to_dict(),
            "generated": self.generated,
            "notice": self.notice,
            "key_sentences": list(self.key_sentences),
            "segments": [s.to_dict() for s in self.segments],
            "recipients": list(self.recipients),
            "llm_calls": [asdict(c) for c in self.llm_calls],
            "llm_output": self.llm_output(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Minutes:
        return cls(
            session_id=data["session_id"],
            room_name=data.get("room_name", ""),
            title=data.get("title", ""),
            language=data.get("language", "en"),
            started_at=float(data["started_at"]),
            ended_at=float(data["ended_at"]),
            timezone=data.get("timezone", "UTC"),
            attendees=tuple(Attendee(**a) for a in data.get("attendees", ())),
            notes=Notes.from_dict(data.get("notes", {})),
            generated=bool(data.get("generated")),
            notice=data.get("notice", ""),
            key_sentences=tuple(data.get("key_sentences", ())),
            segments=tuple(Segment.from_dict(s) for s in data.get("segments", ())),
            recipients=tuple(data.get("recipients", ())),
            llm_calls=tuple(LLMCall(**c) for c in data.get("llm_calls", ())),
        )
