"""Write the minutes to files: Markdown, JSON, transcript Markdown, WebVTT and SRT.

Each file is written atomically (temp file + rename), so a crash never leaves half a file and a
reader (or a retried delivery) always sees a complete one. ``minutes.json`` is the source the
deliveries are rendered from.
"""

from __future__ import annotations

import json
from pathlib import Path

from agent.minutes.model import Minutes
from agent.minutes.render import (
    minutes_markdown,
    transcript_markdown,
    transcript_srt,
    transcript_webvtt,
)
from agent.transcript.fsio import atomic_write

MINUTES_DIR = "minutes"
FILE_NAMES = {
    "markdown": "minutes.md",
    "json": "minutes.json",
    "transcript_markdown": "transcript.md",
    "webvtt": "transcript.vtt",
    "srt": "transcript.srt",
}


def minutes_dir(data_dir: Path, session_id: str) -> Path:
    return Path(data_dir) / MINUTES_DIR / session_id


def write_minutes_files(minutes: Minutes, directory: Path) -> dict[str, Path]:
    """Write every format into ``directory``; ``minutes.json`` last, as the completion mark."""
    directory.mkdir(parents=True, exist_ok=True)
    bodies = {
        "markdown": minutes_markdown(minutes),
        "transcript_markdown": transcript_markdown(minutes),
        "webvtt": transcript_webvtt(minutes),
        "srt": transcript_srt(minutes),
        "json": json.dumps(minutes.to_dict(), ensure_ascii=False, indent=1),
    }
    paths: dict[str, Path] = {}
    for kind, body in bodies.items():
        path = directory / FILE_NAMES[kind]
        atomic_write(path, body)
        paths[kind] = path
    return paths


def load_minutes(directory: Path) -> Minutes:
    return Minutes.from_dict(json.loads((directory / FILE_NAMES["json"]).read_text("utf-8")))
