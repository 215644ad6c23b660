"""Render ``Minutes`` as Markdown, plain text, HTML, and the transcript as Markdown/WebVTT/SRT.

Every string that came from people (names, titles, speech) or from the LLM is untrusted: it is
collapsed to one line (so it cannot open a new Markdown block) and, in HTML, escaped with
``html.escape``. Markdown output also escapes ``& < >`` so a renderer shows them as text.
"""

from __future__ import annotations

import html
from datetime import date, datetime
from zoneinfo import ZoneInfo

from agent.formats import Cue, to_srt, to_webvtt
from agent.minutes.i18n import format_duration, labels
from agent.minutes.model import Evidence, Minutes
from agent.transcript.metadata import clean_one_line

_MONTHS = {
    "fr": "janvier février mars avril mai juin juillet août septembre octobre novembre décembre",
    "en": "January February March April May June July August September October November December",
}


def format_date(epoch: float, timezone: str, language: str) -> str:
    moment = datetime.fromtimestamp(epoch, ZoneInfo(timezone))
    month = _MONTHS.get(language, _MONTHS["en"]).split()[moment.month - 1]
    if language == "fr":
        return f"{moment.day} {month} {moment.year}, {moment:%H:%M} ({timezone})"
    return f"{month} {moment.day}, {moment.year}, {moment:%H:%M} ({timezone})"


def md(text: str) -> str:
    one_line = clean_one_line(text, 10_000)
    return one_line.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _sections(m: Minutes) -> list[tuple[str, list[str]]]:
    """(heading, items) in display order, shared by every renderer; items are raw strings."""
    t = labels(m.language)
    sections: list[tuple[str, list[str]]] = []
    if m.generated:
        sections.append((t["summary"], [m.notes.summary] if m.notes.summary else []))
        sections.append((t["topics"], list(m.notes.topics)))
        sections.append((t["decisions"], [_with_evidence(d.text, d.evidence, m) for d in m.notes.decisions]))
        actions = []
        for a in m.notes.action_items:
            due = a.due
            if a.due_date:
                due = f"{format_day(a.due_date, m.language)} ({t['quote_open']}{a.due}{t['quote_close']})"
            extra = [f"{t['owner']}: {a.owner}" if a.owner else "", f"{t['due']}: {due}" if due else ""]
            details = ", ".join(e for e in extra if e)
            actions.append(_with_evidence(f"{a.task} ({details})" if details else a.task, a.evidence, m))
        sections.append((t["action_items"], actions))
        sections.append((t["open_questions"], list(m.notes.open_questions)))
    else:
        sections.append((t["extractive_summary"], list(m.key_sentences)))
    return sections


def _with_evidence(text: str, evidence: Evidence, m: Minutes) -> str:
    """The item, then who said it, when (into the recording) and their words; or the flag."""
    t = labels(m.language)
    if evidence.status == "verified":
        when = _clock(evidence.at_s or 0.0)
        quote = f"{t['quote_open']}{evidence.quote}{t['quote_close']}"
        return f"{text} — {evidence.speaker} [{when}]: {quote}"
    if evidence.status == "not_found":
        return f"{text} — {t['not_found']}"
    if evidence.status == "missing":
        return f"{text} — {t['no_quote']}"
    return text


def format_day(iso: str, language: str) -> str:
    try:
        day = date.fromisoformat(iso)
    except ValueError:
        return iso
    month = _MONTHS.get(language, _MONTHS["en"]).split()[day.month - 1]
    return f"{day.day} {month} {day.year}" if language == "fr" else f"{month} {day.day}, {day.year}"


def _attendee_lines(m: Minutes) -> list[str]:
    t = labels(m.language)
    return [f"{a.name} — {t['talk_time']} {format_duration(a.talk_time_s)}" for a in m.attendees]


def _facts(m: Minutes) -> list[tuple[str, str]]:
    t = labels(m.language)
    return [
        (t["date"], format_date(m.started_at, m.timezone, m.language)),
        (t["duration"], format_duration(m.duration_s)),
    ]


