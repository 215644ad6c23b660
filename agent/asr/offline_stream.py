"""``transcribe --stream``: a file through the streaming engine on a simulated real-time clock."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from agent.asr.decoder import WhisperDecoder
from agent.asr.settings import AsrSettings
from agent.asr.simulate import simulate_stream
from agent.asr.vad import SileroModel


@dataclass
class StreamWord:
    text: str
    start: float
    end: float
    probability: float
    first_seen: float | None
    final_at: float | None


@dataclass
class StreamSegment:
    start: float
    end: float
    text: str
    words: list[StreamWord] = field(default_factory=list)


@dataclass
class StreamResult:
    segments: list[StreamSegment]
    language: str | None
    stats: dict[str, Any]


def run_stream(
    audio: np.ndarray,
    speed: float = 1.0,
    *,
    model: str | None = None,
    language: str | None = None,
    beam_size: int | None = None,
    progress: Callable[[float], None] | None = None,
) -> StreamResult:
    settings = AsrSettings.from_env()
    overrides: dict[str, Any] = {"language": language}
    if model:
        overrides["model"] = model
    if beam_size:
        overrides["beam_size"] = beam_size
    settings = dataclasses.replace(settings, **overrides)
    decoder = WhisperDecoder(settings)
    events = simulate_stream(audio, decoder, SileroModel(), settings, pace=speed, progress=progress)
    finals = [e for e in events if e.is_final]
    segments = [
        StreamSegment(
            start=e.start,
            end=e.end,
            text=e.text,
            words=[
                StreamWord(w.text.strip(), w.start, w.end, w.probability, w.first_seen, w.committed_at)
                for w in e.words
            ],
        )
        for e in finals
    ]
    interims = sum(1 for e in events if not e.is_final)
    return StreamResult(
        segments=segments,
        language=finals[-1].language if finals else language,
        stats={"interim_events": interims, "final_events": len(finals)},
    )
