"""Meeting minutes: built from the journal when the room ends, summarised by any
OpenAI-compatible LLM (map-reduce), and delivered by e-mail, webhook and files.

The room agent uses ``finish_meeting``, ``process_outbox`` and ``recover_unfinished`` from
``agent.minutes.pipeline``; they are imported lazily here to keep ``import agent.minutes`` light.
"""

from __future__ import annotations

from typing import Any

__all__ = ["MinutesResult", "MinutesSettings", "finish_meeting", "process_outbox", "recover_unfinished"]


def __getattr__(name: str) -> Any:
    if name == "MinutesSettings":
        from agent.minutes.settings import MinutesSettings

        return MinutesSettings
    if name in __all__:
        from agent.minutes import pipeline

        return getattr(pipeline, name)
    raise AttributeError(name)
