"""Translated captions on the real path: a real livekit-server, a French and an English speaker,
listeners who ask for French (attribute), English (RPC) or nothing, and an OpenAI-compatible
HTTP server as the translator. Each listener gets the originals and, from the other language's
speaker only, translations in the language they asked for; nobody else sees them; a language
nobody asks for any more is not translated."""

from __future__ import annotations

import asyncio
import json
import re

import numpy as np
import pytest

from agent.audio.decode import load_audio
from agent.demo.listener import CaptionReader, StreamCaption
from agent.demo.player import Speaker
from agent.samples import tts_clip
from tests.lk import dispatch, eventually, quiet, token
from tests.minutes.conftest import ScriptedLLM, smollm2_or_skip

pytestmark = pytest.mark.e2e

AGENT = "greffier-translate"
AGENT_ID = f"{AGENT}-agent"
LANGUAGE_RPC = "greffier.captions.language"
FRENCH = {"greffier.language": "fr"}  # a speaker's language, given (detection is tested elsewhere)


def clip_audio(*names: tuple[str, str]) -> np.ndarray:
    pause = np.zeros(8000, dtype=np.float32)
    return np.concatenate([p for lang, n in names for p in (load_audio(tts_clip(lang, n).wav), pause)])


def translations(reader: CaptionReader) -> list[StreamCaption]:
    return [c for c in reader.log.streams if "greffier.language" in c.attributes]


def covered(translation: StreamCaption) -> list[str]:
    """The original segments a translation covers: its own, or those it caught up on."""
    own = translation.segment_id.rsplit(".", 1)[0]
    return translation.attributes.get("greffier.translated_segments", own).split(",")


async def rpc(reader: CaptionReader, method: str, payload: str) -> str:
    """The agent just joined: its RPC route may take a moment to exist at the caller's end."""
    for _ in range(10):
        try:
            return await reader.rpc(method, payload, AGENT_ID)
        except Exception as exc:
            if "timeout" not in str(exc).lower():
                raise
            await asyncio.sleep(1.0)
    return await reader.rpc(method, payload, AGENT_ID)


def system(request: dict) -> str:  # type: ignore[type-arg]
    return str(request["body"]["messages"][0]["content"])


def answer(messages: list[dict[str, str]]) -> str:
    """The translator: marks the caption with the target language named in the prompt."""
    target = re.search(r"into (\w+)\.", messages[0]["content"])
    caption = re.search(r"<caption>\n(.*)\n</caption>", messages[-1]["content"], re.S)
    assert target and caption, messages
    return f"[{target.group(1)}] {caption.group(1)}"


