"""The load a worker reports to LiveKit's dispatcher.

CPU percentage is a poor signal for us: decoding is bursty and another process on the machine
(or a benchmark) would make the worker refuse rooms it could serve. We report the larger of
rooms / MAX_ROOMS and the speech engine's measured utilisation (see ``agent.asr.scheduler``),
so a worker is full when it holds MAX_ROOMS rooms or its recogniser cannot keep up.
"""

from __future__ import annotations

from collections.abc import Callable

from livekit.agents import AgentServer

from agent import metrics


def make_load_fnc(
    max_rooms: int, engine_load: Callable[[], float] | None = None
) -> Callable[[AgentServer], float]:
    """``engine_load``: the loaded speech engine's utilisation in [0, 1] (None: rooms only)."""

    def load(server: AgentServer) -> float:
        rooms = len(server.active_jobs) / max_rooms
        engine = engine_load() if engine_load is not None else 0.0
        value = min(1.0, max(rooms, engine))
        metrics.worker_load.set(value)
        metrics.active_rooms.set(len(server.active_jobs))
        return value

    return load
