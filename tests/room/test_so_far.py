"""The meeting-so-far catch-up on its own, with a real HTTP OpenAI-compatible server."""

from __future__ import annotations

import json

from agent.minutes.settings import LLMSettings
from agent.room.captions import Caption
from agent.room.so_far import REPLY_BYTES, MeetingSoFar
from tests.minutes.conftest import ScriptedLLM

T0 = 1_800_000_000.0


def final(who: str, at: float, text: str) -> Caption:
    return Caption(who, who.title(), "TR_1", f"{who}-{at}", text, True, "en", T0 + at, T0 + at + 2, ())


async def test_points_need_a_quote_that_was_said_and_are_cached(scripted_llm: ScriptedLLM) -> None:
    history = [final("anna", 5, "We move the launch to March."), final("bob", 30, "I will send the budget.")]
    scripted_llm.answer = lambda msgs: json.dumps({"points": [
        {"speaker": "Bob", "point": "Bob sends the budget.", "quote": "send the budget"},
        {"speaker": "Anna", "point": "Made up.", "quote": "we cancel the project"},
        "not an object",
    ]})  # fmt: skip
    so_far = MeetingSoFar(lambda: history, LLMSettings(base_url=scripted_llm.base_url), started_at=T0)
    first = await so_far.answer("fr")
    assert first["generated"] == "llm" and not first["cached"] and first["segments"] == 2
    assert first["points"] == [
        {"speaker": "Bob", "at": 30.0, "point": "Bob sends the budget.", "quote": "send the budget."}
    ]
    body = scripted_llm.requests[0]["body"]
    assert "French" in body["messages"][0]["content"] and "response_format" not in body
    assert "[00:00:30] Bob: I will send the budget." in body["messages"][1]["content"]
    history.append(final("anna", 60, "Anything else?"))  # new speech, but within the refresh period
    assert (await so_far.answer("fr"))["cached"] and len(scripted_llm.requests) == 1
    so_far.refresh_s = 0.0
    assert not (await so_far.answer("fr"))["cached"] and len(scripted_llm.requests) == 2


async def test_without_llm_or_when_it_fails_the_latest_captions(scripted_llm: ScriptedLLM) -> None:
    history = [final("anna", i * 10, f"Sentence number {i}.") for i in range(8)]
    plain = await MeetingSoFar(lambda: history, None, started_at=T0).answer("en")
    assert plain["generated"] == "extractive"
    assert [p["quote"] for p in plain["points"]] == [f"Sentence number {i}." for i in range(3, 8)]
    scripted_llm.answer = lambda msgs: 500
    scripted_llm.delay_s = 0.0
    failing = MeetingSoFar(
        lambda: history, LLMSettings(base_url=scripted_llm.base_url, retries=0), started_at=T0
    )
    assert (await failing.answer("en"))["generated"] == "extractive"


async def test_reply_fits_an_rpc_answer() -> None:
    history = [final("anna", i, "word " * 400) for i in range(10)]
    answer = await MeetingSoFar(lambda: history, None, started_at=T0).answer("en")
    assert len(json.dumps(answer, ensure_ascii=False).encode()) <= REPLY_BYTES and answer["points"]
