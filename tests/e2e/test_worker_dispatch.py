"""The worker on a real livekit-server: explicit dispatch, hidden, one per room, leaves at the end."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from livekit import api, rtc

from tests.lk import admin, eventually, join

pytestmark = pytest.mark.e2e


async def _agents_in(lk: api.LiveKitAPI, room: str) -> list[api.ParticipantInfo]:
    resp = await lk.room.list_participants(api.ListParticipantsRequest(room=room))
    return [p for p in resp.participants if p.kind == api.ParticipantInfo.Kind.AGENT]


async def test_dispatch_hidden_single_agent_and_leave(livekit_server, start_worker) -> None:
    worker = start_worker(AGENT_NAME="greffier-test", ROOM_EMPTY_GRACE="1")
    room_name = "dispatch-room"
    alice = await join(livekit_server, "alice", room_name)
    lk = admin(livekit_server)
    try:
        await lk.agent_dispatch.create_dispatch(
            api.CreateAgentDispatchRequest(agent_name="greffier-test", room=room_name)
        )
        # Joins within seconds, and the server lists it as an agent.
        took = await eventually(lambda: _has_agent(lk, room_name), timeout=20)
        assert took < 20
        agents = await _agents_in(lk, room_name)
        assert [a.identity for a in agents] == ["greffier-test-agent"]
        assert agents[0].permission.hidden
        assert not agents[0].permission.can_publish
        # A participant in the room cannot see it.
        await eventually(lambda: "alice" in (worker.output()), timeout=10)
        assert "greffier-test-agent" not in alice.remote_participants
        assert all(
            p.kind != rtc.ParticipantKind.PARTICIPANT_KIND_AGENT for p in alice.remote_participants.values()
        )

        # A second dispatch does not add a second agent.
        await lk.agent_dispatch.create_dispatch(
            api.CreateAgentDispatchRequest(agent_name="greffier-test", room=room_name)
        )
        worker.wait_for_log("already has a greffier agent", timeout=20)
        assert len(await _agents_in(lk, room_name)) == 1

        # The agent leaves when the room is closed.
        await alice.disconnect()
        await eventually(lambda: _no_agent(lk, room_name), timeout=20)
        worker.wait_for_log("leaving room dispatch-room", timeout=10)
    finally:
        await lk.aclose()
    assert "Traceback" not in worker.output()


async def test_agent_leaves_when_room_deleted(livekit_server, start_worker) -> None:
    worker = start_worker(AGENT_NAME="greffier-del")
    room_name = "deleted-room"
    bob = await join(livekit_server, "bob", room_name)
    lk = admin(livekit_server)
    try:
        await lk.agent_dispatch.create_dispatch(
            api.CreateAgentDispatchRequest(agent_name="greffier-del", room=room_name)
        )
        await eventually(lambda: _has_agent(lk, room_name), timeout=20)
        await lk.room.delete_room(api.DeleteRoomRequest(room=room_name))
        worker.wait_for_log("leaving room deleted-room", timeout=15)
    finally:
        await bob.disconnect()
        await lk.aclose()


async def _has_agent(lk: api.LiveKitAPI, room: str) -> bool:
    return len(await _agents_in(lk, room)) == 1


async def _no_agent(lk: api.LiveKitAPI, room: str) -> bool:
    try:
        return not await _agents_in(lk, room)
    except api.TwirpError:
        return True  # the room is gone


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"LIVEKIT_URL": ""}, "LIVEKIT_URL is not set"),
        ({"LIVEKIT_URL": "not a url"}, "LIVEKIT_URL='not a url' is invalid"),
        ({"LIVEKIT_API_SECRET": ""}, "LIVEKIT_API_SECRET is not set"),
        ({"AGENT_NAME": "bad name!"}, "AGENT_NAME='bad name!' is invalid"),
        ({"JOB_EXECUTOR": "fork"}, "JOB_EXECUTOR='fork' is invalid"),
        ({"LEGACY_TRANSCRIPTION": "replace"}, "LEGACY_TRANSCRIPTION='replace' is invalid"),
    ],
)
def test_bad_config_is_one_line_exit_2(env: dict[str, str], needle: str, tmp_path) -> None:
    base = {
        "LIVEKIT_URL": "ws://127.0.0.1:1",
        "LIVEKIT_API_KEY": "k",
        "LIVEKIT_API_SECRET": "s",
        "PATH": "/usr/bin:/bin",
    }
    if "PYTHONPATH" in os.environ:  # a checkout beside the installed one tests its own code
        base["PYTHONPATH"] = os.environ["PYTHONPATH"]
    base.update(env)
    proc = subprocess.run(
        [sys.executable, "-m", "agent", "start"],
        env=base,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert needle in lines[0]
    assert "Traceback" not in proc.stderr
