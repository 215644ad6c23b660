"""Captions said before a client joined, paged to fit an RPC reply (LiveKit caps them at 15 KiB)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from agent.room.captions import Caption

HISTORY_PAGE_BYTES = 12_000


def history_page(history: Sequence[Caption], payload: str) -> str:
    """``{"since": N}`` → ``{"items": [...], "next": M, "total": T}``; garbage reads as since 0."""
    since = 0
    try:
        request = json.loads(payload) if payload else {}
        if isinstance(request, dict) and isinstance(request.get("since"), int):
            since = max(0, request["since"])
    except (ValueError, RecursionError):
        pass
    items: list[dict[str, Any]] = []
    size = 0
    index = since
    for caption in history[since:]:
        message = caption.to_message()
        message.pop("words", None)
        encoded = len(json.dumps(message, ensure_ascii=False).encode())
        if items and size + encoded > HISTORY_PAGE_BYTES:
            break
        items.append(message)
        size += encoded
        index += 1
    return json.dumps({"items": items, "next": index, "total": len(history)}, ensure_ascii=False)
