"""Who may stop captions, on a real server: a guest cannot, a forged attribute does not help, the
organisers (by token grant or by room metadata) can; calls over the limits get clear RPC errors."""

from __future__ import annotations

import asyncio
import json

import pytest
from livekit import api, rtc

from agent.demo.listener import CaptionReader
from agent.demo.player import Speaker
from agent.samples import synth_speech
from tests.lk import admin, dispatch, eventually, token

pytestmark = pytest.mark.e2e

AGENT = "greffier-policy"
AGENT_ID = f"{AGENT}-agent"
SENTENCE = "The library opens on Monday morning and the reading room closes at six in the evening."


async def _rpc_error(reader: CaptionReader, method: str, payload: str = "") -> rtc.RpcError:
    with pytest.raises(rtc.RpcError) as caught:
        await reader.rpc(method, payload, AGENT_ID)
    return caught.value


async def _status(reader: CaptionReader) -> dict:  # type: ignore[type-arg]
    return json.loads(await reader.rpc("greffier.status", "", AGENT_ID))


async def test_only_organisers_switch_captions(livekit_server, start_worker) -> None:
    worker = start_worker(
        AGENT_NAME=AGENT, WHISPER_MODEL="tiny.en", ROOM_EMPTY_GRACE="2", RPC_RATE_PER_PARTICIPANT="2"
    )
    url, room = livekit_server.url, "policy"
    lk = admin(livekit_server)
    meta = {"greffier": {"controllers": ["chair"]}}
    await lk.room.create_room(api.CreateRoomRequest(name=room, metadata=json.dumps(meta)))
    await lk.aclose()

    guest = await CaptionReader.join(url, token(livekit_server, "guest", room))
    # Everything a participant can set about itself claims control: none of it may count.
    forged = {"greffier.controllers": "mallory", "role": "owner", "greffier.captions": "active"}
    mallory = await CaptionReader.join(url, token(livekit_server, "mallory", room, attributes=forged))
    await mallory.room.local_participant.set_metadata(json.dumps(meta | {"controllers": ["mallory"]}))
    chair = await CaptionReader.join(url, token(livekit_server, "chair", room))
    owner = await CaptionReader.join(url, token(livekit_server, "owner", room, manage_agents=True))
    alice = await Speaker.join(url, token(livekit_server, "alice", room))
    await alice.publish()
    await dispatch(livekit_server, AGENT, room)
    worker.wait_for_log("captioning alice", timeout=30)

    # A guest's stop is refused with a message, logged, and captions go on.
    error = await _rpc_error(guest, "greffier.captions.stop")
    assert "not allowed" in error.message
    error = await _rpc_error(mallory, "greffier.captions.stop")
    assert "not allowed" in error.message
    assert (await _status(guest))["active"] is True
    await alice.play(synth_speech(SENTENCE, "en"), tail_silence=1.5)
    await eventually(lambda: guest.log.finals("alice"), timeout=20)
    assert "refused greffier.captions.stop from guest" in worker.output()
    assert "refused greffier.captions.stop from mallory" in worker.output()

    # A controller named in the room metadata may stop and start them.
    stopped = json.loads(await chair.rpc("greffier.captions.stop", "", AGENT_ID))
    assert stopped["active"] is False
    assert "captions stopped in room policy by chair" in worker.output()
    # A guest cannot start them again either.
    error = await _rpc_error(guest, "greffier.captions.start")
    assert "not allowed" in error.message
    assert (await _status(owner))["active"] is False
    # The holder of the canManageAgentSession grant may.
    started = json.loads(await owner.rpc("greffier.captions.start", "", AGENT_ID))
    assert started["active"] is True

    # Limits: an oversized payload, then a burst of calls from one participant.
    error = await _rpc_error(guest, "greffier.captions.history", json.dumps({"since": 0, "pad": "x" * 4000}))
    assert error.code == rtc.RpcError.ErrorCode.REQUEST_PAYLOAD_TOO_LARGE
    results = await asyncio.gather(
        *(guest.rpc("greffier.status", "", AGENT_ID) for _ in range(20)), return_exceptions=True
    )
    refused = [r for r in results if isinstance(r, rtc.RpcError)]
    assert refused and all("too many calls" in r.message for r in refused)
    assert len(refused) < 20  # the first calls of the burst are answered
    # Others in the room are not limited by the guest's burst.
    assert (await _status(owner))["active"] is True
    # The burst did not write a log line per call.
    assert worker.output().count("refused greffier.status from guest") <= 2

    for p in (guest, mallory, chair, owner):
        await p.leave()
    await alice.leave()
