"""The livekit-agents STT plugin, driven only through livekit-agents' own STT API.

Real speech (espeak-ng) through tiny.en: 48 kHz frames into ``stt.stream()`` (so the plugin's
resampler runs), paced faster than real time so that interims have time to appear, then
``end_input()``; and ``recognize()`` on a whole buffer. No assertion on timings.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import numpy as np
import pytest
from livekit import rtc
from livekit.agents import stt

from agent.asr.livekit_stt import WhisperSTT
from agent.asr.settings import AsrSettings
from agent.audio.decode import load_audio
from agent.samples import SampleUnavailableError, normalize_for_wer, synth_speech

UTTERANCES = ("Please send the report to the team before Friday.", "We need to finish the design this week.")
KEY_WORDS = {"please", "send", "report", "team", "friday", "finish", "design", "week"}
Ev = stt.SpeechEventType


@pytest.fixture(scope="module")
def plugin() -> Iterator[WhisperSTT]:
    plugin = WhisperSTT(settings=AsrSettings(model="tiny.en", device="cpu"))
    yield plugin
    plugin.engine.close()


def speech(sample_rate: int) -> np.ndarray:
    """Two utterances with a pause between them, half a second of silence before, one after."""
    try:
        paths = [synth_speech(text, "en") for text in UTTERANCES]
    except SampleUnavailableError as exc:
        pytest.skip(str(exc))
    silence = np.zeros(sample_rate, dtype=np.float32)
    first, second = (load_audio(path, sample_rate) for path in paths)
    return np.concatenate(
        [silence[: sample_rate // 2], first, silence, silence[: sample_rate // 5], second, silence]
    )


def frames(audio: np.ndarray, sample_rate: int, channels: int = 1, ms: int = 20) -> list[rtc.AudioFrame]:
    pcm = (np.clip(audio, -1, 1) * 32767).astype(np.int16)
    pcm = np.repeat(pcm[:, None], channels, axis=1)  # interleaved when channels > 1
    step = sample_rate * ms // 1000
    return [
        rtc.AudioFrame(
            data=pcm[i : i + step].tobytes(),
            sample_rate=sample_rate,
            num_channels=channels,
            samples_per_channel=len(pcm[i : i + step]),
        )
        for i in range(0, len(pcm), step)
    ]


def key_words_found(text: str) -> set[str]:
    return KEY_WORDS & set(normalize_for_wer(text).split())


def test_capabilities(plugin: WhisperSTT) -> None:
    caps = plugin.capabilities
    assert caps.streaming and caps.interim_results
    assert caps.aligned_transcript == "word"
    assert plugin.model == "tiny.en"


async def test_stream_interim_then_final(plugin: WhisperSTT) -> None:
    audio = speech(48000)
    stream = plugin.stream()
    events: list[stt.SpeechEvent] = []

    async def collect() -> None:
        async for ev in stream:
            events.append(ev)

    collector = asyncio.create_task(collect())
    for frame in frames(audio, 48000):
        stream.push_frame(frame)
        await asyncio.sleep(0.01)  # 20 ms of audio every ~10 ms: about 2x real time
    stream.end_input()
    await asyncio.wait_for(collector, timeout=120)
    await stream.aclose()

    kinds = [ev.type for ev in events]
    assert Ev.START_OF_SPEECH in kinds and Ev.INTERIM_TRANSCRIPT in kinds and Ev.FINAL_TRANSCRIPT in kinds
    first = kinds.index
    assert first(Ev.START_OF_SPEECH) < first(Ev.INTERIM_TRANSCRIPT) < first(Ev.FINAL_TRANSCRIPT)
    assert [k for k in kinds if k != Ev.RECOGNITION_USAGE][-1] == Ev.END_OF_SPEECH
    assert kinds.count(Ev.START_OF_SPEECH) >= 2  # one per utterance
    # Every utterance: START, interims, FINAL, (usage), END, in that order.
    in_speech = False
    for kind in kinds:
        if kind == Ev.START_OF_SPEECH:
            assert not in_speech
            in_speech = True
        elif kind in (Ev.INTERIM_TRANSCRIPT, Ev.FINAL_TRANSCRIPT):
            assert in_speech
        elif kind == Ev.END_OF_SPEECH:
            assert in_speech and Ev.FINAL_TRANSCRIPT in kinds[: kinds.index(kind) + 1]
            in_speech = False

    finals = [ev.alternatives[0] for ev in events if ev.type == Ev.FINAL_TRANSCRIPT]
    text = " ".join(f.text for f in finals)
    assert len(key_words_found(text)) >= len(KEY_WORDS) - 2, text
    duration = len(audio) / 48000
    for f in finals:
        assert f.language == "en"
        assert 0 <= f.start_time < f.end_time <= duration + 0.5
        assert 0 < f.confidence <= 1
        assert f.words and f.words[0].start_time == pytest.approx(f.start_time)
    usage = sum(ev.recognition_usage.audio_duration for ev in events if ev.type == Ev.RECOGNITION_USAGE)
    assert usage == pytest.approx(duration, abs=0.1)


async def test_recognize_buffer_stereo_44k(plugin: WhisperSTT) -> None:
    buffer = frames(speech(44100), 44100, channels=2, ms=100)
    event = await plugin.recognize(buffer)
    assert event.type == Ev.FINAL_TRANSCRIPT
    result = event.alternatives[0]
    assert len(key_words_found(result.text)) >= len(KEY_WORDS) - 2, result.text
    assert result.language == "en"
    assert result.words and result.start_time < result.end_time


async def test_recognize_silence_is_empty(plugin: WhisperSTT) -> None:
    event = await plugin.recognize(frames(np.zeros(2 * 16000, dtype=np.float32), 16000))
    assert event.alternatives[0].text == ""
