"""Small helpers for tests that act as LiveKit participants and administrators."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from livekit import api, rtc

from agent.demo.livekit_server import LocalLiveKitServer
from agent.demo.player import participant_token


def token(
    server: LocalLiveKitServer,
    identity: str,
    room: str,
    *,
    name: str = "",
    attributes: dict[str, str] | None = None,
    manage_agents: bool = False,
) -> str:
    return participant_token(
        server.api_key,
        server.api_secret,
        identity,
        room,
        name=name,
        attributes=attributes,
        manage_agents=manage_agents,
    )


async def dispatch(server: LocalLiveKitServer, agent_name: str, room: str) -> None:
    """Ask LiveKit to send the agent into ``room`` (explicit dispatch)."""
    lk = admin(server)
    try:
        await lk.agent_dispatch.create_dispatch(
            api.CreateAgentDispatchRequest(agent_name=agent_name, room=room)
        )
    finally:
        await lk.aclose()


async def join(server: LocalLiveKitServer, identity: str, room: str, **kw: object) -> rtc.Room:
    r = rtc.Room()
    await r.connect(server.url, token(server, identity, room, **kw))  # type: ignore[arg-type]
    return r


def admin(server: LocalLiveKitServer) -> api.LiveKitAPI:
    return api.LiveKitAPI(server.http_url, server.api_key, server.api_secret)


async def eventually(
    check: Callable[[], Awaitable[bool]] | Callable[[], bool],
    timeout: float = 15.0,
    interval: float = 0.2,
    seen: Callable[[], object] | None = None,
) -> float:
    """Poll ``check`` until true; return the seconds it took, fail with AssertionError otherwise
    (saying what ``seen`` returns then: a CI log must show what the test saw, not only that it
    waited)."""
    start = time.monotonic()
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return time.monotonic() - start
        if time.monotonic() - start > timeout:
            what = f": {seen()!r}" if seen is not None else ""
            raise AssertionError(f"condition not met within {timeout}s{what}")
        await asyncio.sleep(interval)


async def quiet(reader: Any, calm: float = 3.0, timeout: float = 40.0) -> None:
    """Wait until no caption has reached ``reader`` for ``calm`` seconds: a loaded machine decodes
    the last utterances slowly, and their finals must be in before a test scores them."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        last = max((c.received_at for c in reader.log.streams), default=0.0)
        if time.time() - last >= calm:
            return
        await asyncio.sleep(0.5)
