"""``TRANSLATE_BACKEND=local`` on the real runtime: llama.cpp (xllamacpp) with SmolLM2-135M, in
this process. SmolLM2 translates poorly; what is checked is the plumbing a 1.5 B model gets: one
load for every room, freed with the last, threads at background priority, settings errors."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from agent.config import ConfigError
from agent.priority import BACKGROUND_NICENESS
from agent.translate.local import LocalTranslator, SharedLocalModel, preload
from agent.translate.settings import TranslateSettings
from tests.minutes.conftest import smollm2_or_skip


@pytest.fixture
def smollm2() -> Path:
    return smollm2_or_skip()


def thread_niceness() -> dict[str, tuple[str, int]]:
    """Each thread of this process: its name and nice value (field 19 of /proc/.../stat)."""
    out = {}
    for task in Path("/proc/self/task").iterdir():
        stat = (task / "stat").read_text()
        fields = stat[stat.rindex(")") + 2 :].split()
        out[task.name] = (stat[stat.index("(") + 1 : stat.rindex(")")], int(fields[16]))
    return out


def settings_for(monkeypatch: pytest.MonkeyPatch, model: Path) -> TranslateSettings:
    monkeypatch.setenv("TRANSLATE_BACKEND", "local")
    monkeypatch.setenv("TRANSLATE_MODEL_PATH", str(model))
    monkeypatch.setenv("TRANSLATE_THREADS", "1")
    monkeypatch.delenv("LLM_BASE_URL", raising=False)
    monkeypatch.delenv("TRANSLATE_LLM_BASE_URL", raising=False)
    return TranslateSettings.from_env()


async def test_rooms_share_one_local_model_at_background_priority(
    monkeypatch: pytest.MonkeyPatch, smollm2: Path
) -> None:
    settings = settings_for(monkeypatch, smollm2)
    assert settings.enabled and settings.llm.model_path == str(smollm2.resolve())
    shared = SharedLocalModel()
    before = set(thread_niceness())
    a, b = LocalTranslator(settings, shared), LocalTranslator(settings, shared)
    assert shared.loads == 0  # nothing loads before someone asks for a translation
    first, second = await asyncio.gather(
        a.translate("Good morning everyone.", "en", "fr"),
        b.translate("Thank you.", "en", "fr", [("Hello.", "Bonjour.")]),
    )
    assert first.strip() and second.strip()  # real model output (its quality is not judged here)
    assert shared.loads == 1 and shared.users == 2
    now = thread_niceness()
    background = {t for t, (_, nice) in now.items() if nice >= BACKGROUND_NICENESS}
    # llama.cpp's HTTP and slot threads (all named "python": counted, not named) run niced;
    # the threads that were there before (the event loop's among them) keep their priority.
    assert len(background) >= 3 and not background & before, now
    await a.aclose()
    assert shared.users == 1  # still serving the other room
    assert (await b.translate("See you tomorrow.", "en", "de")).strip()
    await b.aclose()
    assert shared.users == 0 and shared._server is None  # freed with the last room


async def test_a_model_that_cannot_load_fails_its_calls_fast(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, smollm2: Path
) -> None:
    from agent.minutes.llm import LLMError

    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF" + b"\0" * 64)  # passes the start-up check, cannot load
    settings = settings_for(monkeypatch, broken)
    translator = LocalTranslator(settings, SharedLocalModel())
    with pytest.raises(LLMError, match="did not load"):
        await translator.translate("Hello.", "en", "fr")
    with pytest.raises(LLMError, match="did not load"):  # not retried for every caption
        await translator.translate("Hello again.", "en", "fr")
    await translator.aclose()
    # The worker loads it before registering: a file that cannot load stops it with one line.
    shared = SharedLocalModel()
    with pytest.raises(ConfigError, match=r"TRANSLATE_MODEL_PATH=.*broken\.gguf: the model did not load"):
        preload(settings, shared)
    assert shared.users == 0 and shared._server is None


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"TRANSLATE_BACKEND": "local"}, "TRANSLATE_BACKEND=local needs a model"),
        ({"TRANSLATE_BACKEND": "local", "TRANSLATE_MODEL_PATH": "/nope.gguf"}, "TRANSLATE_MODEL_PATH='/nope"),
        ({"TRANSLATE_BACKEND": "local", "TRANSLATE_MODEL_PATH": __file__}, "expected a GGUF model file"),
        ({"TRANSLATE_BACKEND": "off", "TRANSLATE_THREADS": "-1"}, "TRANSLATE_THREADS"),
    ],
)
def test_local_backend_settings_errors(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], message: str
) -> None:
    for key in ("TRANSLATE_MODEL_PATH", "TRANSLATE_THREADS", "LLM_BASE_URL", "TRANSLATE_LLM_BASE_URL"):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(".", r"\.")):
        TranslateSettings.from_env()
