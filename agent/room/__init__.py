"""Everything that happens inside one LiveKit room: dispatch, participants, captions out.

Names load on first use (PEP 562): the worker's config check reads ``RoomSettings`` without
loading the recognizer and the LiveKit SDK.
"""

from __future__ import annotations

from agent.lazy import lazy_names

_WHERE = {
    "RoomSettings": "settings",
    "RoomSession": "session",
    "run_room_session": "session",
    "TrackPipeline": "tracks",
    "TranscriptKeeper": "keeper",
    "Caption": "captions",
    "CaptionPublisher": "captions",
    "agent_identity": "dispatch",
    "room_has_agent": "dispatch",
    "rooms_needing_agent": "sentinel",
    "start_sentinel": "sentinel",
}

__all__, __getattr__ = lazy_names(__name__, _WHERE)
