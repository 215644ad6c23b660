"""Lifecycle and consent on the real path: mute, leave/rejoin, opt-out, stop/start by RPC, churn."""

from __future__ import annotations

import asyncio
import json

import pytest

from agent.demo.listener import CaptionReader
from agent.demo.player import Speaker
from agent.samples import synth_speech
from tests.lk import dispatch, eventually, quiet, token

pytestmark = pytest.mark.e2e

AGENT = "greffier-ctl"
AGENT_ID = f"{AGENT}-agent"
SENTENCE = (
    "The committee will meet again on Thursday morning to review the budget for the new library. "
    "Everyone should bring the printed reports and the list of questions from last week."
)


@pytest.fixture
async def worker(start_worker):  # type: ignore[no-untyped-def]
    return start_worker(AGENT_NAME=AGENT, WHISPER_MODEL="tiny.en", ROOM_EMPTY_GRACE="2")


async def status(reader: CaptionReader) -> dict:  # type: ignore[type-arg]
    return json.loads(await reader.rpc("greffier.status", "", AGENT_ID))


async def test_mute_leave_rejoin(livekit_server, worker) -> None:
    url, room = livekit_server.url, "lifecycle"
    speech = synth_speech(SENTENCE, "en")
    reader = await CaptionReader.join(url, token(livekit_server, "reader", room))
    alice = await Speaker.join(url, token(livekit_server, "alice", room))
    await alice.publish()
    await dispatch(livekit_server, AGENT, room)
    worker.wait_for_log("captioning alice", timeout=30)

    # Mute mid-sentence: what was said is finalised though the speaker never paused.
    play = asyncio.create_task(alice.play(speech, stop_at=4.0, tail_silence=0.0))
    await play
    await alice.mute()
    await eventually(lambda: reader.log.finals("alice"), timeout=10)
    assert "committee" in reader.log.final_text("alice").lower()
    await alice.mute(False)

    # Leave mid-sentence: the sentence is finalised too.
    before = len(reader.log.finals("alice"))
    await alice.play(speech, stop_at=5.0, tail_silence=0.0)
    await alice.leave()
    await eventually(lambda: len(reader.log.finals("alice")) > before, timeout=15)
    await eventually(lambda: _no_pipelines(reader), timeout=10)

    # Rejoin: captions resume on the new track.
    alice = await Speaker.join(url, token(livekit_server, "alice", room))
    await alice.publish()
    count = len(reader.log.finals("alice"))
    await alice.play(speech, tail_silence=1.5)
    await eventually(lambda: len(reader.log.finals("alice")) > count, timeout=15)
    assert "library" in " ".join(c.text for c in reader.log.finals("alice")[count:]).lower()
    await alice.leave()
    await reader.leave()


async def _no_pipelines(reader: CaptionReader) -> bool:
    s = await status(reader)
    return s["pipelines"] == 0 and s["engine_streams"] == 0


async def test_opt_out_and_rpc_stop_start(livekit_server, worker) -> None:
    url, room = livekit_server.url, "consent"
    speech = synth_speech(SENTENCE, "en")
    # The reader holds the organiser's grant: it may stop captions for the room.
    reader = await CaptionReader.join(url, token(livekit_server, "reader", room, manage_agents=True))
    bob = await Speaker.join(url, token(livekit_server, "bob", room, attributes={"greffier.opt_out": "true"}))
    carol = await Speaker.join(url, token(livekit_server, "carol", room))
    await bob.publish()
    await carol.publish()
    await dispatch(livekit_server, AGENT, room)
    worker.wait_for_log("captioning carol", timeout=30)
    await eventually(lambda: reader.log.statuses, timeout=10)

    await asyncio.gather(bob.play(speech), carol.play(speech, tail_silence=1.5))
    await eventually(lambda: reader.log.finals("carol"), timeout=15)
    assert not [c for c in reader.log.streams if c.sender == "bob"]
    assert all(m["speaker"]["identity"] != "bob" for m in reader.log.messages)
    # The indicator: an attribute on each participant, and the status message.
    await eventually(lambda: carol.room.local_participant.attributes.get("greffier.captions") == "active", 10)
    assert bob.room.local_participant.attributes.get("greffier.captions") == "opted-out"
    assert (await status(reader))["transcribed"] == ["carol"]

    # Stop by RPC: nothing more is captioned; the indicator says so.
    stopped = json.loads(await reader.rpc("greffier.captions.stop", "", AGENT_ID))
    assert stopped["active"] is False
    await eventually(lambda: _no_pipelines(reader), timeout=20)  # sentences in progress finalised
    await quiet(reader, calm=2.0)  # their last captions may still be on the wire
    count = len(reader.log.streams)
    await carol.play(speech, stop_at=3.0)
    await asyncio.sleep(2.0)
    assert len(reader.log.streams) == count
    await eventually(lambda: carol.room.local_participant.attributes.get("greffier.captions") == "paused", 10)

    # Start again: captions come back.
    started = json.loads(await reader.rpc("greffier.captions.start", "", AGENT_ID))
    assert started["active"] is True
    await carol.play(speech, tail_silence=1.5)
    await eventually(lambda: len(reader.log.finals("carol")) >= 2, timeout=15)
    # Opting out mid-meeting removes the participant's captions from the history.
    await carol.room.local_participant.set_attributes({"greffier.opt_out": "true"})
    await eventually(lambda: _history_total(reader, 0), timeout=10)
    for p in (bob, carol):
        await p.leave()
    await reader.leave()


async def _history_total(reader: CaptionReader, expected: int) -> bool:
    page = json.loads(await reader.rpc("greffier.captions.history", "{}", AGENT_ID))
    return page["total"] == expected


async def test_twenty_participants_churn_leaves_no_pipeline(livekit_server, worker) -> None:
    url, room = livekit_server.url, "churn"
    reader = await CaptionReader.join(url, token(livekit_server, "reader", room))
    await dispatch(livekit_server, AGENT, room)
    worker.wait_for_log("joined room churn", timeout=30)
    speech = synth_speech("Hello everyone, I am joining for a moment.", "en")

    async def visit(i: int) -> None:
        p = await Speaker.join(url, token(livekit_server, f"visitor-{i}", room))
        await p.publish()
        await p.play(speech, stop_at=1.0 + (i % 3) * 0.5, tail_silence=0.0)
        await p.leave()

    await asyncio.gather(*(visit(i) for i in range(20)))
    try:
        await eventually(lambda: _no_pipelines(reader), timeout=30)
    except AssertionError:
        raise AssertionError(f"leaked: {await status(reader)}") from None
    await reader.leave()
