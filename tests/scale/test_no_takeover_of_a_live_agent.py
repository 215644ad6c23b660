"""A worker never takes over from an agent of its own process that is still beating.

Why: in a CI run on two busy cores, a live agent's heartbeats reached the server more than 5 s
apart; the worker's own sentinel took it for dead and dispatched a second agent into the room,
which replaced the first (same identity): the room lost its caption history and a few utterances.
"""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest
from livekit import api

from agent.config import LiveKitSettings
from agent.room import dispatch
from agent.room.dispatch import alive_here, beating_here, left_here, room_has_agent
from agent.room.sentinel import rooms_needing_agent


class _FakeRooms:
    """The three LiveKit API calls the sentinel makes, over one room whose agent beat 20 s ago."""

    def __init__(self, name: str) -> None:
        stale = api.ParticipantInfo(
            identity="greffier-agent",
            kind=api.ParticipantInfo.Kind.AGENT,
            attributes={"greffier.heartbeat": f"{time.time() - 20:.1f}"},
        )
        human = api.ParticipantInfo(identity="alice", kind=api.ParticipantInfo.Kind.STANDARD)
        self.rooms = [api.Room(name=name, num_participants=2)]
        self.people = [stale, human]
        self.room = SimpleNamespace(list_rooms=self._list_rooms, list_participants=self._list_participants)
        self.agent_dispatch = SimpleNamespace(list_dispatch=self._list_dispatch)

    async def _list_rooms(self, _req: object) -> api.ListRoomsResponse:
        return api.ListRoomsResponse(rooms=self.rooms)

    async def _list_participants(self, _req: object) -> api.ListParticipantsResponse:
        return api.ListParticipantsResponse(participants=self.people)

    async def _list_dispatch(self, room_name: str) -> list[object]:
        return []


async def test_the_sentinel_leaves_a_room_whose_agent_beats_in_this_process() -> None:
    lk = _FakeRooms("salle-1")
    assert await rooms_needing_agent(lk, "greffier") == ["salle-1"]  # type: ignore[arg-type]
    beating_here("salle-1")
    try:
        assert await rooms_needing_agent(lk, "greffier") == []  # type: ignore[arg-type]
    finally:
        left_here("salle-1")
    assert await rooms_needing_agent(lk, "greffier") == ["salle-1"]  # type: ignore[arg-type]


async def test_a_dispatch_into_a_room_this_process_serves_is_declined() -> None:
    # The URL leads nowhere: asking the server would fail and accept (dispatch must not block).
    settings = LiveKitSettings(url="ws://127.0.0.1:9", api_key="k", api_secret="s" * 32)
    assert await room_has_agent(settings, "salle-2", "greffier") is False
    beating_here("salle-2")
    try:
        assert await room_has_agent(settings, "salle-2", "greffier") is True
    finally:
        left_here("salle-2")


def test_an_agent_whose_loop_stopped_is_not_alive(monkeypatch: pytest.MonkeyPatch) -> None:
    beating_here("salle-3")
    assert alive_here("salle-3")
    now = time.monotonic()
    monkeypatch.setattr(dispatch.time, "monotonic", lambda: now + dispatch.LOCAL_STUCK + 1)
    assert not alive_here("salle-3")  # stuck for good: another agent may take over
    left_here("salle-3")
    assert not alive_here("salle-3") and not alive_here("never-here")


def test_two_dispatches_at_once_claim_the_room_once(monkeypatch: pytest.MonkeyPatch) -> None:
    # Visio's backend may dispatch twice at once: the second request must be declined before
    # either agent has joined, when the server lists no agent yet.
    assert dispatch.claim_here("salle-4")
    assert not dispatch.claim_here("salle-4")
    left_here("salle-4")  # the agent left: a later dispatch may come in
    assert dispatch.claim_here("salle-4")
    dispatch.release_claim("salle-4")  # declined after asking the server
    assert dispatch.claim_here("salle-4")
    now = time.monotonic()
    monkeypatch.setattr(dispatch.time, "monotonic", lambda: now + dispatch.CLAIM_HOLD + 1)
    assert dispatch.claim_here("salle-4")  # an accepted agent that never beat holds it no longer
    left_here("salle-4")
