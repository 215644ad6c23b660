"""Due dates as people say them ("vendredi prochain", "by next Monday", "le 15 mars"), found in
what was said and resolved against the meeting's own date in its time zone.

Why our own parser: an LLM asked for a due date invents one or computes it wrongly; a date shown
in the minutes must come from the words of the transcript, with the phrase kept beside the
resolved date so a reader can check it. Rules (documented in the README):

- a bare weekday or "next"/"prochain" + weekday: the first such day strictly after the meeting
  day ("next Friday" said on a Wednesday is in two days; the phrase is shown beside the date);
- "next week" / "la semaine prochaine": the Monday of the next week; "end of the week" / "fin de
  semaine": this week's Friday; "end of the month" / "fin du mois": its last day;
- "tomorrow"/"demain", "today"/"aujourd'hui", "in N days|weeks" / "dans N jours|semaines";
- day + month names ("15 mars", "March 15", "15th of March"): that day, next year if already past;
- ISO dates (2026-03-15).
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

_WEEKDAYS = {
    "monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4, "saturday": 5, "sunday": 6,
    "lundi": 0, "mardi": 1, "mercredi": 2, "jeudi": 3, "vendredi": 4, "samedi": 5, "dimanche": 6,
}
_MONTHS = {
    "january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6, "july": 7,
    "august": 8, "september": 9, "october": 10, "november": 11, "december": 12,
    "janvier": 1, "fevrier": 2, "mars": 3, "avril": 4, "mai": 5, "juin": 6, "juillet": 7,
    "aout": 8, "septembre": 9, "octobre": 10, "novembre": 11, "decembre": 12,
}
_NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "un": 1, "une": 1, "deux": 2, "trois": 3,
            "quatre": 4, "huit": 8, "quinze": 15, "ten": 10, "dix": 10}
_WD = "|".join(_WEEKDAYS)
_MO = "|".join(_MONTHS)
_NUM = r"\d{1,2}|" + "|".join(_NUMBERS)

_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("iso", re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")),
    ("day_month", re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th|er)?(?: of)? ({_MO})\b")),
    ("month_day", re.compile(rf"\b({_MO}) (\d{{1,2}})(?:st|nd|rd|th)?\b")),
    ("next_week", re.compile(r"\b(?:next week|la semaine prochaine|semaine prochaine)\b")),
    ("end_week", re.compile(r"\b(?:end of (?:the|this) week|fin de (?:la )?semaine)\b")),
    ("end_month", re.compile(r"\b(?:end of (?:the|this) month|fin du mois|fin de mois)\b")),
    ("after_tomorrow", re.compile(r"\b(?:apres-demain|apres demain|day after tomorrow)\b")),
    ("tomorrow", re.compile(r"\b(?:tomorrow|demain)\b")),
    ("today", re.compile(r"\b(?:today|aujourd'hui|tonight|ce soir)\b")),
    ("in_days", re.compile(rf"\b(?:in|dans|d'ici) ({_NUM}) (days?|jours?|weeks?|semaines?)\b")),
    ("weekday", re.compile(rf"\b(?:(?:next|this|coming) )?({_WD})(?: (?:prochain|qui vient))?\b")),
]


@dataclass(frozen=True)
class Due:
    phrase: str  # as found in the (normalised) text
    day: date


def normalise(text: str) -> str:
    """Lower case, no accents, one kind of apostrophe, single spaces: for matching only."""
    text = unicodedata.normalize("NFKD", text.replace("’", "'").replace("\u00a0", " "))
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    return " ".join(re.sub(r"[^\w'\- ]+", " ", text).split())


def meeting_day(epoch: float, timezone: str) -> date:
    return datetime.fromtimestamp(epoch, ZoneInfo(timezone)).date()


def find_due(text: str, on: date) -> Due | None:
    """The first due-date expression in ``text`` resolved against the meeting day ``on``."""
    norm = normalise(text)
    best: tuple[int, Due] | None = None
    for kind, pattern in _PATTERNS:
        for match in pattern.finditer(norm):
            day = _resolve(kind, match, on)
            if day is not None and (best is None or match.start() < best[0]):
                best = (match.start(), Due(match.group(0), day))
            break  # the first match of each kind is enough
    return best[1] if best else None


def _resolve(kind: str, m: re.Match[str], on: date) -> date | None:
    try:
        if kind == "iso":
            return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        if kind in {"day_month", "month_day"}:
            day_s, month_s = (m.group(1), m.group(2)) if kind == "day_month" else (m.group(2), m.group(1))
            candidate = date(on.year, _MONTHS[month_s], int(day_s))
            return candidate if candidate >= on else candidate.replace(year=on.year + 1)
    except ValueError:
        return None
    if kind == "next_week":
        return on + timedelta(days=7 - on.weekday())
    if kind == "end_week":
        return on + timedelta(days=max(0, 4 - on.weekday()))
    if kind == "end_month":
        return on.replace(day=calendar.monthrange(on.year, on.month)[1])
    if kind == "after_tomorrow":
        return on + timedelta(days=2)
    if kind == "tomorrow":
        return on + timedelta(days=1)
    if kind == "today":
        return on
    if kind == "in_days":
        count = int(m.group(1)) if m.group(1).isdigit() else _NUMBERS[m.group(1)]
        unit = 7 if m.group(2).startswith(("week", "semaine")) else 1
        return on + timedelta(days=count * unit)
    if kind == "weekday":
        ahead = (_WEEKDAYS[m.group(1)] - on.weekday()) % 7 or 7
        return on + timedelta(days=ahead)
    return None
