"""French and English in one real room, with the multilingual model: each speaker's language
comes from their attribute or is detected, and sticks."""

from __future__ import annotations

import asyncio
import json

import pytest
from livekit import api

from agent.demo.listener import CaptionReader
from agent.demo.player import Speaker
from agent.samples import synth_speech, word_error_rate
from tests.lk import admin, dispatch, eventually, quiet, token

pytestmark = pytest.mark.e2e

AGENT = "greffier-lang"
# `base` hears espeak's French poorly: "La réunion commence maintenant ... la mairie" flipped between
# 24 % and 71 % WER with small changes of the audio (Opus, 120 vs 130 wpm); this text stays at 25 %.
FR = "Bonjour à tous. Merci d'être venus. Nous allons parler du budget de l'année prochaine."
EN = "Good morning everyone. We will start with the budget of the city for next year."


async def test_french_and_english_speakers(livekit_server, start_worker, tmp_path) -> None:
    worker = start_worker(AGENT_NAME=AGENT, WHISPER_MODEL="base", DATA_DIR=str(tmp_path / "data"))
    room = "bilingue"
    lk = admin(livekit_server)
    meta = {"greffier": {"language": "fr"}}  # the room's default: French
    await lk.room.create_room(api.CreateRoomRequest(name=room, metadata=json.dumps(meta)))
    await lk.aclose()
    reader = await CaptionReader.join(livekit_server.url, token(livekit_server, "reader", room))
    amelie = await Speaker.join(livekit_server.url, token(livekit_server, "amelie", room))
    john = await Speaker.join(
        livekit_server.url, token(livekit_server, "john", room, attributes={"greffier.language": "en"})
    )
    for p in (amelie, john):
        await p.publish()
    await dispatch(livekit_server, AGENT, room)
    worker.wait_for_log("captioning amelie (track", timeout=30)
    assert "language fr" in worker.output() and "language en" in worker.output()

    await asyncio.gather(
        amelie.play(synth_speech(FR, "fr"), tail_silence=1.5),
        john.play(synth_speech(EN, "en"), tail_silence=1.5),
    )
    await eventually(lambda: reader.log.json_finals("amelie") and reader.log.json_finals("john"), 30)
    await quiet(reader)
    fr = reader.log.json_finals("amelie")
    en = reader.log.json_finals("john")
    assert {m["language"] for m in fr} == {"fr"} and {m["language"] for m in en} == {"en"}
    assert word_error_rate(FR, " ".join(m["text"] for m in fr), "fr") < 0.5
    assert word_error_rate(EN, " ".join(m["text"] for m in en)) < 0.5
    for p in (amelie, john):
        await p.leave()
    await reader.leave()
