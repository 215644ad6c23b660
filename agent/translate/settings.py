"""Settings of live caption translation (``TRANSLATE_*``), read once at start, one-line errors.

Off unless ``TRANSLATE_BACKEND`` names a translator: a listener who asks for a language then
hears, in the RPC answer and the status, that translation is off here. ``llm`` calls an
OpenAI-compatible endpoint; ``local`` runs a GGUF model (``TRANSLATE_MODEL_PATH``) in the worker,
one for all its rooms, on threads that yield to the captions; ``whisper`` uses the speech model's
own translate task, into English only. ``TRANSLATE_WHISPER_FROM`` routes chosen pairs into
English through Whisper while the LLM backend does the rest.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from agent.config import ConfigError, env_choice, env_float, env_int, env_str, env_url
from agent.minutes.settings import LLMSettings, gguf_file

Backend = Literal["off", "llm", "local", "whisper"]
BACKENDS: tuple[str, ...] = ("off", "llm", "local", "whisper")
DEFAULT_TARGETS = ("fr", "en", "de", "es", "it", "nl", "pt")


@dataclass(frozen=True)
class TranslateSettings:
    backend: Backend = "off"
    llm: LLMSettings = field(default_factory=lambda: LLMSettings(base_url="", max_parallel=2))
    targets: tuple[str, ...] = DEFAULT_TARGETS  # languages a listener may ask for
    max_queued: int = 32  # waiting behind them; beyond, the oldest is skipped (and counted)
    max_languages: int = 4  # target languages served at once in a room
    # Earlier (caption, translation) turns given: 1 measured best with a 1.5 B model (README).
    context_sentences: int = 1
    # Waiting finals of one speaker translated in one call when translations fall behind (1: never).
    catch_up: int = 4
    max_tokens: int = 256
    threads: int = 0  # local backend: llama.cpp threads (0 = every core, at low priority)
    # Source languages translated into English by Whisper's translate task ("*": all of them).
    whisper_from: frozenset[str] = frozenset()

    @property
    def max_in_flight(self) -> int:
        """Translations running at once, per room (TRANSLATE_MAX_IN_FLIGHT): the client's limit."""
        return self.llm.max_parallel

    @property
    def enabled(self) -> bool:
        return self.backend != "off"

    @property
    def uses_whisper(self) -> bool:
        return self.enabled and bool(self.whisper_from)

    def by_whisper(self, source: str, target: str) -> bool:
        """Whether this pair goes through Whisper's translate task rather than the LLM."""
        return target == "en" and ("*" in self.whisper_from or source in self.whisper_from)

    @classmethod
    def from_env(cls) -> TranslateSettings:
        backend = env_choice("TRANSLATE_BACKEND", "off", BACKENDS)
        base_url = env_url("TRANSLATE_LLM_BASE_URL", schemes=("http", "https")).rstrip("/")
        base_url = base_url or env_url("LLM_BASE_URL", schemes=("http", "https")).rstrip("/")
        if backend == "llm" and not base_url:
            raise ConfigError(
                "TRANSLATE_BACKEND=llm needs an endpoint: expected TRANSLATE_LLM_BASE_URL or"
                " LLM_BASE_URL (an OpenAI-compatible /v1 URL)"
            )
        model_path = env_str("TRANSLATE_MODEL_PATH")
        if backend == "local":
            if not model_path:
                raise ConfigError(
                    "TRANSLATE_BACKEND=local needs a model: expected TRANSLATE_MODEL_PATH (a GGUF file,"
                    " e.g. scripts/install-qwen.sh's)"
                )
            model_path = gguf_file("TRANSLATE_MODEL_PATH", model_path)
            base_url = ""  # the worker's own server; its address is known once it runs
        raw = env_str("TRANSLATE_LANGUAGES", "")
        targets = _languages("TRANSLATE_LANGUAGES", raw)
        whisper_from = frozenset(
            _languages("TRANSLATE_WHISPER_FROM", env_str("TRANSLATE_WHISPER_FROM"), star=True)
        )
        if backend == "whisper":
            if set(targets) - {"en"}:
                raise ConfigError(
                    f"TRANSLATE_BACKEND=whisper translates into English only: expected TRANSLATE_LANGUAGES=en"
                    f" or unset, got {raw!r}"
                )
            targets, whisper_from = ("en",), frozenset({"*"})
        if whisper_from and backend != "off":
            _check_multilingual(env_str("WHISPER_MODEL", "base") or "base")
        llm = LLMSettings(
            base_url=base_url,
            api_key=env_str("TRANSLATE_LLM_API_KEY") or env_str("LLM_API_KEY"),
            model=env_str("TRANSLATE_LLM_MODEL") or env_str("LLM_MODEL"),
            max_parallel=env_int("TRANSLATE_MAX_IN_FLIGHT", 2, minimum=1, maximum=64),
            timeout_s=env_float("TRANSLATE_TIMEOUT", 20.0, minimum=1.0, maximum=600.0),
            retries=env_int("TRANSLATE_RETRIES", 1, minimum=0, maximum=5),
            response_format="none",
            temperature=0.0,
            model_path=model_path if backend == "local" else "",
        )
        return cls(
            backend=backend,  # type: ignore[arg-type]
            llm=llm,
            targets=targets or DEFAULT_TARGETS,
            max_queued=env_int("TRANSLATE_MAX_QUEUED", 32, minimum=1, maximum=10_000),
            max_languages=env_int("TRANSLATE_MAX_LANGUAGES", 4, minimum=1, maximum=32),
            context_sentences=env_int("TRANSLATE_CONTEXT_SENTENCES", 1, minimum=0, maximum=20),
            catch_up=env_int("TRANSLATE_CATCH_UP", 4, minimum=1, maximum=16),
            threads=env_int("TRANSLATE_THREADS", 0, minimum=0, maximum=256),
            whisper_from=whisper_from,
        )


def _languages(name: str, raw: str, *, star: bool = False) -> tuple[str, ...]:
    """``fr, EN`` → ("fr", "en"); ``*`` alone where ``star``; a one-line error otherwise."""
    codes = tuple(dict.fromkeys(t.strip().lower() for t in raw.split(",") if t.strip()))
    if star and "*" in codes:
        if len(codes) > 1:
            raise ConfigError(f"{name}={raw!r} is invalid: expected * alone or language codes like fr,de")
        return codes
    if any(not (2 <= len(t) <= 3 and t.isalpha() and t.isascii()) for t in codes):
        raise ConfigError(f"{name}={raw!r} is invalid: expected language codes like fr,en")
    return codes


def _check_multilingual(model: str) -> None:
    """English-only checkpoints have no translate task: say so at start, not at the first caption."""
    name = model.rstrip("/").rsplit("/", 1)[-1].lower()
    if name.endswith(".en") or name.startswith("distil"):
        raise ConfigError(
            f"Whisper translation needs a multilingual speech model: WHISPER_MODEL={model!r} is English-only"
            " (expected e.g. base or small)"
        )
