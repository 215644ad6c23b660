"""Under load: decodes side by side, and finals made cheaper only while others wait.

Why these tests: with four speakers on 2 cores the decoder is the bottleneck. The engine then
runs decodes on several workers, decodes finals greedily while other decodes wait, and lets a
final reuse the interim that already heard the whole utterance. Each of these must switch on only
under load (a lone speaker keeps the wide beam and the early final) and must not lose a word.
"""

from __future__ import annotations

import dataclasses
import threading
from types import SimpleNamespace

import pytest

from agent.asr.agreement import norm
from agent.asr.contracts import DecodeJob, Hypothesis
from agent.asr.decoder import WhisperDecoder
from agent.asr.engine import SpeechEngine
from agent.asr.recognizer import StreamingRecognizer
from agent.asr.scheduler import DecodeScheduler
from agent.asr.settings import AsrSettings, available_cores
from agent.asr.vad import SileroModel
from agent.config import ConfigError
from tests.asr.test_recognizer_policy import RecordingDecoder, ScriptedDecoder, gapped, run_skipping


@pytest.fixture(scope="module")
def vad_model() -> SileroModel:
    return SileroModel()


# -- decode workers ------------------------------------------------------------------------------
def test_two_workers_decode_side_by_side() -> None:
    sched = DecodeScheduler(workers=2)
    both_running = threading.Barrier(2, timeout=5)
    try:
        # Each job waits for the other to be running: one worker alone would time out.
        futures = [sched.submit(both_running.wait, final=False) for _ in range(2)]
        assert sorted(f.result(timeout=10) for f in futures) == [0, 1]
    finally:
        sched.close()
    assert sched.decodes == 2


def test_utilisation_is_a_share_of_all_workers() -> None:
    sched = DecodeScheduler(workers=2, window=10.0)
    try:
        gate = threading.Event()
        fut = sched.submit(lambda: gate.wait(0.3), final=False)
        fut.result(timeout=5)
        # One worker busy ~0.3 s of a 10 s window, out of two workers.
        assert 0.01 <= sched.utilisation() <= 0.02
    finally:
        sched.close()


@pytest.mark.parametrize(("raw", "expected"), [(None, None), ("auto", None), ("1", 1), ("3", 3)])
def test_decode_workers_setting(
    monkeypatch: pytest.MonkeyPatch, raw: str | None, expected: int | None
) -> None:
    if raw is None:
        monkeypatch.delenv("ASR_DECODE_WORKERS", raising=False)
    else:
        monkeypatch.setenv("ASR_DECODE_WORKERS", raw)
    assert AsrSettings.from_env().decode_workers == expected


