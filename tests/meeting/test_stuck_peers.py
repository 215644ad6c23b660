"""Peers that accept a connection and never answer: an SMTP server, an LLM endpoint. The minutes
still go out through the other channels within the configured timeouts, and the stuck delivery
stays in the outbox for a later attempt (nothing is lost, nothing hangs)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from types import SimpleNamespace

import pytest

from agent.meeting.finish import finish_meeting
from agent.minutes.settings import MinutesSettings
from agent.transcript.journal import Journal
from tests.conftest import SMTPSink, WebhookSink, smtp_env, webhook_env


@pytest.fixture
async def silent_server() -> AsyncIterator[int]:
    """A TCP server that accepts every connection, reads, and never writes a byte."""
    held: list[asyncio.StreamWriter] = []

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)
        while await reader.read(4096):
            pass

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1]
    for w in held:
        w.close()
    server.close()


async def test_smtp_that_never_answers(
    make_settings: Callable[..., MinutesSettings],
    make_journal: Callable[..., Journal],
    silent_server: int,
    webhook_server: WebhookSink,
) -> None:
    env = smtp_env(SimpleNamespace(port=silent_server))  # type: ignore[arg-type]
    settings = make_settings(**env, SMTP_TIMEOUT="2", **webhook_env(webhook_server))
    journal = make_journal(recipients=("organizer@example.org",))
    started = time.monotonic()
    result = await finish_meeting(journal.path, settings)
    assert time.monotonic() - started < 20  # bounded by SMTP_TIMEOUT, not by the peer
    assert result.files and len(webhook_server.received) == 1
    states = sorted(result.deliveries.values())
    assert "done" in states and any(s != "done" for s in states)  # the e-mail waits for a retry


async def test_llm_endpoint_that_hangs(
    make_settings: Callable[..., MinutesSettings],
    make_journal: Callable[..., Journal],
    silent_server: int,
    smtp_server: SMTPSink,
) -> None:
    settings = make_settings(
        **smtp_env(smtp_server),
        LLM_BASE_URL=f"http://127.0.0.1:{silent_server}/v1",
        LLM_MODEL="m",
        LLM_TIMEOUT="2",
        LLM_RETRIES="1",
    )
    started = time.monotonic()
    result = await finish_meeting(make_journal(sid="RM_hang").path, settings)
    assert time.monotonic() - started < 30
    assert result.minutes is not None and not result.minutes.generated
    [mail] = smtp_server.messages  # extractive minutes, delivered
    assert mail.message.get_body(("plain",)).get_content().strip()
