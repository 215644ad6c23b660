"""Minutes yield the CPU to live captions (see ``agent.meeting.service``)."""

from __future__ import annotations

import asyncio
import os
import threading

from agent.meeting.service import MINUTES_NICENESS, new_minutes_loop


def niceness() -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


def test_the_minutes_loop_and_its_worker_threads_run_niced() -> None:
    seen: dict[str, int] = {}

    def minutes_thread() -> None:
        loop = new_minutes_loop()

        async def work() -> None:
            seen["loop"] = niceness()
            seen["to_thread"] = await asyncio.to_thread(niceness)  # diarization runs like this

        try:
            loop.run_until_complete(work())
        finally:
            loop.run_until_complete(loop.shutdown_default_executor())
            loop.close()

    base = niceness()
    thread = threading.Thread(target=minutes_thread)
    thread.start()
    thread.join(10)
    assert seen == {"loop": max(base, MINUTES_NICENESS), "to_thread": max(base, MINUTES_NICENESS)}
    assert niceness() == base  # the rooms' threads (this one) keep their priority
