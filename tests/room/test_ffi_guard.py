"""SDK subscriptions left on a room job's loop are removed when the job ends, with their origin."""

from __future__ import annotations

import asyncio
import logging
import threading

import pytest
from livekit import rtc

from agent.room import ffi_guard


def test_leftover_subscription_is_released_and_located(caplog: pytest.LogCaptureFixture) -> None:
    ffi_guard.install()
    ffi_guard.install()  # idempotent
    queue = rtc._ffi_client.FfiClient.instance.queue
    found: dict[str, int] = {}

    def job() -> None:  # a room job: its own loop, closed at the end
        async def run() -> None:
            loop = asyncio.get_running_loop()
            kept = queue.subscribe(loop)  # what an AudioStream cut short leaves behind
            gone = queue.subscribe(loop)
            queue.unsubscribe(gone)
            found["before"] = len(ffi_guard.bound_to(loop))
            found["released"] = ffi_guard.release_loop(loop, "salle")
            found["after"] = len(ffi_guard.bound_to(loop))
            assert kept is not None

        asyncio.run(run())

    with caplog.at_level(logging.WARNING):
        thread = threading.Thread(target=job)
        thread.start()
        thread.join()
    assert found == {"before": 1, "released": 1, "after": 0}
    assert "outlived room salle" in caplog.text
    assert "test_ffi_guard.py" in caplog.text  # where it was made
