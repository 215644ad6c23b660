"""The worker's minutes housekeeping, beside the rooms: finish meetings still owed after a
crash or restart, and retry failed deliveries from the outbox.

The minutes run at a lower CPU priority than the rooms (``MINUTES_NICENESS``): they share the
cores with live captions, and only captions have someone waiting on every second. Diarizing a
4-speaker meeting took 32 s while the next room's captions ran beside it (6 s alone), and that
room's words on screen went from p95 3.2 s to 4.1 s (bench/captions_bench.py --speakers 4,4).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import os
import threading
from pathlib import Path

from agent.logs import get_logger
from agent.meeting.deliver import process_outbox
from agent.meeting.finish import recover_unfinished
from agent.minutes.settings import MinutesSettings

logger = get_logger(__name__)

OUTBOX_EVERY = 30.0
RECOVER_EVERY = 120.0
EXIT_WAIT = 600.0
MINUTES_NICENESS = 10  # Linux nice value of the minutes threads (the rooms stay at the process's)

_loop: asyncio.AbstractEventLoop | None = None
_pending: set[concurrent.futures.Future[object]] = set()


async def _housekeeping(settings: MinutesSettings) -> None:
    since_recover = RECOVER_EVERY
    while True:
        try:
            if since_recover >= RECOVER_EVERY:
                since_recover = 0.0
                for result in await recover_unfinished(settings):
                    logger.info("recovered minutes %s (claimed=%s)", result.session_id, result.claimed)
            await process_outbox(settings)
        except Exception:
            logger.exception("minutes housekeeping failed; retrying later")
        await asyncio.sleep(OUTBOX_EVERY)
        since_recover += OUTBOX_EVERY


def yield_to_captions() -> None:
    """Lower the calling thread's CPU priority (Linux nice is per thread; threads it starts, such
    as onnxruntime's, inherit it). Raising one's own niceness needs no privilege."""
    with contextlib.suppress(OSError, AttributeError):
        tid = threading.get_native_id()
        current = os.getpriority(os.PRIO_PROCESS, tid)
        os.setpriority(os.PRIO_PROCESS, tid, max(current, MINUTES_NICENESS))


def new_minutes_loop() -> asyncio.AbstractEventLoop:
    """The minutes' event loop, for the calling thread: it and the threads its work is handed
    to (``asyncio.to_thread``: diarization, second pass, file writing) yield to the rooms."""
    yield_to_captions()
    loop = asyncio.new_event_loop()
    pool = concurrent.futures.ThreadPoolExecutor(
        thread_name_prefix="greffier-minutes", initializer=yield_to_captions
    )
    loop.set_default_executor(pool)
    return loop


def start_minutes_service(settings: MinutesSettings) -> threading.Thread:
    ready = threading.Event()

    def run() -> None:
        global _loop
        loop = new_minutes_loop()
        _loop = loop
        ready.set()
        loop.run_until_complete(_housekeeping(settings))

    thread = threading.Thread(target=run, name="greffier-minutes", daemon=True)
    thread.start()
    ready.wait(5)
    return thread


def submit_minutes(journal_path: Path, settings: MinutesSettings) -> concurrent.futures.Future[object] | None:
    """Write and deliver a meeting's minutes beside the rooms, not inside the room's job:
    livekit-agents cancels a job's entrypoint 15 s after the room closes, and an LLM or a
    diarization pass takes longer. None when no service runs (the caller then does it itself)."""
    if _loop is None or _loop.is_closed():
        return None
    from agent.meeting.finish import finish_meeting

    future = asyncio.run_coroutine_threadsafe(finish_meeting(journal_path, settings), _loop)
    _pending.add(future)  # type: ignore[arg-type]
    future.add_done_callback(lambda f: _log_result(f))
    return future  # type: ignore[return-value]


def _log_result(future: concurrent.futures.Future[object]) -> None:
    _pending.discard(future)
    try:
        result = future.result()
    except Exception:
        logger.exception("minutes failed; the housekeeping will retry")
        return
    logger.info(
        "minutes %s: claimed=%s already_done=%s deliveries=%s in %.1fs",
        result.session_id,  # type: ignore[attr-defined]
        result.claimed,  # type: ignore[attr-defined]
        result.already_done,  # type: ignore[attr-defined]
        result.deliveries,  # type: ignore[attr-defined]
        result.seconds,  # type: ignore[attr-defined]
    )


def wait_for_minutes() -> None:
    """After a drain, before the process exits, let minutes in progress finish: they are what
    organizers wait for. (Not atexit: by then thread pools refuse new work.)"""
    if _pending:
        logger.info("waiting for %d meeting minutes before exiting", len(_pending))
        concurrent.futures.wait(list(_pending), timeout=EXIT_WAIT)
