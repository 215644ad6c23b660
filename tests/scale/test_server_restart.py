"""livekit-server restarts or runs as two nodes: captions keep flowing."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time

import pytest
from livekit import api

from agent.demo.listener import CaptionReader
from agent.demo.livekit_server import LocalLiveKitServer, free_port
from agent.demo.player import Speaker
from agent.samples import synth_speech
from tests.conftest import WorkerProcess
from tests.lk import admin, eventually, token

pytestmark = pytest.mark.e2e

TALK = "The new schedule starts on Monday and the team meets every morning at ten."


async def _talk_until_captioned(
    speaker: Speaker, reader: CaptionReader, identity: str, timeout: float
) -> float:
    start = time.monotonic()
    seen = len(reader.log.streams)
    speech = synth_speech(TALK, "en")
    while time.monotonic() - start < timeout:
        await speaker.play(speech, tail_silence=1.0)
        if any(c.sender == identity and c.final for c in reader.log.streams[seen:]):
            return time.monotonic() - start
    raise AssertionError(f"no new caption from {identity} within {timeout}s")


async def test_livekit_server_restart_mid_meeting(tmp_path) -> None:
    server = LocalLiveKitServer(log_path=tmp_path / "lk1.log", empty_timeout=30, departure_timeout=20).start()
    worker = WorkerProcess(
        server,
        tmp_path / "worker.log",
        {
            "AGENT_NAME": "greffier-rs",
            "WHISPER_MODEL": "tiny.en",
            "DATA_DIR": str(tmp_path / "data"),
            "ROOM_EMPTY_GRACE": "10",
        },
    )
    try:
        worker.wait_for_log("registered worker", 60)
        room = "restart"
        lk = admin(server)
        await lk.agent_dispatch.create_dispatch(
            api.CreateAgentDispatchRequest(agent_name="greffier-rs", room=room)
        )
        await lk.aclose()
        reader = await CaptionReader.join(server.url, token(server, "reader", room))
        erin = await Speaker.join(server.url, token(server, "erin", room))
        await erin.publish()
        worker.wait_for_log("captioning erin", 30)
        await _talk_until_captioned(erin, reader, "erin", 30)

        server.stop()
        await asyncio.sleep(1.0)
        server.log_path = tmp_path / "lk2.log"
        server.start()
        restarted = time.monotonic()
        # Clients and the agent reconnect on their own; captions resume.
        took = await _talk_until_captioned(erin, reader, "erin", 90)
        print(
            f"captions resumed {time.monotonic() - restarted:.1f}s after the server restart"
            f" ({took:.1f}s talking)"
        )
        await erin.leave()
        await reader.leave()
    finally:
        worker.stop()
        server.stop()


async def test_two_nodes_sharing_redis(tmp_path) -> None:
    assert shutil.which("redis-server"), "redis-server is installed by scripts/bootstrap.sh"
    redis_port = free_port()
    redis = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(redis_port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    nodes = [
        LocalLiveKitServer(log_path=tmp_path / f"node{i}.log", redis_address=f"127.0.0.1:{redis_port}")
        for i in range(2)
    ]
    workers: list[WorkerProcess] = []
    try:
        for node in nodes:
            node.start()
        for i, node in enumerate(nodes):
            workers.append(
                WorkerProcess(
                    node,
                    tmp_path / f"worker{i}.log",
                    {
                        "AGENT_NAME": "greffier-mn",
                        "WHISPER_MODEL": "tiny.en",
                        "DATA_DIR": str(tmp_path / "data"),
                    },
                )
            )
        for w in workers:
            w.wait_for_log("registered worker", 60)
        for i, node in enumerate(nodes):
            room = f"node-room-{i}"
            lk = admin(node)
            await lk.agent_dispatch.create_dispatch(
                api.CreateAgentDispatchRequest(agent_name="greffier-mn", room=room)
            )
            await lk.aclose()
            reader = await CaptionReader.join(node.url, token(node, "reader", room))
            guest = await Speaker.join(node.url, token(node, f"guest{i}", room))
            await guest.publish()
            await eventually(lambda i=i: any(f"captioning guest{i}" in w.output() for w in workers), 30)
            await _talk_until_captioned(guest, reader, f"guest{i}", 40)
            await guest.leave()
            await reader.leave()
    finally:
        for w in workers:
            w.stop()
        for node in nodes:
            node.stop()
        redis.terminate()
        redis.wait()
