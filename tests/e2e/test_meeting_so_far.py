"""“The meeting so far” on the real path: a real livekit-server, two speakers, one of whom opts out
afterwards, and a late joiner who asks for the catch-up through RPC. The summary comes from an
OpenAI-compatible HTTP server; greffier keeps only points whose quote was really said, never sends
the opted-out speaker's words, and answers the next joiner from its cache."""

from __future__ import annotations

import json
import re

import pytest

from agent.demo.listener import CaptionReader
from agent.demo.player import Speaker
from agent.samples import synth_speech
from tests.lk import dispatch, eventually, quiet, token
from tests.minutes.conftest import ScriptedLLM

pytestmark = pytest.mark.e2e

AGENT = "greffier-sofar"
AGENT_ID = f"{AGENT}-agent"
ANNA = "The library will open on Saturday mornings from next month."
OSCAR = "My salary negotiation with the mayor is still secret."


def summary(messages: list[dict[str, str]]) -> str:
    """The LLM: one point quoting Anna's words as transcribed, one with a quote nobody said."""
    transcript = re.search(r"<transcript>\n(.*)\n</transcript>", messages[-1]["content"], re.S)
    if not transcript:
        return "{}"
    anna = next((line for line in transcript.group(1).splitlines() if "Anna:" in line), "")
    if not anna:
        return "{}"
    quote = " ".join(anna.split("Anna:", 1)[1].split()[:5])
    return json.dumps({"points": [
        {"speaker": "Anna", "point": "The library opens on Saturdays.", "quote": quote},
        {"speaker": "Anna", "point": "Invented.", "quote": "we will close every school tomorrow"},
    ]})  # fmt: skip


async def test_late_joiner_gets_a_grounded_catch_up_without_opted_out_words(
    livekit_server, start_worker, scripted_llm: ScriptedLLM
) -> None:
    scripted_llm.answer = summary
    worker = start_worker(AGENT_NAME=AGENT, WHISPER_MODEL="tiny.en", LLM_BASE_URL=scripted_llm.base_url)
    room = "so-far"
    url = livekit_server.url
    reader = await CaptionReader.join(url, token(livekit_server, "reader", room))
    anna = await Speaker.join(url, token(livekit_server, "anna", room, name="Anna"))
    oscar = await Speaker.join(url, token(livekit_server, "oscar", room, name="Oscar"))
    for s in (anna, oscar):
        await s.publish()
    await dispatch(livekit_server, AGENT, room)
    worker.wait_for_log("captioning oscar", timeout=60)
    await anna.play(synth_speech(ANNA, "en"), tail_silence=1.5)
    await oscar.play(synth_speech(OSCAR, "en"), tail_silence=1.5)
    await eventually(lambda: reader.log.finals("anna") and reader.log.finals("oscar"), timeout=40)
    await quiet(reader)
    await oscar.room.local_participant.set_attributes({"greffier.opt_out": "true"})
    worker.wait_for_log("participant oscar opted out", timeout=20)

    late = await CaptionReader.join(url, token(livekit_server, "late", room))
    answer = json.loads(await late.rpc("greffier.meeting.so_far", json.dumps({"language": "en"}), AGENT_ID))
    assert answer["generated"] == "llm" and answer["language"] == "en" and not answer["cached"]
    # The point whose quote nobody said is dropped.
    assert [p["point"] for p in answer["points"]] == ["The library opens on Saturdays."]
    point = answer["points"][0]
    assert point["speaker"] == "Anna" and point["quote"].lower() in reader.log.final_text("anna").lower()
    sent = "\n".join(m["content"] for r in scripted_llm.requests for m in r["body"]["messages"])
    assert "salary" not in sent.lower() and "Oscar" not in sent  # opted out: never sent, never shown
    calls = len(scripted_llm.requests)
    again = json.loads(await reader.rpc("greffier.meeting.so_far", "", AGENT_ID))
    assert again["cached"] and again["points"] == answer["points"] and len(scripted_llm.requests) == calls
    assert "Traceback" not in worker.output()
    for p in (reader, late, anna, oscar):
        await p.leave()
