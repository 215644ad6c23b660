"""The agent's heartbeat: a participant attribute other workers read to know it is alive.

See ``agent.room.dispatch`` for how dispatchers use it to avoid two agents in one room.
"""

from __future__ import annotations

import asyncio
import time

from livekit import rtc

from agent import metrics
from agent.logs import get_logger
from agent.room.dispatch import HEARTBEAT_EVERY, HEARTBEAT_STALE, beating_here, heartbeat_attributes

logger = get_logger(__name__)


class Heartbeat:
    def __init__(self, room: rtc.Room, ended: asyncio.Event) -> None:
        self.room = room
        self.ended = ended
        self._slow_beat_logged = 0.0

    async def run(self) -> None:
        """One beat every ``HEARTBEAT_EVERY`` whatever became of the last one: an attribute update
        sometimes waits 5 s for the server's answer (seen in CI, on an idle loop), and beats sent
        one after the other then reached the server 6.5 s apart, which reads as a dead agent."""
        beats: set[asyncio.Task[None]] = set()
        last = time.monotonic()
        try:
            while not self.ended.is_set():
                now = time.monotonic()
                if now - last > HEARTBEAT_STALE - HEARTBEAT_EVERY:
                    # The room's event loop was held up: other workers may take this agent for dead.
                    gap = now - last
                    logger.warning("heartbeat late in room %s: %.1fs between beats", self.room.name, gap)
                last = now
                metrics.room_tasks.set(len(asyncio.all_tasks()))
                beat = asyncio.ensure_future(self.beat())
                beats.add(beat)
                beat.add_done_callback(beats.discard)
                try:
                    await asyncio.wait_for(self.ended.wait(), timeout=HEARTBEAT_EVERY)
                except TimeoutError:
                    pass
        finally:
            for beat in beats:
                beat.cancel()

    async def beat(self) -> None:
        started = time.monotonic()
        try:
            await asyncio.wait_for(
                self.room.local_participant.set_attributes(heartbeat_attributes()), timeout=HEARTBEAT_STALE
            )
            beating_here(self.room.name)  # connected and answering, however late the answer
        except Exception as exc:
            logger.debug("heartbeat failed: %s", type(exc).__name__)
        took = time.monotonic() - started
        if took > 2 * HEARTBEAT_EVERY and time.monotonic() - self._slow_beat_logged > 60.0:
            self._slow_beat_logged = time.monotonic()
            logger.warning("heartbeat: an attribute update in room %s took %.1fs", self.room.name, took)
