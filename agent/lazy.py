"""Package faces whose names load on first use (PEP 562).

A package's ``__init__`` names its public API in one place without importing it: reading
``AsrSettings`` for a config check must not load faster-whisper, and ``RoomSettings`` must not
load the LiveKit SDK.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def lazy_names(package: str, where: dict[str, str]) -> tuple[list[str], Callable[[str], Any]]:
    """``(__all__, __getattr__)`` for ``package``, whose names live in the given submodules."""

    def __getattr__(name: str) -> Any:
        if name not in where:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f"{package}.{where[name]}"), name)

    return sorted(where), __getattr__
