"""Crowds and stalled clients in a real room: 50 participants joining and leaving within 10 s, and
a caption reader whose process stops reading. The room goes on for the others each time.
(README: "Hostile input"; ``bench/hostile_bench.py`` measures memory over the same scenarios.)"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time

import pytest
from livekit import api

from agent.demo.listener import CaptionReader
from agent.demo.livekit_server import free_port
from agent.demo.player import Speaker
from agent.samples import synth_speech
from bench.hostile_bench import FROZEN
from bench.soak_bench import gauge
from tests.lk import admin, dispatch, eventually, token

pytestmark = pytest.mark.e2e

AGENT = "greffier-crowd"
AGENT_ID = f"{AGENT}-agent"
SENTENCES = [
    "The library opens on Monday morning and the reading room closes at six in the evening.",
    "The garden behind the town hall will be closed for repairs until the end of the month.",
    "Please send the signed forms to the secretary before the meeting on Thursday afternoon.",
]
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture
async def worker(start_worker):  # type: ignore[no-untyped-def]
    port = free_port()  # chosen now: one picked at import time may be taken by then
    w = start_worker(
        AGENT_NAME=AGENT, WHISPER_MODEL="tiny.en", ROOM_EMPTY_GRACE="2", PROMETHEUS_PORT=str(port)
    )
    w.metrics_port = port
    return w


def loop_tasks(worker) -> float:  # type: ignore[no-untyped-def]
    """The room loop's asyncio tasks, from the worker's metrics (set at each heartbeat)."""
    value = gauge(worker.metrics_port, "greffier_room_asyncio_tasks")
    assert value is not None, "metrics endpoint did not answer"
    return value


async def status(reader: CaptionReader) -> dict:  # type: ignore[type-arg]
    return json.loads(await reader.rpc("greffier.status", "", AGENT_ID))


def errors(log: str) -> list[str]:
    marks = ("Traceback", '"ERROR"', " ERROR ")
    return [line for line in log.splitlines() if any(m in line for m in marks)]


async def anna_captioned(server, worker, room: str) -> tuple[CaptionReader, Speaker]:  # type: ignore[no-untyped-def]
    """A reader and Anna, who publishes, in ``room`` with the agent captioning her."""
    reader = await CaptionReader.join(server.url, token(server, "reader", room))
    anna = await Speaker.join(server.url, token(server, "anna", room, name="Anna"))
    await anna.publish()
    await dispatch(server, AGENT, room)
    worker.wait_for_log("captioning anna", timeout=30)
    return reader, anna


def said(reader: CaptionReader, who: str, word: str) -> bool:
    return word in reader.log.final_text(who).lower()


async def test_fifty_participants_within_ten_seconds(livekit_server, worker) -> None:
    url, room = livekit_server.url, "crowd"
    reader, anna = await anna_captioned(livekit_server, worker, room)
    hello = synth_speech("Hello, I am only passing through.", "en")
    await asyncio.sleep(3.0)  # a heartbeat or two with Anna alone
    before = loop_tasks(worker)
    t0 = time.monotonic()

    async def visit(i: int) -> None:
        await asyncio.sleep(i * 0.15)  # 50 arrivals over 7.5 s
        p = await Speaker.join(url, token(livekit_server, f"visitor-{i}", room))
        await p.publish()
        await p.play(hello, stop_at=0.6, tail_silence=0.2)
        await p.leave()

    storm = asyncio.gather(*(visit(i) for i in range(50)))
    await anna.play(synth_speech(SENTENCES[0], "en"), tail_silence=1.5)  # she speaks through it
    await storm
    storm_seconds = time.monotonic() - t0
    await eventually(lambda: said(reader, "anna", "library"), timeout=30)
    try:
        await eventually(lambda: _only(reader, {"anna"}), timeout=40)
    except AssertionError:
        raise AssertionError(f"left behind after the crowd: {await status(reader)}") from None
    # Every reader and SDK stream of the 50 ended too, not only the pipelines' bookkeeping.
    try:
        await eventually(lambda: loop_tasks(worker) <= before, timeout=30, interval=1.0)
    except AssertionError:
        now = loop_tasks(worker)
        raise AssertionError(f"room loop tasks {now:.0f}, {before:.0f} before the crowd") from None
    await anna.play(synth_speech(SENTENCES[1], "en"), tail_silence=1.5)
    await eventually(lambda: said(reader, "anna", "garden"), timeout=30)
    await anna.leave()
    await reader.leave()
    assert not errors(worker.output())
    assert storm_seconds < 30, f"the crowd took {storm_seconds:.0f} s to come and go (scenario too slow)"


async def _only(reader: CaptionReader, identities: set[str]) -> bool:
    s = await status(reader)
    return set(s["transcribed"]) == identities and s["engine_streams"] == len(identities)


async def test_a_reader_that_stops_reading(livekit_server, worker) -> None:
    url, room = livekit_server.url, "stalled"
    reader, anna = await anna_captioned(livekit_server, worker, room)
    frozen = subprocess.Popen(
        [sys.executable, "-c", FROZEN, url, token(livekit_server, "frozen", room)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert frozen.stdout is not None and frozen.stdout.readline().strip() == "joined"
        os.kill(frozen.pid, signal.SIGSTOP)  # its sockets stop being read; the SFU keeps sending
        for sentence, word in zip(SENTENCES, ("library", "garden", "secretary"), strict=True):
            await anna.play(synth_speech(sentence, "en"), tail_silence=1.5)
            await eventually(lambda w=word: said(reader, "anna", w), timeout=30)
        assert (await status(reader))["transcribed"] == ["anna"]  # the agent still answers
        # The server drops the frozen client once its pings go unanswered; the room goes on.
        lk = admin(livekit_server)
        try:
            async def gone() -> bool:
                res = await lk.room.list_participants(api.ListParticipantsRequest(room=room))
                return "frozen" not in {p.identity for p in res.participants}

            await eventually(gone, timeout=60)
        finally:
            await lk.aclose()
        await anna.play(synth_speech(SENTENCES[0], "en"), tail_silence=1.5)
        await eventually(lambda: len(reader.log.finals("anna")) >= 4, timeout=30)
    finally:
        os.killpg(frozen.pid, signal.SIGKILL)
        frozen.wait()
    await anna.leave()
    await reader.leave()
    assert not errors(worker.output())
