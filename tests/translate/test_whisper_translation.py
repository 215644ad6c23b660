"""Into English by Whisper's own translate task: the settings, the routing per language pair, the
audio a stream keeps for it, its place behind every caption decode, and the real model (base)
translating a French final from the stream's kept audio."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import numpy as np
import pytest

from agent.asr.engine import SpeechEngine
from agent.asr.recent import RecentAudio
from agent.asr.scheduler import DecodeScheduler
from agent.asr.settings import AsrSettings
from agent.audio.decode import load_audio
from agent.config import ConfigError
from agent.samples import tts_clip
from agent.translate import TranslateSettings, TranslationService
from agent.translate.service import Translation
from tests.translate.test_translate_units import SlowTranslator

ENV = ("TRANSLATE_BACKEND", "TRANSLATE_LANGUAGES", "TRANSLATE_WHISPER_FROM", "WHISPER_MODEL", "LLM_BASE_URL")


@dataclass(frozen=True)
class Final:
    text: str
    language: str
    segment_id: str = "s-1"


def test_settings_route_pairs_and_refuse_english_only_models(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (*ENV, "TRANSLATE_LLM_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TRANSLATE_BACKEND", "whisper")
    s = TranslateSettings.from_env()  # no LLM needed
    assert s.enabled and s.uses_whisper and s.targets == ("en",)
    assert s.by_whisper("fr", "en") and s.by_whisper("de", "en") and not s.by_whisper("en", "fr")
    monkeypatch.setenv("TRANSLATE_LANGUAGES", "en,fr")
    with pytest.raises(ConfigError, match=r"into English only: expected TRANSLATE_LANGUAGES=en"):
        TranslateSettings.from_env()
    monkeypatch.delenv("TRANSLATE_LANGUAGES")
    monkeypatch.setenv("WHISPER_MODEL", "tiny.en")
    with pytest.raises(ConfigError, match=r"WHISPER_MODEL='tiny\.en' is English-only"):
        TranslateSettings.from_env()
    # An LLM for the rest, Whisper for French into English only.
    monkeypatch.setenv("WHISPER_MODEL", "base")
    monkeypatch.setenv("TRANSLATE_BACKEND", "llm")
    monkeypatch.setenv("LLM_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("TRANSLATE_WHISPER_FROM", "FR")
    s = TranslateSettings.from_env()
    assert s.by_whisper("fr", "en") and not s.by_whisper("de", "en") and not s.by_whisper("en", "fr")
    for bad in ("*,fr", "french", "fr;de"):
        monkeypatch.setenv("TRANSLATE_WHISPER_FROM", bad)
        with pytest.raises(ConfigError, match="TRANSLATE_WHISPER_FROM="):
            TranslateSettings.from_env()
    monkeypatch.setenv("TRANSLATE_WHISPER_FROM", "")
    assert not TranslateSettings.from_env().uses_whisper


async def test_service_sends_each_pair_to_its_translator(caplog: pytest.LogCaptureFixture) -> None:
    out: list[Translation] = []
    heard: list[str] = []

    async def whisper(caption: Final) -> str:
        heard.append(caption.segment_id)
        if caption.segment_id == "gone":
            raise LookupError("the utterance's audio is no longer kept")
        return f"whisper:{caption.text}"

    llm = SlowTranslator(delay=0.01)
    settings = TranslateSettings(backend="llm", whisper_from=frozenset({"fr"}))
    service = TranslationService(llm, settings, out.append, whisper=whisper)
    service.submit(Final("Bonjour.", "fr", "a"), ["en", "de"])
    service.submit(Final("Hallo.", "de", "b"), ["en"])
    service.submit(Final("Secret budget.", "fr", "gone"), ["en"])
    await service.aclose()
    got = sorted((t.original.segment_id, t.language, t.text) for t in out)
    assert got == [("a", "de", "de:Bonjour."), ("a", "en", "whisper:Bonjour."), ("b", "en", "en:Hallo.")]
    assert sorted(heard) == ["a", "gone"] and [c[:3] for c in llm.calls if c[2] == "en"] == [
        ("Hallo.", "de", "en")
    ]
    assert "no longer kept" in caplog.text and "Secret" not in caplog.text
    # Whisper alone: a pair it does not serve is a failure, not a crash.
    whisper_only = TranslateSettings(backend="whisper", whisper_from=frozenset({"*"}))
    only = TranslationService(None, whisper_only, out.append, whisper=whisper)
    only.submit(Final("Hola.", "es", "c"), ["en"])
    await only.aclose()
    assert out[-1].text == "whisper:Hola."
    with pytest.raises(ValueError, match="needs a translator or Whisper"):
        TranslationService(None, settings, out.append)


def test_recent_audio_keeps_a_bounded_window_on_the_stream_clock() -> None:
    recent = RecentAudio(seconds=2.0)
    ramp = np.arange(16000 * 5, dtype=np.float32)
    for i in range(0, ramp.size, 1600):
        recent.push(ramp[i : i + 1600])
    assert recent.end == ramp.size and sum(c.size for c in recent._chunks) <= 2 * 16000 + 1600
    piece = recent.slice(4.0, 4.5)
    assert piece is not None and piece[0] == 4 * 16000 and piece.size == 8000
    assert recent.slice(1.0, 2.0) is None  # evicted
    assert recent.slice(4.9, 9.0).size == 1600  # clipped at what was pushed
    for i in range(40):
        recent.remember(f"s{i}", i, i + 1, "fr")
    assert recent.span("s0") is None and recent.span("s39") == (39, 40, "fr")


def test_background_work_waits_for_every_caption_decode() -> None:
    scheduler = DecodeScheduler()
    order: list[str] = []
    try:
        blocker = scheduler.submit(lambda: time.sleep(0.3), final=False)
        futures = [scheduler.submit_background(lambda: order.append("translate"))]
        futures += [scheduler.submit(lambda i=i: order.append(f"interim{i}"), final=False) for i in range(2)]
        futures.append(scheduler.submit(lambda: order.append("final"), final=True))
        for f in [blocker, *futures]:
            f.result(timeout=5)
        assert order == ["final", "interim0", "interim1", "translate"]
    finally:
        scheduler.close()


@pytest.fixture(scope="module")
def base_engine():  # type: ignore[no-untyped-def]
    eng = SpeechEngine(AsrSettings(model="base", languages=("fr", "en")))
    yield eng
    eng.close()


async def test_a_french_final_comes_out_in_english_from_the_kept_audio(base_engine: SpeechEngine) -> None:
    clip = tts_clip("fr", "bonjour_monde")
    audio = np.concatenate([np.zeros(8000, np.float32), load_audio(clip.wav), np.zeros(16000, np.float32)])
    stream = base_engine.create_stream(stream_id="fr-1", language="fr", keep_seconds=60.0)
    plain = base_engine.create_stream(stream_id="fr-2", language="fr")
    finals = []

    async def consume() -> None:
        async for ev in stream:
            if ev.is_final:
                finals.append(ev)

    consumer = asyncio.create_task(consume())
    for s in (stream, plain):
        for i in range(0, audio.size, 320):
            s.push(audio[i : i + 320])
    await stream.end()
    await plain.end()
    english = [await stream.translate(ev.segment_id) for ev in finals]
    await stream.aclose()
    await plain.aclose()
    await consumer
    assert finals and all(e.language == "fr" for e in finals)
    said = " ".join(english).lower()
    french = " ".join(e.text for e in finals).lower()
    assert said and said != french, (french, said)
    assert any(w in said for w in ("hello", "world", "good morning", "everyone")), (french, said)
    with pytest.raises(LookupError):
        await stream.translate("no-such-segment")
    with pytest.raises(LookupError):
        await plain.translate(finals[0].segment_id)  # keeps nothing