@pytest.mark.parametrize("raw", ["0", "17", "two"])
def test_bad_decode_workers_is_a_config_error(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv("ASR_DECODE_WORKERS", raw)
    with pytest.raises(ConfigError) as err:
        AsrSettings.from_env()
    assert str(err.value).startswith(f"ASR_DECODE_WORKERS={raw!r} is invalid")


def test_auto_workers_share_out_the_cores() -> None:
    cores = available_cores()
    auto = AsrSettings()
    assert auto.workers_for("cuda") == 1
    assert auto.workers_for("cpu") == min(2, cores)  # one core each: measured faster than shared
    assert AsrSettings(decode_workers=2).threads_per_worker(2) == max(1, min(4, cores // 2))
    workers = auto.workers_for("cpu")
    assert auto.threads_per_worker(workers) == max(1, min(4, cores // workers))
    assert AsrSettings(decode_workers=1).workers_for("cpu") == 1
    assert AsrSettings(cpu_threads=3).threads_per_worker(2) == 3


# -- greedy finals while others wait -------------------------------------------------------------
def test_beam_for_finals_and_hurried_finals() -> None:
    decoder = SimpleNamespace(settings=AsrSettings(beam_size=1, final_beam_size=5))
    beam_for = WhisperDecoder.beam_for.__get__(decoder)
    assert beam_for("final") == 5
    assert beam_for("final", hurry=True) == 1
    assert beam_for("interim") == 1


def _engine(depth: int, final_beam: int = 5) -> SpeechEngine:
    engine = SpeechEngine.__new__(SpeechEngine)
    settings = AsrSettings(final_beam_size=final_beam)
    engine.decoder = SimpleNamespace(settings=settings)  # type: ignore[assignment]
    engine.decoder.beam_for = WhisperDecoder.beam_for.__get__(engine.decoder)  # type: ignore[attr-defined]
    engine.scheduler = SimpleNamespace(depth=depth)  # type: ignore[assignment]
    return engine


def _job(kind: str, loaded: bool = False) -> DecodeJob:
    import numpy as np

    return DecodeJob(kind, np.zeros(16000, np.float32), 0, 16000, "", "en", loaded=loaded)  # type: ignore[arg-type]


def test_finals_hurry_only_under_load() -> None:
    assert _engine(depth=0)._hurry([_job("final")]) is False  # a lone speaker: the wide beam
    assert _engine(depth=2)._hurry([_job("final")]) is True  # others wait behind it
    # Its own stream is behind (the other workers' decodes are not in the queue).
    assert _engine(depth=0)._hurry([_job("final", loaded=True)]) is True
    assert _engine(depth=2)._hurry([_job("interim")]) is False  # interims are greedy anyway
    assert _engine(depth=2, final_beam=1)._hurry([_job("final")]) is False  # nothing to save


# -- a final from the interim that heard it all --------------------------------------------------
class PauseAwareDecoder(RecordingDecoder):
    """The scripted decoder cuts an interim's last word when the STM says it runs past the
    audio; the STM's spread-out word times run a little past where the VAD hears the voice stop,
    but a real decoder given the audio up to a pause hears the whole word. Here interims that
    end in a pause (after the VAD's voice end) are decoded as a real decoder would."""

    def __init__(self, timeline: list[tuple[str, float, float]], rec: StreamingRecognizer) -> None:
        super().__init__(timeline)
        self.rec = rec

    def __call__(self, job: DecodeJob) -> Hypothesis:
        self.jobs.append(job)
        in_pause = job.kind == "interim" and self.rec.vad.tentative_end is not None
        return ScriptedDecoder.__call__(self, dataclasses.replace(job, kind="final") if in_pause else job)


def test_under_back_pressure_finals_reuse_the_interim_that_heard_the_utterance(vad_model) -> None:  # type: ignore[no-untyped-def]
    audio, timeline = gapped([1.0, 1.0, 1.0])
    rec = StreamingRecognizer(vad_model, AsrSettings(model="scripted"), stream_id="busy")
    rec.chunk_seconds = 1.5  # the engine raised it: decodes are slow
    decoder = PauseAwareDecoder(timeline, rec)
    reasons: list[str | None] = []
    skip_final = rec.skip_final

    def recording_skip(job: DecodeJob):  # type: ignore[no-untyped-def]
        reason = skip_final(job)
        if job.kind == "final":
            reasons.append(reason)
        return reason

    rec.skip_final = recording_skip  # type: ignore[method-assign]
    events = run_skipping(rec, audio, decoder)
    finals = [e for e in events if e.is_final]
    assert [norm(w.text) for e in finals for w in e.words] == [norm(t) for t, _, _ in timeline]
    # The pause called for an interim at once (no 1.5 s wait), which heard each utterance to its
    # end: no final needed a decode of its own.
    assert len(finals) == 3 and reasons == ["interim"] * 3
    assert not [j for j in decoder.jobs if j.kind == "final"]
    assert all(j.loaded for j in decoder.jobs)  # a final it did ask for would be decoded greedily
    for final in finals:  # shown when the VAD confirmed the end, not a chunk later
        assert final.emitted_at - final.end < 1.0


def test_without_back_pressure_finals_are_decoded(vad_model) -> None:  # type: ignore[no-untyped-def]
    audio, timeline = gapped([1.0, 1.0])
    decoder = RecordingDecoder(timeline)
    rec = StreamingRecognizer(vad_model, AsrSettings(model="scripted"), stream_id="idle")
    events = run_skipping(rec, audio, decoder)
    assert len([e for e in events if e.is_final]) == 2
    assert len([j for j in decoder.jobs if j.kind == "final"]) == 2  # early finals, decoded
    assert not any(j.loaded for j in decoder.jobs)
