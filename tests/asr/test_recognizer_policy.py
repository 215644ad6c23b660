"""The streaming policy against a scripted decoder: deterministic, no model needed."""

from __future__ import annotations

import numpy as np
import pytest

from agent.asr.decoder import Hypothesis
from agent.asr.events import Word
from agent.asr.recognizer import SAMPLE_RATE, StreamingRecognizer
from agent.asr.settings import AsrSettings
from agent.asr.vad import SileroModel


class ScriptedSpeech:
    """Audio the VAD hears as speech (a voiced tone burst) plus a word timeline."""

    def __init__(self, script: list[tuple[str, float, float]]) -> None:
        self.script = script

    def decode(self, audio_start: float, audio_end: float, prefix_only: bool = True) -> Hypothesis:
        ws = [
            Word(f" {t}", s - audio_start, min(e, audio_end) - audio_start, 0.9)
            for t, s, e in self.script
            if s >= audio_start - 0.01 and s < audio_end and (e <= audio_end + 0.3)
        ]
        return Hypothesis(ws, "en", 0.99, 0.01, -0.2, 1.2, 0.01)


@pytest.fixture(scope="module")
def vad_model() -> SileroModel:
    return SileroModel()


def speechlike(seconds: float, seed: int = 0) -> np.ndarray:
    """Synthetic voiced audio with pitch and amplitude modulation: Silero takes it for speech."""
    from agent.samples import synth_speech  # noqa: F401  (real speech used below when available)

    raise NotImplementedError


def run(rec: StreamingRecognizer, audio: np.ndarray, decode) -> list:  # type: ignore[no-untyped-def]
    events = []
    frame = 320
    for i in range(0, len(audio), frame):
        rec.push(audio[i : i + frame])
        while (kind := rec.due()) is not None:
            job = rec.make_job()
            assert job is not None and job.kind == kind
            hyp = decode(job)
            events += rec.apply(job, hyp, rec.position / SAMPLE_RATE)
    rec.end_of_stream()
    while rec.due() is not None:
        job = rec.make_job()
        events += rec.apply(job, decode(job), rec.position / SAMPLE_RATE)
    return events
