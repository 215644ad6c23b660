"""Translation by a GGUF model run inside the worker (``TRANSLATE_BACKEND=local``).

One llama.cpp server (``agent.minutes.local_server``) per worker process serves every room's
translations: a 1.5 B model holds about 1 GB, so a room of its own each would not fit. The
worker loads it at start (``preload``); elsewhere (job processes, tests) it loads when the first
room asks for it, stays while any room uses it, and is freed when the last one closes. Its
threads start from a thread at background priority and inherit it, so on a busy machine
llama.cpp gets the cores the captions leave (README, "Captions in the listener's language").
"""

from __future__ import annotations

import asyncio
import secrets
import threading
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from agent.config import ConfigError
from agent.logs import get_logger
from agent.minutes.llm import LLMError
from agent.minutes.local_server import LocalServer, LocalServerConfig
from agent.minutes.settings import LLMSettings
from agent.priority import yield_to_captions
from agent.translate.llm import LLMTranslator
from agent.translate.settings import TranslateSettings

logger = get_logger(__name__)

CTX_PER_SLOT = 2048  # a caption, one earlier turn and the instructions fit in a few hundred tokens


class SharedLocalModel:
    """The process's local translation server, counted by the rooms using it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._server: LocalServer | None = None
        self._key = ""
        self._users = 0
        self.loads = 0

    def acquire(self, settings: TranslateSettings) -> LLMSettings:
        """Blocking (loads the model on first use): call it from a thread."""
        with self._lock:
            if self._server is None:
                self._key = secrets.token_urlsafe(24)
                config = LocalServerConfig(
                    model_path=Path(settings.llm.model_path),
                    ctx_per_slot=CTX_PER_SLOT,
                    parallel=settings.max_in_flight,
                    threads=settings.threads,
                    alias="translate",
                    api_key=self._key,
                )
                started = time.monotonic()
                self._server = _start_in_background(config)
                self.loads += 1
                logger.info("local translation model loaded in %.1f s", time.monotonic() - started)
            self._users += 1
            return replace(settings.llm, base_url=self._server.base_url, api_key=self._key, model="translate")

    def release(self) -> None:
        with self._lock:
            self._users = max(0, self._users - 1)
            if self._users == 0 and self._server is not None:
                self._server.close()
                self._server = None
                logger.info("local translation model freed (no room translates)")

    @property
    def users(self) -> int:
        return self._users


def _start_in_background(config: LocalServerConfig) -> LocalServer:
    """Create the server from a fresh thread at background priority: llama.cpp's threads,
    started by it, inherit that niceness (a thread pool's thread would keep it for other work)."""
    box: dict[str, LocalServer | BaseException] = {}

    def load() -> None:
        yield_to_captions()
        try:
            box["server"] = LocalServer(config)
        except BaseException as exc:  # handed to the caller
            box["error"] = exc

    thread = threading.Thread(target=load, name="greffier-translate-load", daemon=True)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["server"]  # type: ignore[return-value]


SHARED = SharedLocalModel()


def preload(settings: TranslateSettings, shared: SharedLocalModel = SHARED) -> None:
    """Load the model before the worker registers, and keep it for the process's life.

    Loading holds Python's GIL (about 6 s for 1.5 B on 2 cores): done mid-meeting, it froze
    every room's captions in the process for that long (the captions bench's p95 doubled).
    ``ConfigError`` if the file does not load, so the worker never starts half-able."""
    try:
        shared.acquire(settings)
    except Exception as exc:
        raise ConfigError(
            f"TRANSLATE_MODEL_PATH={settings.llm.model_path}: the model did not load ({type(exc).__name__});"
            " expected a GGUF file llama.cpp can run"
        ) from None


class LocalTranslator:
    """A room's translator on the shared local model; the model loads on its first translation."""

    def __init__(self, settings: TranslateSettings, shared: SharedLocalModel = SHARED) -> None:
        self.settings = settings
        self._shared = shared
        self._inner: LLMTranslator | None = None
        self._starting: asyncio.Lock | None = None
        self._failed: str | None = None

    async def endpoint(self) -> LLMSettings:
        """The local server's address (loading it if needed); ``LLMError`` if it cannot load."""
        return (await self._translator()).settings.llm

    async def _translator(self) -> LLMTranslator:
        if self._inner is not None:
            return self._inner
        if self._failed is not None:
            raise LLMError(self._failed)
        self._starting = self._starting or asyncio.Lock()
        async with self._starting:
            if self._inner is None:
                try:
                    llm = await asyncio.to_thread(self._shared.acquire, self.settings)
                except Exception as exc:  # a model that cannot load fails every later call fast
                    self._failed = f"the local translation model did not load: {type(exc).__name__}"
                    logger.error("%s: %s", self._failed, exc)
                    raise LLMError(self._failed) from None
                self._inner = LLMTranslator(replace(self.settings, llm=llm))
        return self._inner

    async def translate(
        self, text: str, source: str, target: str, context: Sequence[tuple[str, str]] = ()
    ) -> str:
        return await (await self._translator()).translate(text, source, target, context)

    async def aclose(self) -> None:
        if self._inner is not None:
            await self._inner.aclose()
            self._inner = None
            await asyncio.to_thread(self._shared.release)
