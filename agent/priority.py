"""Work that must yield to the live captions: the minutes and a local translation model share
the worker's cores with the rooms, and a viewer waiting for a caption matters more."""

from __future__ import annotations

import contextlib
import os
import threading

BACKGROUND_NICENESS = 10  # Linux nice value of background threads (the rooms stay at the process's)


def yield_to_captions() -> None:
    """Lower the calling thread's CPU priority (Linux nice is per thread; threads it starts, such
    as onnxruntime's or llama.cpp's, inherit it). Raising one's own niceness needs no privilege."""
    with contextlib.suppress(OSError, AttributeError):
        tid = threading.get_native_id()
        current = os.getpriority(os.PRIO_PROCESS, tid)
        os.setpriority(os.PRIO_PROCESS, tid, max(current, BACKGROUND_NICENESS))
