"""One decoder, many streams: a fair, bounded, back-pressured decode queue.

Every stream has at most one request in flight (it waits for its result before asking again), so
the queue is bounded by the number of streams and FIFO order is round-robin. Finals go first: a
speaker who stopped talking waits for nothing but their own decode. The snapshot of a stream's
audio is taken when the decode starts, not when it was queued, so a stream that waited decodes its
freshest audio and nothing is decoded twice.

Back-pressure: when the round trip (queue wait + decode) exceeds a stream's chunk period, the
period is raised towards the round trip, so streams decode less often instead of falling behind;
it relaxes back when load drops. Utilisation (busy time / wall time) feeds the worker's load.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

logger = logging.getLogger("greffier.asr")

PRIORITY_FINAL = 0
PRIORITY_INTERIM = 1


@dataclass(order=True)
class _Request:
    priority: int
    seq: int
    work: Callable[[], Any] = field(compare=False)
    future: Future[Any] = field(compare=False)
    queued_at: float = field(compare=False, default=0.0)


class DecodeScheduler:
    """Runs decode callables on one dedicated thread, in priority then arrival order."""

    def __init__(self, name: str = "greffier-decoder", window: float = 10.0) -> None:
        self._queue: queue.PriorityQueue[_Request] = queue.PriorityQueue()
        self._seq = itertools.count()
        self._window = window
        self._busy: deque[tuple[float, float]] = deque()  # (end time, busy seconds)
        self._lock = threading.Lock()
        self._closed = False
        self.decodes = 0
        self.last_wait = 0.0
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, work: Callable[[], Any], *, final: bool) -> Future[Any]:
        fut: Future[Any] = Future()
        if self._closed:
            fut.set_exception(RuntimeError("scheduler closed"))
            return fut
        prio = PRIORITY_FINAL if final else PRIORITY_INTERIM
        self._queue.put(_Request(prio, next(self._seq), work, fut, time.monotonic()))
        return fut

    async def run(self, work: Callable[[], Any], *, final: bool) -> Any:
        return await asyncio.wrap_future(self.submit(work, final=final))

    @property
    def depth(self) -> int:
        return self._queue.qsize()

    def utilisation(self) -> float:
        """Fraction of the last ``window`` seconds the decoder was busy."""
        now = time.monotonic()
        with self._lock:
            while self._busy and self._busy[0][0] < now - self._window:
                self._busy.popleft()
            busy = sum(b for _, b in self._busy)
        return min(1.0, busy / self._window)

    def _run(self) -> None:
        while True:
            req = self._queue.get()
            if req.work is _STOP:
                return
            if req.future.set_running_or_notify_cancel() is False:
                continue
            started = time.monotonic()
            self.last_wait = started - req.queued_at
            try:
                result = req.work()
            except BaseException as exc:  # delivered to the awaiting stream
                req.future.set_exception(exc)
            else:
                req.future.set_result(result)
            ended = time.monotonic()
            self.decodes += 1
            with self._lock:
                self._busy.append((ended, ended - started))

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._queue.put(_Request(-1, -1, _STOP, Future()))
        self._thread.join(timeout=30)


def _STOP() -> None:  # sentinel
    return None
