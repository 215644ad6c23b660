"""When a track without frames gets silence: a muted or stalled track does, a frozen event loop
(its timer firing seconds late while the frames wait in the queue) does not."""

from __future__ import annotations

import pytest

from agent.room.tracks import GAP_SECONDS, STALL_SECONDS, is_gap


@pytest.mark.parametrize(
    ("waited", "since_frame", "muted", "gap"),
    [
        (GAP_SECONDS, GAP_SECONDS, True, True),  # muted: at once
        (GAP_SECONDS, GAP_SECONDS, False, False),  # a frame only late: no silence in a word
        (GAP_SECONDS + 0.05, STALL_SECONDS + 0.1, False, True),  # stalled: network gap
        (6.0, 6.5, False, False),  # the loop was frozen 6 s (model load): frames are queued
        (6.0, 6.5, True, False),  # even when muted: the next, punctual timeout decides
    ],
)
def test_gap_or_frozen_loop(waited: float, since_frame: float, muted: bool, gap: bool) -> None:
    assert is_gap(waited, since_frame, muted=muted) is gap
