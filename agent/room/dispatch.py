"""One agent per room.

LiveKit may dispatch twice into a room (a second explicit dispatch, a worker restart, two workers
racing). We decline a request when the room already holds a live agent with our identity, and the
identity is fixed per agent name, so even a lost race ends with a single agent: the server
replaces a duplicate identity instead of adding a second participant.

"Live" is judged by a heartbeat attribute the agent refreshes every few seconds: a worker killed
with SIGKILL leaves its participant in the room until the server times it out (tens of seconds),
and a new agent must be able to take over at once. A worker never takes over from an agent of its
own process that is still beating (``alive_here``): in a CI run the beats of a live agent reached
the server more than 5 s apart (an attribute update waited 5 s for the server's answer), the
worker's own sentinel dispatched a second agent, and the room lost its caption history and a few
utterances in the handover.
"""

from __future__ import annotations

import asyncio
import time

from livekit import api

from agent.config import LiveKitSettings
from agent.logs import get_logger

logger = get_logger(__name__)

AGENT_DISPLAY_NAME = "Greffier"
ATTR_HEARTBEAT = "greffier.heartbeat"
HEARTBEAT_EVERY = 1.5
HEARTBEAT_STALE = 5.0
LOCAL_STUCK = 30.0  # an agent of this process whose heartbeats went unanswered that long is lost

CLAIM_HOLD = LOCAL_STUCK  # a dispatch accepted here holds the room until its agent beats

_here: dict[str, float] = {}  # rooms this process is in -> when the server last took a heartbeat
_claims: dict[str, float] = {}  # rooms a dispatch of this process was accepted into -> when


def beating_here(room_name: str) -> None:
    """The room's session in this process is alive (the server just took its heartbeat)."""
    _here[room_name] = time.monotonic()


def left_here(room_name: str) -> None:
    _here.pop(room_name, None)
    _claims.pop(room_name, None)


def claim_here(room_name: str) -> bool:
    """Reserve the room for the dispatch being handled, or False when another one of this process
    holds it. Taken before any await: Visio's backend may dispatch twice at once, both requests
    then reach this worker together, and before either agent has joined (let alone beaten) the
    server lists no agent to either of them. Measured: both were accepted, the second agent
    replaced the first (same identity) 9 s into the meeting and the room lost its first words.
    The claim ends when the agent leaves (``left_here``), when the dispatch is declined
    (``release_claim``), or after ``CLAIM_HOLD``, by which time the agent's heartbeat speaks."""
    now = time.monotonic()
    since = _claims.get(room_name)
    if since is not None and now - since < CLAIM_HOLD:
        return False
    _claims[room_name] = now
    return True


def release_claim(room_name: str) -> None:
    _claims.pop(room_name, None)


def alive_here(room_name: str) -> bool:
    """An agent of this process is in the room and the server answers it: however late its last
    heartbeat reached the server, no one here should take over from it."""
    last = _here.get(room_name)
    return last is not None and time.monotonic() - last < LOCAL_STUCK


def agent_identity(agent_name: str) -> str:
    return f"{agent_name or 'greffier'}-agent"


async def room_has_agent(settings: LiveKitSettings, room_name: str, agent_name: str) -> bool:
    """True when a live agent of ours is in the room.

    A heartbeat older than ``HEARTBEAT_STALE`` means a dead agent. A fresh one is watched for one
    more beat: if it does not advance, the agent died just now (SIGKILL) and we take over.
    """
    if alive_here(room_name):
        return True
    identity = agent_identity(agent_name)
    lkapi = api.LiveKitAPI(settings.url, settings.api_key, settings.api_secret)
    try:
        beat = await _heartbeat(lkapi, room_name, identity)
        if beat is None:
            return False
        if time.time() - beat >= HEARTBEAT_STALE:
            logger.info(
                "agent in room %s has been silent for %.0fs: taking over", room_name, time.time() - beat
            )
            return False
        await asyncio.sleep(max(0.0, beat + HEARTBEAT_EVERY * 1.5 - time.time()))
        again = await _heartbeat(lkapi, room_name, identity)
        if again is None or again <= beat:
            logger.info("agent in room %s stopped beating: taking over", room_name)
            return False
        return True
    except Exception as exc:  # the API being unreachable must not block dispatch
        logger.warning("could not list participants of %s (%s): accepting", room_name, type(exc).__name__)
        return False
    finally:
        await lkapi.aclose()


async def _heartbeat(lkapi: api.LiveKitAPI, room_name: str, identity: str) -> float | None:
    resp = await lkapi.room.list_participants(api.ListParticipantsRequest(room=room_name))
    for p in resp.participants:
        if p.identity == identity:
            try:
                return float(p.attributes.get(ATTR_HEARTBEAT, "0"))
            except ValueError:
                return 0.0
    return None


def heartbeat_attributes() -> dict[str, str]:
    return {ATTR_HEARTBEAT: f"{time.time():.1f}"}
