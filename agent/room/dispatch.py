"""One agent per room.

LiveKit may dispatch twice into a room (a second explicit dispatch, a worker restart, two workers
racing). We decline a request when the room already holds a participant with our identity, and the
identity is fixed per agent name, so even a lost race ends with a single agent: the server
replaces a duplicate identity instead of adding a second participant.
"""

from __future__ import annotations

import logging

from livekit import api

from agent.config import LiveKitSettings

logger = logging.getLogger("greffier.dispatch")

AGENT_DISPLAY_NAME = "Greffier"


def agent_identity(agent_name: str) -> str:
    return f"{agent_name or 'greffier'}-agent"


async def room_has_agent(settings: LiveKitSettings, room_name: str, agent_name: str) -> bool:
    identity = agent_identity(agent_name)
    lkapi = api.LiveKitAPI(settings.url, settings.api_key, settings.api_secret)
    try:
        resp = await lkapi.room.list_participants(api.ListParticipantsRequest(room=room_name))
    except Exception as exc:  # the API being unreachable must not block dispatch
        logger.warning("could not list participants of %s (%s): accepting", room_name, type(exc).__name__)
        return False
    finally:
        await lkapi.aclose()
    return any(p.identity == identity for p in resp.participants)
