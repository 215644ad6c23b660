"""The right language for every caption, on a real server with the multilingual model: the Visio
preset (``WHISPER_LANGUAGES=fr,en``) captions French speech (neural TTS) in French with no metadata at all,
and a speaker who only gives short replies is captioned in the room's established language, not
in whatever a 99-way detection of one second of audio guessed ("Fail again" came out as Dutch)."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from agent.audio.decode import load_audio
from agent.demo.listener import CaptionReader
from agent.demo.player import Speaker
from agent.samples import synth_speech, tts_clip, word_error_rate
from tests.lk import dispatch, eventually, quiet, token

pytestmark = pytest.mark.e2e

AGENT = "greffier-prior"
# French as Whisper hears real French (neural-TTS clips, detected at 0.97-1.00): espeak's French
# is detected at 0.3-0.5 with English close behind, which made this a test of the voice.
FR_LONG = ("pangrama", "bonjour_monde")
FR_SHORT = "bonjour_monde"  # 1.4 s: a short reply
EN_LONG = "Good morning everyone. We will start with the budget of the city for next year."
EN_SHORT = ["Ever tried.", "Ever failed.", "No matter.", "Try again.", "Fail again.", "Fail better."]


async def _say(speaker: Speaker, lines: list[str], lang: str) -> None:
    for line in lines:
        await speaker.play(synth_speech(line, lang), tail_silence=1.2)


def french(*names: str) -> tuple[np.ndarray, str]:
    clips = [tts_clip("fr", n) for n in names]
    pause = np.zeros(8000, dtype=np.float32)
    audio = np.concatenate([part for c in clips for part in (load_audio(c.wav), pause)])
    return audio, " ".join(c.text for c in clips)


async def test_visio_preset_captions_french_in_french(livekit_server, start_worker) -> None:
    worker = start_worker(AGENT_NAME=AGENT, WHISPER_MODEL="base", WHISPER_LANGUAGES="fr,en")
    room = "preset-fr"
    reader = await CaptionReader.join(livekit_server.url, token(livekit_server, "reader", room))
    claire = await Speaker.join(livekit_server.url, token(livekit_server, "claire", room))
    await claire.publish()
    await dispatch(livekit_server, AGENT, room)  # no room metadata, as Visio dispatches
    worker.wait_for_log("captioning claire", timeout=60)
    audio, said = french(*FR_LONG)
    await claire.play(audio, tail_silence=1.2)
    await eventually(lambda: reader.log.json_finals("claire"), timeout=30)
    await quiet(reader)
    long = reader.log.json_finals("claire")
    # French words, not an English translation (homophones aside: "aux juges blancs" at 42 %).
    assert word_error_rate(said, " ".join(m["text"] for m in long), "fr") < 0.6
    for _ in range(2):  # short replies: French too, never Portuguese or Czech
        await claire.play(french(FR_SHORT)[0], tail_silence=1.2)
    await eventually(lambda: len(reader.log.json_finals("claire")) > len(long), timeout=30)
    await quiet(reader)
    finals = reader.log.json_finals("claire")
    assert {m["language"] for m in finals} == {"fr"}, [(m["language"], m["text"]) for m in finals]
    await claire.leave()
    await reader.leave()


async def test_short_replies_take_the_rooms_language(livekit_server, start_worker) -> None:
    worker = start_worker(AGENT_NAME=AGENT, WHISPER_MODEL="base")  # automatic detection, 99 languages
    room = "short-replies"
    reader = await CaptionReader.join(livekit_server.url, token(livekit_server, "reader", room))
    ana = await Speaker.join(livekit_server.url, token(livekit_server, "ana", room))
    sam = await Speaker.join(livekit_server.url, token(livekit_server, "sam", room))
    for p in (ana, sam):
        await p.publish()
    await dispatch(livekit_server, AGENT, room)
    worker.wait_for_log("captioning sam", timeout=60)
    await _say(ana, [EN_LONG, EN_LONG], "en")  # the room's language: English
    await eventually(lambda: len(reader.log.json_finals("ana")) >= 2, timeout=30)
    await asyncio.sleep(1.0)
    await _say(sam, EN_SHORT, "en")
    # Replies 1.2 s apart may share a final (the VAD's pause); what matters is their language.
    await eventually(lambda: len(reader.log.json_finals("sam")) >= 2, timeout=30)
    await quiet(reader)
    finals = reader.log.json_finals("sam")
    assert {m["language"] for m in finals} == {"en"}, [(m["language"], m["text"]) for m in finals]
    for p in (ana, sam):
        await p.leave()
    await reader.leave()
