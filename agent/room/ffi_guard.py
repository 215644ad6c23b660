"""No LiveKit SDK event subscription may outlive the room job that made it.

The SDK delivers its native events through one process-wide queue (``FfiClient.instance.queue``)
to subscribers, each bound to the event loop it was made on. With ``JOB_EXECUTOR=thread`` every
room job runs on its own loop, closed when the job ends. A subscription still bound to a closed
loop turns every later event of every other room into the log line "error putting to queue:
Event loop is closed" (100,000 lines in two minutes of a 4-speaker room, in 4 of 16 multi-room
bench runs). Known ways to leave one: an ``AudioStream`` whose ``aclose`` was cut short (timeout,
cancellation) before its end-of-stream event arrived; any SDK object whose reader task is
cancelled with the job.

So: ``install`` records where each subscription is made (the first frame outside the SDK), and
``release_loop`` - run as the job's last shutdown callback, after the room disconnected - removes
whatever is still bound to the job's loop and logs where it came from. The SDK's own
``unsubscribe`` is the API for this; ``_subscribers`` is read only to find what is left.
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
from typing import Any

from livekit import rtc

from agent.logs import get_logger

logger = get_logger(__name__)

_sites: dict[int, str] = {}  # id(queue) -> where it was subscribed
_lock = threading.Lock()
_installed = False
SDK_PATH = f"{os.sep}livekit{os.sep}"  # the SDK's and livekit-agents' files


def _caller() -> str:
    frame: Any = sys._getframe(2)
    while frame is not None and SDK_PATH in frame.f_code.co_filename:
        frame = frame.f_back
    if frame is None:
        return "?"
    return f"{frame.f_code.co_filename.rsplit('/', 2)[-1]}:{frame.f_lineno} ({frame.f_code.co_name})"


def _queue() -> Any:
    return rtc._ffi_client.FfiClient.instance.queue


def install() -> None:
    """Record the site of every new SDK subscription (idempotent; costs one frame walk each)."""
    global _installed
    with _lock:
        if _installed:
            return
        queue = _queue()
        subscribe, unsubscribe = queue.subscribe, queue.unsubscribe

        def recording_subscribe(*args: Any, **kwargs: Any) -> Any:
            q = subscribe(*args, **kwargs)
            _sites[id(q)] = _caller()
            return q

        def forgetting_unsubscribe(q: Any) -> None:
            _sites.pop(id(q), None)
            unsubscribe(q)

        queue.subscribe, queue.unsubscribe = recording_subscribe, forgetting_unsubscribe
        _installed = True


def bound_to(loop: asyncio.AbstractEventLoop) -> list[Any]:
    queue = _queue()
    with queue._lock:
        return [q for q, sub_loop, *_ in list(queue._subscribers) if sub_loop is loop]


def release_loop(loop: asyncio.AbstractEventLoop, room: str) -> int:
    """Unsubscribe everything still bound to ``loop``; returns how many there were."""
    left = bound_to(loop)
    for q in left:
        site = _sites.get(id(q), "?")
        _queue().unsubscribe(q)
        logger.warning("an SDK event subscription outlived room %s, removed (made at %s)", room, site)
    return len(left)
