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
import threading
from pathlib import Path

from agent.logs import get_logger
from agent.meeting.deliver import process_outbox
from agent.meeting.finish import finish_meeting, recover_unfinished
from agent.minutes.settings import MinutesSettings
from agent.priority import BACKGROUND_NICENESS, yield_to_captions

logger = get_logger(__name__)

OUTBOX_EVERY = 30.0
RECOVER_EVERY = 120.0
EXIT_WAIT = 600.0
MINUTES_NICENESS = BACKGROUND_NICENESS  # Linux nice value of the minutes threads

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


class MinutesService:
    """A thread with its own event loop, owned by the worker: it writes and delivers the minutes
    of rooms that ended (``submit``), retries the outbox and recovers meetings left unfinished.

    Minutes run here rather than inside the room's job: livekit-agents cancels a job's
    entrypoint 15 s after the room closes, and an LLM or a diarization pass takes longer."""

    def __init__(self, settings: MinutesSettings) -> None:
        self.settings = settings
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pending: set[concurrent.futures.Future[object]] = set()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        ready = threading.Event()

        def run() -> None:
            loop = new_minutes_loop()
            self._loop = loop
            ready.set()
            loop.run_until_complete(_housekeeping(self.settings))

        self._thread = threading.Thread(target=run, name="greffier-minutes", daemon=True)
        self._thread.start()
        ready.wait(5)

    @property
    def running(self) -> bool:
        return self._loop is not None and not self._loop.is_closed()

    def submit(self, journal_path: Path) -> concurrent.futures.Future[object] | None:
        """Write and deliver a meeting's minutes on the service's loop. None when the service
        is not running (the caller then does it itself)."""
        if self._loop is None or self._loop.is_closed():
            return None
        future = asyncio.run_coroutine_threadsafe(finish_meeting(journal_path, self.settings), self._loop)
        self._pending.add(future)  # type: ignore[arg-type]
        future.add_done_callback(self._log_result)
        return future  # type: ignore[return-value]

    def _log_result(self, future: concurrent.futures.Future[object]) -> None:
        self._pending.discard(future)
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

    def wait(self) -> None:
        """After a drain, before the process exits, let minutes in progress finish: they are what
        organizers wait for. (Not atexit: by then thread pools refuse new work.)"""
        if self._pending:
            logger.info("waiting for %d meeting minutes before exiting", len(self._pending))
            concurrent.futures.wait(list(self._pending), timeout=EXIT_WAIT)
