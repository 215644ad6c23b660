"""What ``python -m agent transcribe FILE --diarize [--format json|rttm|vtt]`` needs, in one place.

``agent.cli.transcribe`` calls ``diarize_for_cli`` after transcribing and ``render_labelled``
instead of ``render`` (see README: "Speakers on shared microphones" for the wiring).
"""

from __future__ import annotations

import os
from pathlib import Path

from agent.diarize.api import SpeakerTurn, diarize_transcript, to_rttm
from agent.diarize.pipeline import DiarizationUnavailableError
from agent.diarize.settings import DiarizationSettings
from agent.transcript.document import Transcript
from agent.transcript.writers import render

__all__ = ["DiarizationUnavailableError", "diarize_for_cli", "render_labelled"]


def diarize_for_cli(
    transcript: Transcript, path: str | os.PathLike[str], participant: str = ""
) -> tuple[Transcript, list[SpeakerTurn]]:
    """Label the transcript's segments with speakers A, B... (or "<participant> (A)").

    Raises ``DiarizationUnavailableError`` (one-line message) when the extra is missing. The
    transcript's ``stats`` gain ``speakers`` and ``diarize_s``."""
    import time

    start = time.perf_counter()
    settings = DiarizationSettings.from_env()
    transcript, turns = diarize_transcript(transcript, path, settings, participant)
    transcript.stats["diarize_s"] = round(time.perf_counter() - start, 3)
    return transcript, turns


def render_labelled(
    transcript: Transcript, turns: list[SpeakerTurn] | None, fmt: str, source: str = ""
) -> str:
    """``rttm`` from the turns; any other format through the CLI's own ``render``."""
    if fmt == "rttm":
        if turns is None:
            raise ValueError("--format rttm needs --diarize")
        return to_rttm(turns, uri=Path(source).stem or "audio")
    return render(transcript, fmt)
