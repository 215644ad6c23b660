"""The engine with a real model (tiny.en): shared across streams, guards against hallucination."""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pytest

from agent.asr.engine import SpeechEngine
from agent.asr.scheduler import DecodeScheduler
from agent.asr.settings import AsrSettings
from agent.audio.decode import load_audio
from agent.samples import synth_speech, word_error_rate

TEXT = "The meeting starts at nine with the budget review and ends with questions from the press."


@pytest.fixture(scope="module")
def engine():  # type: ignore[no-untyped-def]
    eng = SpeechEngine(AsrSettings(model="tiny.en"))
    yield eng
    eng.close()


async def feed(engine: SpeechEngine, audio: np.ndarray, stream_id: str, pace: float = 4.0) -> list:  # type: ignore[type-arg]
    stream = engine.create_stream(stream_id=stream_id)
    events: list = []  # type: ignore[type-arg]

    async def consume() -> None:
        async for ev in stream:
            events.append(ev)

    consumer = asyncio.create_task(consume())
    frame = 320
    for i in range(0, len(audio), frame):
        stream.push(audio[i : i + frame])
        if i % (frame * 10) == 0:
            await asyncio.sleep(frame * 10 / 16000 / pace)
    await stream.end()
    await stream.aclose()
    await consumer
    return events


async def test_concurrent_streams_share_one_model(engine) -> None:  # type: ignore[no-untyped-def]
    audio = load_audio(synth_speech(TEXT, "en"))
    padded = np.concatenate([np.zeros(8000, np.float32), audio, np.zeros(16000, np.float32)])
    results = await asyncio.gather(*(feed(engine, padded, f"s{i}") for i in range(3)))
    for events in results:
        finals = " ".join(e.text for e in events if e.is_final)
        assert word_error_rate(TEXT, finals) < 0.35, finals
        assert any(not e.is_final for e in events)
        assert all(e.language == "en" for e in events)
    assert not engine.active_streams
    assert engine.real_time_factor() > 0


async def test_silence_noise_and_clipping_produce_no_captions(engine) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(7)
    silence = np.zeros(16000 * 8, np.float32)
    white = (rng.standard_normal(16000 * 8) * 0.3).astype(np.float32)
    hum = (0.5 * np.sin(2 * np.pi * 50 * np.arange(16000 * 8) / 16000)).astype(np.float32)
    for name, audio in {"silence": silence, "white": white, "hum": hum}.items():
        events = await feed(engine, audio, name, pace=20.0)
        assert not [e for e in events if e.text.strip()], (name, [e.text for e in events])
    # Heavily clipped speech is still speech: no crash, text comes out.
    clipped = np.clip(load_audio(synth_speech(TEXT, "en")) * 20.0, -1.0, 1.0)
    events = await feed(engine, np.concatenate([clipped, np.zeros(16000, np.float32)]), "clip")
    assert any(e.is_final and e.text for e in events)


def test_scheduler_runs_finals_first_and_measures_utilisation() -> None:
    scheduler = DecodeScheduler()
    order: list[str] = []
    try:
        # Occupy the decoder, then queue interims before a final: the final overtakes them.
        blocker = scheduler.submit(lambda: time.sleep(0.3), final=False)
        futures = [scheduler.submit(lambda i=i: order.append(f"interim{i}"), final=False) for i in range(3)]
        futures.append(scheduler.submit(lambda: order.append("final"), final=True))
        for f in [blocker, *futures]:
            f.result(timeout=5)
        assert order[0] == "final"
        assert order[1:] == ["interim0", "interim1", "interim2"]
        assert 0.0 < scheduler.utilisation() <= 1.0
        err = scheduler.submit(lambda: 1 / 0, final=True)
        with pytest.raises(ZeroDivisionError):
            err.result(timeout=5)
    finally:
        scheduler.close()
