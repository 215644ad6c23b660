"""Room end: the minutes start only once tracks that left before the room ended have finished."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from agent.room.session import RoomSession


async def test_minutes_wait_for_tracks_still_finishing() -> None:
    # Without the model: close() only needs these attributes.
    session = RoomSession.__new__(RoomSession)
    session.room = SimpleNamespace(name="salle")  # type: ignore[assignment]
    session.pipelines = {}
    session.publisher = None
    session.room_ended = True
    session._tasks = set()
    session._track_tasks = set()
    order: list[str] = []

    class Keeper:
        async def close(self, *, room_ended: bool) -> None:
            order.append("minutes")

    session.keeper = Keeper()  # type: ignore[assignment]

    async def last_final_and_kept_audio() -> None:  # a speaker who left: decode, close the file
        await asyncio.sleep(0.3)
        order.append("track finished")

    async def heartbeat() -> None:  # runs for the session's life: not waited for
        await asyncio.sleep(3600)

    session._spawn(last_final_and_kept_audio(), before_minutes=True)
    session._spawn(heartbeat())
    await asyncio.wait_for(session.close(), timeout=5)
    assert order == ["track finished", "minutes"]
    for task in session._tasks:
        task.cancel()
