"""Room end: the minutes start only once tracks that left before the room ended have finished."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from agent.room.session import RoomSession


async def test_minutes_wait_for_tracks_still_finishing() -> None:
    # Built without the model or a server: the engine is injected, the room is a stand-in.
    ctx = SimpleNamespace(room=SimpleNamespace(name="salle"))
    session = RoomSession(ctx, None, None, engine=object())  # type: ignore[arg-type]
    session.room_ended = True
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