async def test_listeners_get_captions_in_their_language(
    livekit_server, start_worker, scripted_llm: ScriptedLLM
) -> None:
    scripted_llm.answer = answer
    worker = start_worker(
        AGENT_NAME=AGENT, WHISPER_MODEL="base", WHISPER_LANGUAGES="fr,en",
        TRANSLATE_BACKEND="llm", TRANSLATE_LLM_BASE_URL=scripted_llm.base_url, TRANSLATE_LANGUAGES="fr,en",
    )  # fmt: skip
    room = "translate-room"
    url = livekit_server.url
    lea = await CaptionReader.join(
        url, token(livekit_server, "lea", room, attributes={"greffier.caption_language": "fr"})
    )
    ed = await CaptionReader.join(url, token(livekit_server, "ed", room))
    plain = await CaptionReader.join(url, token(livekit_server, "plain", room))
    # Their languages are given: this test is about routing translations, and detection among
    # fr,en once heard the English TTS clip as French ("The Quick Brown de la faute de la").
    amelie = await Speaker.join(url, token(livekit_server, "amelie", room, attributes=FRENCH))
    english = {"greffier.language": "en"}
    john = await Speaker.join(url, token(livekit_server, "john", room, attributes=english))
    for s in (amelie, john):
        await s.publish()
    await dispatch(livekit_server, AGENT, room)
    worker.wait_for_log("captioning john", timeout=60)
    worker.wait_for_log("captioning amelie", timeout=30)
    answer_ed = json.loads(await rpc(ed, LANGUAGE_RPC, json.dumps({"language": "en"})))
    assert (
        answer_ed["language"] == "en" and answer_ed["enabled"] and set(answer_ed["available"]) == {"fr", "en"}
    )
    with pytest.raises(Exception, match="not offered"):
        await plain.rpc(LANGUAGE_RPC, json.dumps({"language": "ja"}), AGENT_ID)

    await john.play(clip_audio(("en", "quick_brown_fox"), ("en", "hello_world")), tail_silence=1.5)
    await amelie.play(clip_audio(("fr", "bonjour_monde"), ("fr", "pangrama")), tail_silence=1.5)
    await eventually(lambda: translations(lea) and translations(ed), timeout=60)
    await quiet(plain)
    await asyncio.sleep(1.0)

    for reader in (lea, ed, plain):  # the originals reach everyone
        assert reader.log.finals("john") and reader.log.finals("amelie")
    assert translations(plain) == []  # asked for nothing: sees nothing more
    for reader, lang, speaker, source, name in (
        (lea, "fr", "john", "en", "French"),
        (ed, "en", "amelie", "fr", "English"),
    ):
        got = translations(reader)
        assert {c.sender for c in got} == {speaker}, [(c.sender, c.text) for c in got]
        wanted = {i for g in got for i in covered(g)}
        originals = {c.segment_id: c.text for c in reader.log.finals(speaker) if c.segment_id in wanted}
        for c in got:
            assert c.final and c.attributes["greffier.language"] == lang
            assert c.attributes["greffier.translated_from"] == source
            base = c.segment_id.rsplit(".", 1)[0]
            assert c.segment_id == f"{base}.{lang}" and base in originals
            # This segment's words translated (and the next ones' if it caught up on several).
            assert c.text == f"[{name}] " + " ".join(originals.get(i, "?") for i in covered(c))
        assert len({c.segment_id for c in got}) == len(got)  # each segment once per language
        json_got = [m for m in reader.log.messages if m.get("translated_from")]
        assert json_got and {m["language"] for m in json_got} == {lang}
    # Never into the speaker's own language: the LLM was asked English→French and French→English only.
    asked = {
        (re.search(r"from (\w+) into (\w+)", r["body"]["messages"][0]["content"]).groups())
        for r in scripted_llm.requests
    }
    assert asked == {("English", "French"), ("French", "English")}

    # Ed leaves: English is no longer asked for, so Amelie is not translated any more.
    await ed.leave()
    await asyncio.sleep(1.0)
    before = len(scripted_llm.requests)
    await amelie.play(clip_audio(("fr", "bonjour_monde")), tail_silence=1.5)
    await eventually(lambda: len(plain.log.finals("amelie")) >= 2, timeout=30)
    await asyncio.sleep(2.0)
    assert all(
        "into English" not in r["body"]["messages"][0]["content"] for r in scripted_llm.requests[before:]
    )
    status = json.loads(await plain.rpc("greffier.status", "", AGENT_ID))
    assert status["translation"]["enabled"] and status["translation"]["translating"] == ["fr"]
    assert "Traceback" not in worker.output()
    for p in (lea, plain, amelie, john):
        await p.leave()


async def test_a_slow_translator_catches_up_in_one_call_per_run_of_finals(
    livekit_server, start_worker, scripted_llm: ScriptedLLM
) -> None:
    """A translator slower than the speaker (8 s a call, one at a time): the finals that waited
    are translated together, published once under the first one's id and naming all of them, so
    every final is translated exactly once and the last one is not left far behind."""
    scripted_llm.answer = answer
    scripted_llm.delay_s = 8.0  # about two finals' time: the ones waiting meanwhile go together
    worker = start_worker(
        AGENT_NAME=AGENT, WHISPER_MODEL="base", WHISPER_LANGUAGES="en", TRANSLATE_BACKEND="llm",
        TRANSLATE_LLM_BASE_URL=scripted_llm.base_url, TRANSLATE_LANGUAGES="fr,en",
        TRANSLATE_MAX_IN_FLIGHT="1",
    )  # fmt: skip
    room = "translate-catch-up"
    url = livekit_server.url
    lea = await CaptionReader.join(
        url, token(livekit_server, "lea", room, attributes={"greffier.caption_language": "fr"})
    )
    english = {"greffier.language": "en"}
    john = await Speaker.join(url, token(livekit_server, "john", room, attributes=english))
    await john.publish()
    await dispatch(livekit_server, AGENT, room)
    worker.wait_for_log("captioning john", timeout=60)
    names = ("hello_world", "quick_brown_fox", "counting", "hello_world")
    pause = np.zeros(16000, dtype=np.float32)  # 1 s: each clip its own final
    audio = np.concatenate([p for n in names for p in (load_audio(tts_clip("en", n).wav), pause)])
    await john.play(audio, tail_silence=1.5)
    originals = lambda: [c for c in lea.log.finals("john") if "greffier.language" not in c.attributes]  # noqa: E731
    finals = lambda: {c.segment_id: c.text for c in originals()}  # noqa: E731
    done = lambda: {i for g in translations(lea) for i in covered(g)}  # noqa: E731
    await eventually(
        lambda: len(finals()) >= 3 and set(finals()) <= done(), timeout=90, seen=lambda: lea.log.finals()
    )
    got = translations(lea)
    ids = [i for g in got for i in covered(g)]
    assert sorted(ids) == sorted(finals()) and len(ids) == len(set(ids))  # each final once
    assert len(got) < len(finals()) and any(len(covered(g)) > 1 for g in got), [g.attributes for g in got]
    for g in got:
        assert g.segment_id == f"{covered(g)[0]}.fr"
        assert g.text == "[French] " + " ".join(finals()[i] for i in covered(g))
    merged = [m for m in lea.log.messages if m.get("translated_from") and len(m["original_segment_ids"]) > 1]
    assert merged and all(m["original_segment_id"] == m["original_segment_ids"][0] for m in merged)
    assert len(scripted_llm.requests) == len(got)  # one call per translation published
    assert "Traceback" not in worker.output()
    for p in (lea, john):
        await p.leave()


