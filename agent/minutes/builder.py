"""Build ``Minutes`` from a journal: attendees and talk time, notes (LLM or fallback), transcript.

The LLM is optional. Without one (not configured, ``--no-llm``, down, or answering garbage) the
minutes still have everything that does not need it, an extractive summary, and a notice saying
the summary was not generated.
"""

from __future__ import annotations

from collections import Counter, defaultdict

from agent.logs import get_logger
from agent.minutes.evidence import GroundingReport, ground
from agent.minutes.extractive import extractive_summary
from agent.minutes.i18n import labels
from agent.minutes.llm import LLMClient
from agent.minutes.local_server import local_llm
from agent.minutes.mapreduce import Summariser
from agent.minutes.model import Attendee, LLMCall, Minutes, Notes
from agent.minutes.prompts import PromptSet
from agent.minutes.settings import MinutesSettings
from agent.transcript.journal import JournalData
from agent.transcript.metadata import clean_one_line
from agent.transcript.segment import Segment

log = get_logger(__name__)

NEAR_DUPLICATE_S = 1.0


def meeting_language(data: JournalData) -> str:
    """Room metadata wins; otherwise the language most segments were transcribed in."""
    if data.metadata.language:
        return data.metadata.language
    counts = Counter(s.language.split("-")[0].lower() for s in data.segments if s.language)
    return counts.most_common(1)[0][0] if counts else "en"


def drop_near_duplicates(segments: list[Segment]) -> list[Segment]:
    """Two agents may transcribe the same speech under different segment ids: keep one."""
    kept: list[Segment] = []
    last_by_key: dict[tuple[str, str], float] = {}
    for s in sorted(segments, key=lambda s: (s.start, s.segment_id)):
        key = (s.speaker_identity, " ".join(s.text.split()).lower())
        previous = last_by_key.get(key)
        if previous is not None and abs(s.start - previous) <= NEAR_DUPLICATE_S:
            continue
        last_by_key[key] = s.start
        kept.append(s)
    return kept


def attendees_of(data: JournalData, segments: list[Segment]) -> list[Attendee]:
    """Everyone who joined or spoke, with talk time (overlapping segments counted once)."""
    intervals: dict[str, list[tuple[float, float]]] = defaultdict(list)
    names: dict[str, str] = {p.identity: p.name for p in data.participants.values()}
    for s in segments:
        intervals[s.speaker_identity].append((s.start, max(s.start, s.end)))
        names[s.speaker_identity] = s.speaker_name or names.get(s.speaker_identity, "")
    result = []
    for identity in names:
        spans = sorted(intervals.get(identity, []))
        total, cursor = 0.0, float("-inf")
        for start, end in spans:
            start = max(start, cursor)
            if end > start:
                total += end - start
                cursor = end
        result.append(
            Attendee(
                identity=identity,
                name=clean_one_line(names[identity] or identity, 120),
                talk_time_s=round(total, 1),
                segments=len(spans),
            )
        )
    return sorted(result, key=lambda a: (-a.talk_time_s, a.name.lower()))


def transcript_lines(segments: list[Segment], started_at: float) -> list[str]:
    lines = []
    for s in segments:
        offset = max(0, round(s.start - started_at))
        h, rem = divmod(offset, 3600)
        m, sec = divmod(rem, 60)
        name = clean_one_line(s.speaker_name or s.speaker_identity, 120)
        text = " ".join(s.text.split())
        if text:
            lines.append(f"[{h:02d}:{m:02d}:{sec:02d}] {name}: {text}")
    return lines


async def build_minutes(data: JournalData, settings: MinutesSettings, *, use_llm: bool = True) -> Minutes:
    language = meeting_language(data)
    text = labels(language)
    segments = drop_near_duplicates(data.segments)
    started = data.started_at or (segments[0].start if segments else 0.0)
    ended = data.ended_at or max([s.end for s in segments] + [data.last_record_at, started])
    title = data.metadata.title or clean_one_line(data.room_name, 200) or text["minutes"]

    notes: Notes | None = None
    calls: list[LLMCall] = []
    notice = ""
    if use_llm and settings.llm.enabled and segments:
        try:
            prompts = PromptSet.load(settings.prompts_dir, language)
            async with local_llm(settings.llm) as llm:
                async with LLMClient(llm) as client:
                    summariser = Summariser(client, llm, prompts)
                    outcome = await summariser.summarise(transcript_lines(segments, started), title)
            notes, calls, failure = outcome.notes, outcome.calls, outcome.failure
        except Exception as exc:  # the minutes must go out even if summarising breaks
            log.exception("minutes %s: summariser error", data.session_id)
            notes, failure = None, type(exc).__name__
        if notes is None:
            log.warning("minutes %s: summary not generated (%s)", data.session_id, failure)
            notice = text["notice_llm_failed"]
    elif segments:
        notice = text["notice_no_llm"]

    attendees = tuple(attendees_of(data, segments))
    if notes is not None:
        report = GroundingReport()
        notes = ground(notes, segments, attendees, started_at=started, timezone=settings.timezone,
                       report=report)
        log.info("minutes %s: evidence %s", data.session_id, report)
    key_sentences: tuple[str, ...] = ()
    if notes is None:
        key_sentences = tuple(
            f"{clean_one_line(speaker, 120)}: {sentence}"
            for speaker, sentence in extractive_summary(segments)
        )
    return Minutes(
        session_id=data.session_id,
        room_name=data.room_name,
        title=title,
        language=language,
        started_at=started,
        ended_at=ended,
        timezone=settings.timezone,
        attendees=attendees,
        notes=notes or Notes(),
        generated=notes is not None,
        notice=notice,
        key_sentences=key_sentences,
        segments=tuple(segments),
        recipients=data.metadata.recipients,
        llm_calls=tuple(calls),
    )
