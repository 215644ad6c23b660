"""Re-dispatch after a worker dies.

livekit-server does not move a job when its worker vanishes (SIGKILL, node loss): the dead
agent's participant lingers until the server times it out, and nobody captions the room. Every
worker therefore watches the rooms: a room whose greffier agent stopped heart-beating, or a room
dispatched to us that has people but no agent, gets a new dispatch. Duplicate dispatches from
several workers are harmless: the one-agent-per-room check in ``dispatch`` keeps a single agent.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time

from livekit import api

from agent.config import LiveKitSettings
from agent.logs import get_logger
from agent.room.dispatch import ATTR_HEARTBEAT, HEARTBEAT_STALE, agent_identity, alive_here

logger = get_logger(__name__)

INTERVAL = 2.0


def _beat(p: api.ParticipantInfo) -> float:
    try:
        return float(p.attributes.get(ATTR_HEARTBEAT, "0"))
    except ValueError:
        return 0.0


async def rooms_needing_agent(lk: api.LiveKitAPI, agent_name: str) -> list[str]:
    identity = agent_identity(agent_name)
    needy: list[str] = []
    rooms = await lk.room.list_rooms(api.ListRoomsRequest())
    now = time.time()
    for room in rooms.rooms:
        if room.num_participants == 0 or alive_here(room.name):
            continue
        people = await lk.room.list_participants(api.ListParticipantsRequest(room=room.name))
        ours = [p for p in people.participants if p.identity == identity]
        humans = [p for p in people.participants if p.kind != api.ParticipantInfo.Kind.AGENT]
        if not humans:
            continue
        if ours:
            if now - _beat(ours[0]) >= HEARTBEAT_STALE:
                needy.append(room.name)
            continue
        if agent_name:
            dispatches = await lk.agent_dispatch.list_dispatch(room_name=room.name)
            if any(d.agent_name == agent_name for d in dispatches):
                needy.append(room.name)
    return needy


async def watch(settings: LiveKitSettings, stop: threading.Event) -> None:
    lk = api.LiveKitAPI(settings.url, settings.api_key, settings.api_secret)
    recently: dict[str, float] = {}
    try:
        while not stop.is_set():
            await asyncio.sleep(INTERVAL * random.uniform(0.75, 1.25))
            try:
                for name in await rooms_needing_agent(lk, settings.agent_name):
                    if time.monotonic() - recently.get(name, 0.0) < HEARTBEAT_STALE * 2:
                        continue  # give the last dispatch time to land
                    recently[name] = time.monotonic()
                    logger.info("room %s has lost its agent: dispatching a new one", name)
                    await lk.agent_dispatch.create_dispatch(
                        api.CreateAgentDispatchRequest(agent_name=settings.agent_name, room=name)
                    )
            except Exception as exc:
                logger.warning("sentinel pass failed: %s", type(exc).__name__)
    finally:
        await lk.aclose()


def start_sentinel(settings: LiveKitSettings) -> threading.Event:
    stop = threading.Event()
    threading.Thread(
        target=lambda: asyncio.run(watch(settings, stop)), name="greffier-sentinel", daemon=True
    ).start()
    return stop
