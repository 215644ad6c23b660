"""Hostile and broken input in one real room: odd sample rates, stereo, clipping, noise, three
microphones from one participant, a 10 KB name full of control characters, malformed and 60 KB
room metadata, garbage and oversized RPC payloads, 100 calls a second. The room goes on for
everyone, nothing crashes, no transcript text reaches the logs. (README: "Hostile input".)"""

from __future__ import annotations

import asyncio
import json
import time

import numpy as np
import pytest
from livekit import api, rtc

from agent.audio.decode import load_audio
from agent.demo.listener import CaptionReader
from agent.samples import synth_speech
from agent.samples.text import word_error_rate as wer
from tests.lk import admin, dispatch, eventually, token

pytestmark = pytest.mark.e2e

AGENT = "greffier-hostile"
AGENT_ID = f"{AGENT}-agent"
SENTENCE = "The library opens on Monday morning and the reading room closes at six in the evening."
EVIL_NAME = "Eve\r\nINFO forged log line\x00\x1b[31m 🙂 مرحبا עברית " + "x" * 10_000


class Publisher:
    """A participant publishing microphones at any sample rate and channel count."""

    def __init__(self, room: rtc.Room) -> None:
        self.room = room
        self.sources: list[rtc.AudioSource] = []

    async def track(self, rate: int, channels: int) -> rtc.AudioSource:
        source = rtc.AudioSource(rate, channels, queue_size_ms=100)
        self.sources.append(source)
        track = rtc.LocalAudioTrack.create_audio_track(f"mic{len(self.sources)}", source)
        opts = rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE)
        await self.room.local_participant.publish_track(track, opts)
        return source

    @staticmethod
    async def play(source: rtc.AudioSource, audio: np.ndarray, tail: float = 1.5) -> None:
        """``audio``: float samples at the source's rate, shape (n,) or (n, channels)."""
        rate, channels = source.sample_rate, source.num_channels
        audio = audio.reshape(len(audio), -1)
        audio = np.concatenate([audio, np.zeros((int(tail * rate), audio.shape[1]))])
        pcm = (np.clip(audio, -1.0, 1.0) * 32767).astype(np.int16)
        if pcm.shape[1] != channels:
            pcm = np.repeat(pcm[:, :1], channels, axis=1)
        frame = rate // 50
        start = time.monotonic()
        for i in range(0, len(pcm) - frame + 1, frame):
            chunk = np.ascontiguousarray(pcm[i : i + frame])
            await source.capture_frame(rtc.AudioFrame(chunk.tobytes(), rate, channels, frame))
            delay = start + (i + frame) / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)


def speech_at(rate: int) -> np.ndarray:
    wav = synth_speech(SENTENCE, "en")
    return load_audio(wav, sample_rate=rate)


async def test_hostile_room_goes_on(livekit_server, start_worker) -> None:
    worker = start_worker(
        AGENT_NAME=AGENT, WHISPER_MODEL="tiny.en", ROOM_EMPTY_GRACE="2",
        MAX_TRACKS_PER_PARTICIPANT="2",
        MAX_METADATA_BYTES="16384",
    )
    url, room = livekit_server.url, "hostile"
    lk = admin(livekit_server)
    await lk.room.create_room(api.CreateRoomRequest(name=room, metadata="{not json"))

    reader = await CaptionReader.join(url, token(livekit_server, "reader", room))
    eve_room = rtc.Room()
    await eve_room.connect(url, token(livekit_server, "eve", room, name=EVIL_NAME))
    low_room = rtc.Room()
    await low_room.connect(url, token(livekit_server, "low", room))
    triple_room = rtc.Room()
    await triple_room.connect(url, token(livekit_server, "triple", room))
    eve, low, triple = Publisher(eve_room), Publisher(low_room), Publisher(triple_room)
    eve_mic = await eve.track(48_000, 2)  # stereo at 48 kHz
    low_mic = await low.track(8_000, 1)  # telephone band
    triple_mics = [await triple.track(44_100, 1) for _ in range(3)]  # three microphones
    await dispatch(livekit_server, AGENT, room)
    worker.wait_for_log("captioning eve", timeout=30)
    worker.wait_for_log("MAX_TRACKS_PER_PARTICIPANT=2", timeout=15)

    # 60 KB of room metadata, set by the backend mid-meeting: over MAX_METADATA_BYTES, ignored
    # and logged; the room goes on.
    huge = json.dumps({"greffier": {"title": "t" * 61_000}})
    await lk.room.update_room_metadata(api.UpdateRoomMetadataRequest(room=room, metadata=huge))
    await lk.aclose()

    rng = np.random.default_rng(7)
    loud = np.clip(speech_at(44_100) * 8.0, -1.0, 1.0)  # clipped
    noise = rng.uniform(-1.0, 1.0, 44_100 * 6)  # full scale
    spam = asyncio.gather(
        *(
            reader.rpc(method, payload, AGENT_ID)
            for method, payload in [
                ("greffier.captions.history", "\x00\xff{{{" * 50),
                ("greffier.captions.history", json.dumps({"since": -5})),
                ("greffier.captions.history", "x" * 14_000),
                ("greffier.status", "garbage"),
            ]
            * 25
        ),
        return_exceptions=True,
    )
    await asyncio.gather(
        Publisher.play(eve_mic, speech_at(48_000)),
        Publisher.play(low_mic, speech_at(8_000)),
        Publisher.play(triple_mics[0], loud),
        Publisher.play(triple_mics[1], noise),
        Publisher.play(triple_mics[2], np.zeros(44_100 * 6)),
    )
    answers = await spam
    assert any(isinstance(a, str) for a in answers)  # the first calls were answered
    refused = [a for a in answers if isinstance(a, rtc.RpcError)]
    assert refused, "100 calls at once must meet the rate limit"

    await eventually(lambda: reader.log.finals("eve") and reader.log.finals("low"), timeout=30)
    # tiny.en on synthetic speech, 5 streams on 2 cores: the bar is "heard as speech" (a wrong
    # rate or channel layout gives nothing or noise words), not accuracy (0.1-0.56 seen).
    assert wer(SENTENCE, reader.log.final_text("eve")) < 0.75
    # 8 kHz loses the upper band: captioned, less accurately (tiny.en heard "I bring a real open
    # mama and make more morning and a reading room, ... six in the evening").
    assert wer(SENTENCE, reader.log.final_text("low")) < 0.85
    # The name as others see it: one line, cut, no control characters.
    names = {m["speaker"]["name"] for m in reader.log.messages if m["speaker"]["identity"] == "eve"}
    assert names and all(len(n) <= 128 and "\r" not in n and "\n" not in n and "\x00" not in n for n in names)
    # Still answering; the third microphone was never followed.
    status = json.loads(await reader.rpc("greffier.status", "", AGENT_ID))
    assert status["active"] is True
    assert status["pipelines"] <= 4  # eve, low, two of triple's

    out = worker.output()
    assert "Traceback" not in out
    assert "library" not in out.lower()  # no transcript text in the logs
    assert "INFO forged log line" not in out  # the name cannot forge a log line
    assert "room metadata of hostile ignored" in out
    for r in (eve_room, low_room, triple_room):
        await r.disconnect()
    await reader.leave()
