"""A full DATA_DIR (ENOSPC) loses no caption: records wait in memory and are written once the
disk takes them again; an opted-out participant's waiting records are dropped, not written."""

from __future__ import annotations

import asyncio
import errno
import logging
from pathlib import Path

import pytest

from agent.room.captions import Caption
from agent.room.keeper import TranscriptKeeper
from agent.timebase import Word
from agent.transcript.journal import Journal, read_journal


def caption(n: int, who: str = "alice") -> Caption:
    return Caption(who, who.title(), "TR_1", f"seg-{n}", f"sentence {n}", True, "en",
                   1000.0 + n, 1001.0 + n, (Word("sentence", 1000.0 + n, 1000.5 + n, 0.9),))


async def test_disk_full_then_free_again(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    journal = Journal.open_or_create(tmp_path, "salle", "RM_1", "")
    write = journal.append_segment
    full = {"on": True}

    def append(segment):  # type: ignore[no-untyped-def]
        if full["on"]:
            raise OSError(errno.ENOSPC, "No space left on device")
        return write(segment)

    journal.append_segment = append  # type: ignore[method-assign]
    keeper = TranscriptKeeper(journal, None)  # type: ignore[arg-type]  # settings: for close() only
    with caplog.at_level(logging.WARNING):
        for n in range(5):
            keeper.caption(caption(n))
        keeper.caption(caption(9, who="bob"))
        keeper.forget("bob")  # opts out while the disk is full
        while keeper._writes.qsize():  # noqa: ASYNC110
            await asyncio.sleep(0.01)
        full["on"] = False
        keeper.caption(caption(5))
        await keeper.flush(retries=1, pause=0.01)
    segments = read_journal(journal.path).segments
    assert [s.segment_id for s in segments] == [f"seg-{n}" for n in range(6)]
    assert caplog.text.count("journal write failed") == 1  # one line per outage, not per caption
    assert "work again" in caplog.text
