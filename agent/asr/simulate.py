"""Feed a whole recording through the streaming policy on a simulated real-time clock.

Exactly what a live stream would see, without waiting: audio "arrives" in 20 ms frames; when a
decode is due it runs and takes the wall time it really takes on the simulated clock, and the audio
that would have arrived meanwhile is fed before the result is applied. Latencies measured this
way match a real-time run with one stream on one decoder, in a fraction of the time.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from agent.asr import redecode
from agent.asr.contracts import DecodeJob, Hypothesis
from agent.asr.decoder import WhisperDecoder
from agent.asr.events import TranscriptEvent
from agent.asr.language import LanguageVote
from agent.asr.recognizer import StreamingRecognizer
from agent.asr.settings import AsrSettings
from agent.asr.vad import SileroModel
from agent.timebase import SAMPLE_RATE

DecodeFn = Callable[[DecodeJob, LanguageVote], Hypothesis]
FRAME = SAMPLE_RATE // 50  # 20 ms, as WebRTC delivers


def simulate_stream(
    audio: np.ndarray,
    decoder: WhisperDecoder,
    vad_model: SileroModel,
    settings: AsrSettings,
    *,
    pace: float | None = None,
    on_event: Callable[[TranscriptEvent], None] | None = None,
    progress: Callable[[float], None] | None = None,
    language: str | None = None,
    decode: DecodeFn | None = None,
    cost: Callable[[DecodeJob, Hypothesis], float] | None = None,
) -> list[TranscriptEvent]:
    """Return every event. ``pace`` None runs as fast as the CPU allows; ``pace`` N also paces the
    feed at N x real time with sleeps (1 = a live stream). Either way a decode advances the
    simulated clock by the wall time it took, so latencies are those of a real-time stream.
    ``decode`` replaces the engine's (``redecode.decode_job`` on ``decoder``), to observe it.
    ``cost`` gives the seconds a decode takes on the simulated clock instead of its wall time: a
    fixed cost model makes a run independent of the machine's load (the same interims, so the
    same words), which comparisons of accuracy need."""
    if decode is None:
        decode = lambda job, votes: redecode.decode_job(decoder, job, votes)  # noqa: E731
    rec = StreamingRecognizer(vad_model, settings, stream_id="file", language=language)
    events: list[TranscriptEvent] = []
    fed = 0
    clock = 0.0  # simulated audio-clock seconds
    wall_start = time.monotonic()

    def emit(evs: list[TranscriptEvent]) -> None:
        for ev in evs:
            events.append(ev)
            if on_event:
                on_event(ev)

    def feed_until(t: float) -> None:
        nonlocal fed
        target = min(len(audio), int(t * SAMPLE_RATE))
        while fed + FRAME <= target or (fed < target and target == len(audio)):
            rec.push(audio[fed : fed + FRAME])
            fed = min(len(audio), fed + FRAME)
            if pace:
                ahead = fed / SAMPLE_RATE / pace - (time.monotonic() - wall_start)
                if ahead > 0:
                    time.sleep(ahead)

    while True:
        kind = rec.due()
        if kind is None:
            if fed >= len(audio):
                rec.end_of_stream()
                if rec.due() is None:
                    break
                continue
            clock = max(clock, fed / SAMPLE_RATE) + FRAME / SAMPLE_RATE
            feed_until(clock)
            if progress:
                progress(fed / SAMPLE_RATE)
            continue
        job = rec.make_job()
        if job is None:
            continue
        if rec.skip_final(job):
            emit(rec.apply(job, None, clock))
            continue
        hyp = decode(job, rec.languages)
        clock = max(clock, fed / SAMPLE_RATE) + (cost(job, hyp) if cost else hyp.seconds)
        feed_until(clock)
        emit(rec.apply(job, hyp, max(clock, job.end_sample / SAMPLE_RATE)))
    return events
