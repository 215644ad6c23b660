"""Load-aware dispatch across two workers, and graceful drain on SIGTERM."""

from __future__ import annotations

import asyncio
import signal
import subprocess

import pytest
from livekit import api

from agent.demo.listener import CaptionReader
from agent.demo.player import Speaker
from agent.samples import synth_speech
from tests.lk import admin, eventually, token

pytestmark = pytest.mark.e2e

TALK = "Please keep the minutes of this meeting and send them to everyone by tonight."


async def test_rooms_spread_between_two_workers_by_load(livekit_server, start_worker, tmp_path) -> None:
    common = {"AGENT_NAME": "greffier-lb", "WHISPER_MODEL": "tiny.en", "MAX_ROOMS": "1"}
    a = start_worker(**common, DATA_DIR=str(tmp_path / "a"))
    b = start_worker(**common, DATA_DIR=str(tmp_path / "b"))
    lk = admin(livekit_server)
    guests = []
    try:
        for i in range(2):
            room = f"spread-{i}"
            guests.append(await Speaker.join(livekit_server.url, token(livekit_server, f"guest{i}", room)))
            await lk.agent_dispatch.create_dispatch(
                api.CreateAgentDispatchRequest(agent_name="greffier-lb", room=room)
            )
            await eventually(lambda room=room: f"joined room {room}" in a.output() + b.output(), timeout=30)
            await asyncio.sleep(3.0)  # let the worker report its new load
        # One room each: a full worker (load 1.0 with MAX_ROOMS=1) is not given a second room.
        assert ("joined room spread-0" in a.output()) != ("joined room spread-0" in b.output())
        assert ("joined room spread-1" in a.output()) != ("joined room spread-1" in b.output())
        assert ("joined room spread-0" in a.output()) != ("joined room spread-1" in a.output())
    finally:
        for g in guests:
            await g.room.disconnect()
        await lk.aclose()


async def test_sigterm_drains_keeps_captioning_then_exits(livekit_server, start_worker, tmp_path) -> None:
    worker = start_worker(
        AGENT_NAME="greffier-drain",
        WHISPER_MODEL="tiny.en",
        ROOM_EMPTY_GRACE="1",
        DATA_DIR=str(tmp_path / "data"),
        SENTINEL="false",
    )
    room = "draining"
    lk = admin(livekit_server)
    await lk.agent_dispatch.create_dispatch(
        api.CreateAgentDispatchRequest(agent_name="greffier-drain", room=room)
    )
    reader = await CaptionReader.join(livekit_server.url, token(livekit_server, "reader", room))
    dan = await Speaker.join(livekit_server.url, token(livekit_server, "dan", room))
    await dan.publish()
    worker.wait_for_log("captioning dan", timeout=30)
    worker.proc.send_signal(signal.SIGTERM)
    worker.wait_for_log("draining", timeout=10)

    # Still captioning the current room...
    await dan.play(synth_speech(TALK, "en"), tail_silence=1.5)
    await eventually(lambda: reader.log.finals("dan"), timeout=20)
    # ...but no new room for a draining worker.
    await lk.agent_dispatch.create_dispatch(
        api.CreateAgentDispatchRequest(agent_name="greffier-drain", room="new-room")
    )
    await asyncio.sleep(3)
    assert "joined room new-room" not in worker.output()
    assert worker.proc.poll() is None

    # The room ends: minutes are written, then the worker exits by itself.
    await dan.leave()
    await reader.leave()
    try:
        worker.proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail("worker did not exit after its last room ended")
    assert "minutes" in worker.output() and "claimed=True" in worker.output()
    assert list((tmp_path / "data" / "minutes").rglob("minutes.md"))
    await lk.aclose()