def minutes_markdown(m: Minutes, *, include_transcript: bool = True) -> str:
    t = labels(m.language)
    out = [f"# {t['minutes']} — {md(m.title)}", ""]
    out += [f"- **{label}**: {md(value)}" for label, value in _facts(m)]
    out.append("")
    if m.notice:
        out += [f"> {md(m.notice)}", ""]
    out += [f"## {t['attendees']}", ""]
    out += [f"- {md(line)}" for line in _attendee_lines(m)] or [t["none"]]
    out.append("")
    for heading, items in _sections(m):
        out += [f"## {heading}", ""]
        if heading == t["summary"] and items:
            out += [md(items[0]), ""]
            continue
        out += [f"- {md(item)}" for item in items] or [t["none"]]
        out.append("")
    if include_transcript:
        out += [f"## {t['transcript']}", "", *transcript_body_markdown(m)]
    return "\n".join(out).rstrip() + "\n"


def transcript_body_markdown(m: Minutes) -> list[str]:
    t = labels(m.language)
    if not m.segments:
        return [t["no_speech"], ""]
    out = []
    for s in m.segments:
        offset = _clock(s.start - m.started_at)
        out += [f"**{md(s.speaker_name or s.speaker_identity)}** [{offset}]: {md(s.text)}", ""]
    return out


def transcript_markdown(m: Minutes) -> str:
    t = labels(m.language)
    head = [f"# {t['transcript']} — {md(m.title)}", ""]
    head += [f"- **{label}**: {md(value)}" for label, value in _facts(m)]
    return "\n".join([*head, "", *transcript_body_markdown(m)]).rstrip() + "\n"


def minutes_text(m: Minutes) -> str:
    """Plain-text e-mail body (the transcript is attached, not inlined)."""
    t = labels(m.language)
    one = lambda s: clean_one_line(s, 10_000)  # noqa: E731
    out = [f"{t['minutes']} — {one(m.title)}", ""]
    out += [f"{label}: {one(value)}" for label, value in _facts(m)]
    out.append("")
    if m.notice:
        out += [one(m.notice), ""]
    out += [t["attendees"], *[f"  - {one(line)}" for line in _attendee_lines(m)], ""]
    for heading, items in _sections(m):
        out.append(heading)
        out += [f"  - {one(item)}" for item in items] or [f"  {t['none']}"]
        out.append("")
    out += [t["attachments"], "", t["generated_by"]]
    return "\n".join(out) + "\n"


def minutes_html(m: Minutes) -> str:
    t = labels(m.language)
    e = lambda s: html.escape(clean_one_line(s, 10_000), quote=True)  # noqa: E731
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="{e(m.language)}"><head><meta charset="utf-8">',
        f"<title>{e(t['minutes'])} — {e(m.title)}</title></head>",
        '<body style="font-family:sans-serif;max-width:720px">',
        f"<h1>{e(t['minutes'])} — {e(m.title)}</h1>",
        "<ul>",
        *[f"<li><strong>{e(label)}</strong>: {e(value)}</li>" for label, value in _facts(m)],
        "</ul>",
    ]
    if m.notice:
        parts.append(f'<p style="border-left:4px solid #c90;padding-left:8px">{e(m.notice)}</p>')
    parts.append(f"<h2>{e(t['attendees'])}</h2><ul>")
    parts += [f"<li>{e(line)}</li>" for line in _attendee_lines(m)]
    parts.append("</ul>")
    for heading, items in _sections(m):
        parts.append(f"<h2>{e(heading)}</h2>")
        if items:
            parts += ["<ul>", *[f"<li>{e(item)}</li>" for item in items], "</ul>"]
        else:
            parts.append(f"<p>{e(t['none'])}</p>")
    parts += [
        f"<p>{e(t['attachments'])}</p>",
        f"<p><small>{e(t['generated_by'])}</small></p>",
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def cues(m: Minutes) -> list[Cue]:
    return [
        Cue(
            start=s.start - m.started_at,
            end=s.end - m.started_at,
            text=s.text,
            speaker=s.speaker_name or s.speaker_identity,
        )
        for s in m.segments
    ]


def transcript_webvtt(m: Minutes) -> str:
    return to_webvtt(cues(m))


def transcript_srt(m: Minutes) -> str:
    return to_srt(cues(m))


def _clock(seconds: float) -> str:
    total = max(0, round(seconds))
    h, rem = divmod(total, 3600)
    mi, s = divmod(rem, 60)
    return f"{h:02d}:{mi:02d}:{s:02d}"
