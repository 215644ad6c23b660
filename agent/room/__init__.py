"""Everything that happens inside one LiveKit room: dispatch, participants, captions out.

Names load on first use (PEP 562): the worker's config check reads ``RoomSettings`` without
loading the recognizer and the LiveKit SDK.
"""

from __future__ import annotations

import importlib
from typing import Any

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

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
