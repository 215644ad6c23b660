"""A closed audio stream must not keep receiving the SDK's events (see ``drop_ffi_subscription``)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from livekit import rtc

from agent.room.tracks import drop_ffi_subscription


def test_a_subscription_left_by_a_cut_short_close_is_dropped() -> None:
    queue = rtc._ffi_client.FfiClient.instance.queue
    loop = asyncio.new_event_loop()
    try:
        before = len(queue._subscribers)
        # What AudioStream holds when its close was cut short: a subscription on the job's loop.
        stream = SimpleNamespace(_ffi_queue=queue.subscribe(loop))
        assert len(queue._subscribers) == before + 1
        drop_ffi_subscription(stream)  # type: ignore[arg-type]
        assert len(queue._subscribers) == before
        drop_ffi_subscription(stream)  # type: ignore[arg-type]  # twice: harmless
        drop_ffi_subscription(SimpleNamespace())  # type: ignore[arg-type]  # an SDK without the attribute
        assert len(queue._subscribers) == before
    finally:
        loop.close()
