"""Exclusive claims: one winner among processes, stale take-over, safe release."""

from __future__ import annotations

import multiprocessing
import os
import time
from pathlib import Path

from agent.transcript.claim import FileClaim


def _try_claim(path: str, barrier: multiprocessing.synchronize.Barrier,
               results: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    barrier.wait()
    claim = FileClaim.acquire(Path(path), stale_after=60)
    results.put(claim is not None)
    time.sleep(0.5)  # hold it while the others try


def test_exactly_one_process_wins(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    n = 6
    barrier, results = ctx.Barrier(n), ctx.Queue()
    procs = [ctx.Process(target=_try_claim, args=(str(tmp_path / "x.claim"), barrier, results))
             for _ in range(n)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    wins = [results.get(timeout=5) for _ in range(n)]
    assert wins.count(True) == 1


def test_live_claim_blocks_and_release_frees(tmp_path: Path) -> None:
    path = tmp_path / "a.claim"
    first = FileClaim.acquire(path, stale_after=60)
    assert first is not None
    assert FileClaim.acquire(path, stale_after=60) is None
    first.release()
    assert FileClaim.acquire(path, stale_after=60) is not None


def test_stale_claim_is_taken_over_and_old_owner_cannot_release_it(tmp_path: Path) -> None:
    path = tmp_path / "b.claim"
    crashed = FileClaim.acquire(path, stale_after=60)
    assert crashed is not None
    old = time.time() - 120
    os.utime(path, (old, old))
    taker = FileClaim.acquire(path, stale_after=60)
    assert taker is not None and taker.held() and not crashed.held()
    crashed.release()  # the slow original owner wakes up: must not free the new owner's claim
    assert path.exists() and taker.held()
    assert FileClaim.acquire(path, stale_after=60) is None


def test_refresh_keeps_a_long_job_alive(tmp_path: Path) -> None:
    path = tmp_path / "c.claim"
    claim = FileClaim.acquire(path, stale_after=60)
    assert claim is not None
    old = time.time() - 120
    os.utime(path, (old, old))
    claim.refresh()
    assert FileClaim.acquire(path, stale_after=60) is None
