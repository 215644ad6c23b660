"""Ground the LLM's decisions and action items in the transcript before anyone reads them.

Why: models list things nobody said, attribute them to the wrong person, and invent due dates.
Every item's quote is looked up in the transcript (after normalisation: case, accents,
punctuation, apostrophes); when found, the speaker and the time come from that segment, not from
the model, and the quote shown is the transcript's own words. A quote found nowhere is dropped
and the item flagged (``not_found``), never shown as fact. Owners are kept only when they name an
attendee; due dates only when a date expression was said (in the quoted segment, or the model's
phrase occurs in the transcript), resolved against the meeting day in its time zone.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from agent.minutes.dates import find_due, meeting_day, normalise
from agent.minutes.model import ActionItem, Attendee, Decision, Evidence, Notes
from agent.transcript.segment import Segment

MIN_RUN_WORDS = 5  # a partial quote must share at least this many consecutive words
MAX_QUOTE_WORDS = 30
NEAR_S = 90.0  # a quote repeated in several segments: prefer the one nearest the claimed time
DUE_LINES = 3  # a due date may be said in the quoted segment or in the next few ("by Friday?" "Yes.")


@dataclass(frozen=True)
class _Line:
    segment: Segment
    words: tuple[str, ...]  # the segment's words as spoken
    norm: tuple[str, ...]  # the same words normalised, one for one


class Transcript:
    """The segments, indexed for quote lookup."""

    def __init__(self, segments: list[Segment] | tuple[Segment, ...], started_at: float) -> None:
        self.started_at = started_at
        self.lines: list[_Line] = []
        for s in segments:
            words = tuple(w for w in s.text.split() if normalise(w))
            self.lines.append(_Line(s, words, tuple(normalise(w) for w in words)))
        self._joined = " " + " ".join(" ".join(line.norm) for line in self.lines) + " "

    def says(self, phrase: str) -> bool:
        norm = normalise(phrase)
        return bool(norm) and f" {norm} " in self._joined

    def says_near(self, phrase: str, segment: Segment, following: int = DUE_LINES) -> bool:
        """Whether ``phrase`` is said in ``segment`` or in the ``following`` segments after it."""
        norm = normalise(phrase)
        for i, line in enumerate(self.lines):
            if line.segment is segment:
                near = " " + " ".join(" ".join(x.norm) for x in self.lines[i : i + 1 + following]) + " "
                return bool(norm) and f" {norm} " in near
        return False

    def find(self, quote: str, near_s: float | None = None) -> tuple[Evidence, Segment | None]:
        """The segment that says ``quote`` (whole, or its longest run of at least
        ``MIN_RUN_WORDS`` words), nearest the claimed time among equals."""
        wanted = tuple(w for w in (normalise(w) for w in quote.split()) if w)
        if not wanted:
            return Evidence(status="missing"), None
        need = min(len(wanted), MIN_RUN_WORDS)
        best_key: tuple[int, float] | None = None
        best: tuple[_Line, int, int] | None = None
        for line in self.lines:
            start, length = _longest_run(line.norm, wanted)
            if length < need:
                continue
            offset = line.segment.start - self.started_at
            key = (-length, abs(offset - near_s) if near_s is not None else 0.0)
            if best_key is None or key < best_key:
                best_key, best = key, (line, start, length)
        if best is None:
            return Evidence(status="not_found"), None
        line, start, length = best
        segment = line.segment
        evidence = Evidence(
            speaker=segment.speaker_name or segment.speaker_identity,
            at_s=round(max(0.0, segment.start - self.started_at), 1),
            quote=" ".join(line.words[start : start + min(length, MAX_QUOTE_WORDS)]),
            status="verified",
        )
        return evidence, segment


def _longest_run(haystack: tuple[str, ...], needle: tuple[str, ...]) -> tuple[int, int]:
    """(start in haystack, length) of the longest run of consecutive words shared with needle."""
    best = (0, 0)
    previous = [0] * (len(needle) + 1)
    for i, word in enumerate(haystack, start=1):
        current = [0] * (len(needle) + 1)
        for j, other in enumerate(needle, start=1):
            if word == other:
                current[j] = previous[j - 1] + 1
                if current[j] > best[1]:
                    best = (i - current[j], current[j])
        previous = current
    return best


def match_owner(owner: str, attendees: tuple[Attendee, ...] | list[Attendee]) -> str:
    """The attendee ``owner`` names (full name, identity, or an unambiguous first name), as the
    minutes spell it; "" when it names nobody present ("the team", a made-up name)."""
    wanted = normalise(owner)
    if not wanted:
        return ""
    for a in attendees:
        if wanted in {normalise(a.name), normalise(a.identity)}:
            return a.name
    tokens = set(wanted.replace("-", " ").split())
    hits = [a for a in attendees if normalise(a.name).split() and normalise(a.name).split()[0] in tokens]
    return hits[0].name if len(hits) == 1 else ""


@dataclass
class GroundingReport:
    """Counts for the logs and the benchmark (never text)."""

    verified: int = 0
    not_found: int = 0
    missing: int = 0
    owners_dropped: int = 0
    dues_dropped: int = 0


def ground(
    notes: Notes,
    segments: list[Segment] | tuple[Segment, ...],
    attendees: tuple[Attendee, ...] | list[Attendee],
    *,
    started_at: float,
    timezone: str,
    report: GroundingReport | None = None,
) -> Notes:
    report = report if report is not None else GroundingReport()
    transcript = Transcript(segments, started_at)
    day = meeting_day(started_at, timezone)

    def locate(claimed: Evidence) -> tuple[Evidence, Segment | None]:
        found, segment = transcript.find(claimed.quote, claimed.at_s)
        setattr(report, found.status, getattr(report, found.status) + 1)
        return found, segment

    decisions = tuple(Decision(d.text, locate(d.evidence)[0]) for d in notes.decisions)
    actions = []
    for a in notes.action_items:
        evidence, segment = locate(a.evidence)
        owner = match_owner(a.owner, attendees)
        if a.owner and not owner:
            report.owners_dropped += 1
        due, due_date = _due(a, segment, transcript, day)
        if a.due and not due:
            report.dues_dropped += 1
        actions.append(ActionItem(a.task, owner, due, evidence, due_date))
    return replace(notes, decisions=decisions, action_items=tuple(actions))


def _due(a: ActionItem, segment: Segment | None, transcript: Transcript, day: date) -> tuple[str, str]:
    """(phrase as said, ISO date) or ("", "") when no date was said for this item: a date
    expression in the quoted segment, else the model's phrase if it was said there or in the next
    few segments (not anywhere: a due date said for another item must not be borrowed). An item
    whose quote was not found has no place to check, so its phrase must be said somewhere."""
    if not a.due:
        return "", ""
    found = find_due(segment.text, day) if segment is not None else None
    said = transcript.says_near(a.due, segment) if segment is not None else transcript.says(a.due)
    if found is None and said:
        found = find_due(a.due, day)
        if found is None:
            return a.due, ""  # said, but not a date we can resolve ("after the audit")
    if found is None:
        return "", ""  # nobody said it: invented
    return found.phrase, found.day.isoformat()
