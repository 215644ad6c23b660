"""WebVTT and SRT writers.

Speaker names are untrusted (participants choose them): they are stripped of line breaks and of
the characters that would close a WebVTT voice tag, so a name cannot inject cues.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

_UNSAFE_NAME = re.compile(r"[\r\n<>&]+")
_BLANK_LINES = re.compile(r"\n\s*\n+")


@dataclass(frozen=True)
class Cue:
    start: float  # seconds from the start of the media / meeting
    end: float
    text: str
    speaker: str | None = None


def _clean_text(text: str) -> str:
    # A blank line would end the cue early in both formats.
    return _BLANK_LINES.sub("\n", text.replace("\r", "")).strip()


def _clean_speaker(name: str) -> str:
    return _UNSAFE_NAME.sub(" ", name).strip()


def _timestamp(seconds: float, sep: str) -> str:
    ms = max(0, round(seconds * 1000))
    h, rem = divmod(ms, 3_600_000)
    m, rem = divmod(rem, 60_000)
    s, ms = divmod(rem, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def to_webvtt(cues: Iterable[Cue]) -> str:
    out = ["WEBVTT", ""]
    for cue in cues:
        text = _clean_text(cue.text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        if cue.speaker:
            text = f"<v {_clean_speaker(cue.speaker)}>{text}"
        out += [f"{_timestamp(cue.start, '.')} --> {_timestamp(max(cue.end, cue.start), '.')}", text, ""]
    return "\n".join(out)


def to_srt(cues: Iterable[Cue]) -> str:
    out: list[str] = []
    for index, cue in enumerate(cues, start=1):
        text = _clean_text(cue.text)
        if cue.speaker:
            text = f"{_clean_speaker(cue.speaker)}: {text}"
        out += [
            str(index),
            f"{_timestamp(cue.start, ',')} --> {_timestamp(max(cue.end, cue.start), ',')}",
            text,
            "",
        ]
    return "\n".join(out)