async def test_the_worker_translates_with_its_own_local_model(livekit_server, start_worker) -> None:
    """``TRANSLATE_BACKEND=local``: llama.cpp in the worker (SmolLM2-135M here; a 1.5 B model in
    production). Its translations are poor; that they arrive, marked and routed, is the point."""
    model = smollm2_or_skip()
    worker = start_worker(
        AGENT_NAME=AGENT, WHISPER_MODEL="base", WHISPER_LANGUAGES="fr,en", TRANSLATE_BACKEND="local",
        TRANSLATE_MODEL_PATH=str(model), TRANSLATE_LANGUAGES="fr,en", TRANSLATE_THREADS="1",
    )  # fmt: skip
    room = "translate-local"
    url = livekit_server.url
    lea = await CaptionReader.join(
        url, token(livekit_server, "lea", room, attributes={"greffier.caption_language": "fr"})
    )
    john = await Speaker.join(url, token(livekit_server, "john", room))
    await john.publish()
    await dispatch(livekit_server, AGENT, room)
    worker.wait_for_log("captioning john", timeout=60)
    await john.play(clip_audio(("en", "quick_brown_fox")), tail_silence=1.5)
    await eventually(lambda: translations(lea), timeout=60, seen=lambda: lea.log.finals())
    got = translations(lea)
    assert {c.sender for c in got} == {"john"}
    assert all(c.attributes["greffier.language"] == "fr" and c.text.strip() for c in got)
    # Loaded before the worker registered (its load holds the GIL): llama.cpp's server started
    # before livekit-agents logged the registration that start_worker waited for.
    out = worker.output()
    assert 0 <= out.find("srv          init") < out.find("registered worker"), out[:2000]
    assert "local translation model loaded" in out  # logged at start, shown once logging is set up
    assert "Traceback" not in worker.output()
    for p in (lea, john):
        await p.leave()


async def test_whisper_translates_into_english_from_the_speakers_audio(livekit_server, start_worker) -> None:
    """``TRANSLATE_BACKEND=whisper``: no LLM anywhere; the speech model's translate task turns a
    French speaker's finals into English for the listener who asked, from the audio itself."""
    worker = start_worker(
        AGENT_NAME=AGENT, WHISPER_MODEL="base", WHISPER_LANGUAGES="fr,en", TRANSLATE_BACKEND="whisper",
    )  # fmt: skip
    room = "translate-whisper"
    url = livekit_server.url
    ed_token = token(livekit_server, "ed", room, attributes={"captions_language": "en"})
    ed = await CaptionReader.join(url, ed_token)
    plain = await CaptionReader.join(url, token(livekit_server, "plain", room))
    amelie = await Speaker.join(url, token(livekit_server, "amelie", room, attributes=FRENCH))
    await amelie.publish()
    await dispatch(livekit_server, AGENT, room)
    worker.wait_for_log("captioning amelie", timeout=60)
    with pytest.raises(Exception, match="not offered"):  # English only
        await plain.rpc(LANGUAGE_RPC, json.dumps({"language": "fr"}), AGENT_ID)
    await amelie.play(clip_audio(("fr", "bonjour_monde"), ("fr", "comptage")), tail_silence=1.5)
    await eventually(lambda: translations(ed), timeout=60, seen=lambda: ed.log.finals())
    await quiet(ed)
    got = translations(ed)
    originals = {c.segment_id: c.text for c in ed.log.finals("amelie")}
    assert got and {c.sender for c in got} == {"amelie"} and translations(plain) == []
    for c in got:
        assert c.attributes["greffier.language"] == "en" and c.attributes["greffier.translated_from"] == "fr"
        base = c.segment_id.rsplit(".", 1)[0]
        assert base in originals and c.text.strip() and c.text != originals[base], (originals, c.text)
    english = " ".join(c.text for c in got).lower()
    assert any(w in english for w in ("hello", "world", "one", "two", "three", "four")), (originals, english)
    assert "Traceback" not in worker.output()
    for p in (ed, plain, amelie):
        await p.leave()
