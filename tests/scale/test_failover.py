"""Operating at scale on real servers: failover after SIGKILL, load spreading, drain."""

from __future__ import annotations

import asyncio
import os
import signal
import time

import pytest
from livekit import api

from agent.demo.listener import CaptionReader
from agent.demo.player import Speaker
from agent.samples import synth_speech
from tests.lk import admin, eventually, token

pytestmark = pytest.mark.e2e

AGENT = "greffier-ha"
TALK = "We are reviewing the quarterly numbers. Revenue went up in the north and down in the south."


def env(tmp_path, **extra: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {
        "AGENT_NAME": AGENT,
        "WHISPER_MODEL": "tiny.en",
        "ROOM_EMPTY_GRACE": "2",
        "DATA_DIR": str(tmp_path / "data"),
        **extra,
    }


async def test_sigkill_worker_captions_resume_on_another(livekit_server, start_worker, tmp_path) -> None:
    a = start_worker(**env(tmp_path))
    b = start_worker(**env(tmp_path))
    room = "failover"
    lk = admin(livekit_server)
    await lk.agent_dispatch.create_dispatch(api.CreateAgentDispatchRequest(agent_name=AGENT, room=room))
    reader = await CaptionReader.join(livekit_server.url, token(livekit_server, "reader", room))
    carol = await Speaker.join(livekit_server.url, token(livekit_server, "carol", room))
    await carol.publish()
    speech = synth_speech(TALK, "en")
    await eventually(lambda: "captioning carol" in a.output() + b.output(), timeout=30)
    owner, spare = (a, b) if "captioning carol" in a.output() else (b, a)
    await carol.play(speech, tail_silence=1.0)
    await eventually(lambda: reader.log.finals("carol"), timeout=15)

    os.killpg(owner.proc.pid, signal.SIGKILL)
    killed_at = time.monotonic()
    before = len(reader.log.finals("carol"))
    speaking = asyncio.create_task(_keep_talking(carol, speech))
    try:
        seen = len(reader.log.streams)
        await eventually(lambda: "captioning carol" in spare.output(), timeout=30)
        await eventually(lambda: any(c.sender == "carol" for c in reader.log.streams[seen:]), timeout=30)
        resumed = time.monotonic() - killed_at
        await eventually(lambda: len(reader.log.finals("carol")) > before, timeout=30)
    finally:
        speaking.cancel()
    print(f"captions resumed {resumed:.1f}s after SIGKILL")
    assert resumed < 10.0
    await carol.leave()
    await reader.leave()
    await lk.aclose()


async def _keep_talking(speaker: Speaker, speech) -> None:  # type: ignore[no-untyped-def]
    while True:
        await speaker.play(speech, tail_silence=0.8)
