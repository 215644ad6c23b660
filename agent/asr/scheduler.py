"""One decoder, many streams: a fair, bounded, back-pressured decode queue.

``workers`` threads serve the queue (the decoder's CTranslate2 workers: on a CPU, decodes side by
side on a core each scale better than one decode split across cores).

Every stream has at most one request in flight (it waits for its result before asking again), so
the queue is bounded by the number of streams and FIFO order is round-robin. Finals go first: a
speaker who stopped talking waits for nothing but their own decode. The snapshot of a stream's
audio is taken when the decode starts, not when it was queued, so a stream that waited decodes its
freshest audio and nothing is decoded twice.

Back-pressure: when the round trip (queue wait + decode) exceeds a stream's chunk period, the
period is raised towards the round trip, so streams decode less often instead of falling behind;
it relaxes back when load drops. Utilisation (busy time / wall time) feeds the worker's load.

Batching (``batch_size`` > 1, with a ``batch`` function): requests submitted as items with
``submit_job`` / ``run_job`` are served together. When the thread takes an item, it also takes the
items of the same priority queued right behind it, up to ``batch_size``, and hands them all to one
``batch`` call: on a GPU N streams' decodes then cost little more than one. It never waits for more
to arrive (a lone request runs at once), never mixes finals with interims (they differ in beam
size, and finals keep their priority), batches at most ``final_batch_size`` finals (beam search
gains little from batching), and stops at the first request it cannot join (a plain
callable), which keeps the queue's order. If a batch fails, its items are retried one by one, so a
request that breaks the decoder fails alone instead of failing every stream that shared its batch.
"""

from __future__ import annotations

import asyncio
import itertools
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from agent.logs import get_logger

BatchFn = Callable[[Sequence[Any]], Sequence[Any]]

logger = get_logger(__name__)

PRIORITY_FINAL = 0
PRIORITY_INTERIM = 1
PRIORITY_BACKGROUND = 2  # e.g. Whisper translations: only when no caption decode is waiting


@dataclass(order=True)
class _Request:
    priority: int
    seq: int
    work: Callable[[], Any] | None = field(compare=False)  # None: ``item`` goes to the batch function
    future: Future[Any] = field(compare=False)
    queued_at: float = field(compare=False, default=0.0)
    item: Any = field(compare=False, default=None)


class DecodeScheduler:
    """Runs decode callables (and batches of items) on ``workers`` dedicated threads, in priority
    then arrival order."""

    def __init__(
        self,
        name: str = "greffier-decoder",
        window: float = 10.0,
        *,
        batch: BatchFn | None = None,
        batch_size: int = 1,
        final_batch_size: int = 4,
        workers: int = 1,
    ) -> None:
        if batch_size < 1 or workers < 1:
            raise ValueError("batch_size and workers must be at least 1")
        self._queue: queue.PriorityQueue[_Request] = queue.PriorityQueue()
        self._seq = itertools.count()
        self._window = window
        self._batch = batch
        self.batch_size = batch_size
        # Beam-search finals batch worse: on an H200 (base, beam 5) 4 finals together took 0.7x
        # the time of 4 alone, 16 together 1.15x of 16 alone (bench/batch_bench.py).
        self.final_batch_size = max(1, min(batch_size, final_batch_size))
        self._busy: deque[tuple[float, float]] = deque()  # (end time, busy seconds)
        self._lock = threading.Lock()
        self._closed = False
        self.decodes = 0
        self.workers = workers
        self._threads = [
            threading.Thread(target=self._run, name=f"{name}-{i}", daemon=True) for i in range(workers)
        ]
        for thread in self._threads:
            thread.start()

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

    def submit_background(self, work: Callable[[], Any]) -> Future[Any]:
        """Work that must never delay a caption: taken only when no final or interim is queued
        (one already running on another worker is not interrupted)."""
        fut: Future[Any] = Future()
        if self._closed:
            fut.set_exception(RuntimeError("scheduler closed"))
            return fut
        self._queue.put(_Request(PRIORITY_BACKGROUND, next(self._seq), work, fut, time.monotonic()))
        return fut

    async def run_background(self, work: Callable[[], Any]) -> Any:
        return await asyncio.wrap_future(self.submit_background(work))

    def submit_job(self, item: Any, *, final: bool) -> Future[Any]:
        """Queue ``item`` for the batch function; it may share a call with other items."""
        if self._batch is None:
            raise RuntimeError("this scheduler has no batch function")
        fut: Future[Any] = Future()
        if self._closed:
            fut.set_exception(RuntimeError("scheduler closed"))
            return fut
        prio = PRIORITY_FINAL if final else PRIORITY_INTERIM
        self._queue.put(_Request(prio, next(self._seq), None, fut, time.monotonic(), item))
        return fut

    async def run_job(self, item: Any, *, final: bool) -> Any:
        return await asyncio.wrap_future(self.submit_job(item, final=final))

    @property
    def depth(self) -> int:
        return self._queue.qsize()

    def utilisation(self) -> float:
        """Fraction of the last ``window`` seconds the decoder's workers were busy."""
        now = time.monotonic()
        with self._lock:
            while self._busy and self._busy[0][0] < now - self._window:
                self._busy.popleft()
            busy = sum(b for _, b in self._busy)
        return min(1.0, busy / (self._window * self.workers))

    def _run(self) -> None:
        while True:
            req = self._queue.get()
            if req.work is _STOP:
                return
            if req.future.set_running_or_notify_cancel() is False:
                continue
            batch = self._gather(req) if req.work is None else [req]
            started = time.monotonic()
            if req.work is not None:
                _settle(req.future, req.work)
            else:
                self._run_batch(batch)
            ended = time.monotonic()
            with self._lock:
                self.decodes += len(batch)
                self._busy.append((ended, ended - started))

    def _gather(self, head: _Request) -> list[_Request]:
        """``head`` and the same-priority items queued right behind it, up to ``batch_size``;
        takes only what is queued now."""
        batch = [head]
        limit = self.final_batch_size if head.priority == PRIORITY_FINAL else self.batch_size
        while len(batch) < limit:
            try:
                nxt = self._queue.get_nowait()
            except queue.Empty:
                break
            if nxt.work is not None or nxt.priority != head.priority:
                self._queue.put(nxt)  # same (priority, seq): it keeps its place in line
                break
            if nxt.future.set_running_or_notify_cancel():
                batch.append(nxt)
        return batch

    def _run_batch(self, batch: list[_Request]) -> None:
        assert self._batch is not None
        batch_fn = self._batch
        try:
            results = list(batch_fn([r.item for r in batch]))
            if len(results) != len(batch):
                raise RuntimeError(f"batch function returned {len(results)} results for {len(batch)} items")
        except BaseException as exc:
            if len(batch) == 1 or not isinstance(exc, Exception):
                for r in batch:
                    r.future.set_exception(exc)
                return
            logger.warning("a batch of %d decodes failed (%r); retrying them one by one", len(batch), exc)
            for r in batch:
                _settle(r.future, lambda r=r: batch_fn([r.item])[0])
            return
        for r, result in zip(batch, results, strict=True):
            r.future.set_result(result)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for _ in self._threads:
            self._queue.put(_Request(-1, -1, _STOP, Future()))
        for thread in self._threads:
            thread.join(timeout=30)


def _settle(future: Future[Any], work: Callable[[], Any]) -> None:
    try:
        result = work()
    except BaseException as exc:  # delivered to the awaiting stream
        future.set_exception(exc)
    else:
        future.set_result(result)


def _STOP() -> None:  # sentinel
    return None
