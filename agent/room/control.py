"""Who may switch captions on and off for the room, and the RPC methods clients call.

Captions are an accessibility service: a guest must not be able to stop them for a deaf colleague.
Authority comes only from what a participant cannot forge:

- the ``canManageAgentSession`` grant in the participant's signed token (LiveKit passes it to
  every participant as ``ParticipantPermission.can_manage_agent_session``);
- the room metadata, which only the backend can set (API secret):
  ``{"greffier": {"controllers": ["identity", ...]}}``, matched against the identity the server
  put on the RPC call (taken from the signed token).

Never a participant's attributes, metadata or name: tokens commonly let participants update those.
Opting oneself out (the ``greffier.opt_out`` attribute) stays open to everyone.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

from livekit import rtc

from agent.logs import get_logger
from agent.room.limits import RateLimiter, ThrottledLog, shown
from agent.room.metadata import room_config

logger = get_logger(__name__)

ControlPolicy = Literal["controllers", "everyone", "nobody"]
CONTROL_POLICIES: tuple[ControlPolicy, ...] = ("controllers", "everyone", "nobody")

RPC_START = "greffier.captions.start"
RPC_STOP = "greffier.captions.stop"
RPC_HISTORY = "greffier.captions.history"
RPC_STATUS = "greffier.status"
RPC_LANGUAGE = "greffier.captions.language"  # a listener's own caption language: open to all
RPC_SO_FAR = "greffier.meeting.so_far"  # a late joiner's catch-up: open to all, rate-limited
MAX_CONTROLLERS = 256


@dataclass(frozen=True)
class RpcLimits:
    per_participant: float = 5.0  # calls per second, bursts of twice that
    per_room: float = 50.0
    history_per_participant: float = 2.0  # the costly call (a page of up to 12 KB)
    max_payload: int = 1024  # bytes; our requests are a few dozen


def controllers(room_metadata: str | None) -> set[str]:
    listed = room_config(room_metadata).get("controllers")
    if not isinstance(listed, list):
        return set()
    return {c for c in listed[:MAX_CONTROLLERS] if isinstance(c, str) and c}


def may_control(
    policy: ControlPolicy, participant: rtc.RemoteParticipant | None, room_metadata: str | None
) -> bool:
    """Whether this participant may start or stop captions for everyone in the room."""
    if participant is None or policy == "nobody":
        return False
    if policy == "everyone":
        return True
    if participant.permissions.can_manage_agent_session:
        return True
    return participant.identity in controllers(room_metadata)


class CaptionControl:
    """The RPC surface of a room session: start, stop, status, history; checked and limited."""

    def __init__(
        self,
        room: rtc.Room,
        *,
        policy: ControlPolicy,
        limits: RpcLimits,
        set_captions: Callable[[bool, str], None],
        status: Callable[[], dict[str, Any]],
        history: Callable[[str], str],
        set_language: Callable[[str, str], str] | None = None,
        so_far: Callable[[str, str], Awaitable[str]] | None = None,
    ) -> None:
        self.room = room
        self.policy = policy
        self.limits = limits
        self._set_captions = set_captions
        self._status = status
        self._history = history
        self._set_language = set_language
        self._so_far = so_far
        self._per_participant = RateLimiter(limits.per_participant)
        self._per_room = RateLimiter(limits.per_room)
        self._history_rate = RateLimiter(limits.history_per_participant)
        self._log = ThrottledLog()
        self.refused = 0

    def register(self) -> None:
        lp = self.room.local_participant
        lp.register_rpc_method(RPC_START, self._guarded(RPC_START, self._start))
        lp.register_rpc_method(RPC_STOP, self._guarded(RPC_STOP, self._stop))
        lp.register_rpc_method(RPC_STATUS, self._guarded(RPC_STATUS, self._status_rpc))
        lp.register_rpc_method(RPC_HISTORY, self._guarded(RPC_HISTORY, self._history_rpc))
        if self._set_language is not None:
            lp.register_rpc_method(RPC_LANGUAGE, self._guarded(RPC_LANGUAGE, self._language_rpc))
        if self._so_far is not None:
            lp.register_rpc_method(RPC_SO_FAR, self._guarded(RPC_SO_FAR, self._so_far_rpc))

    def _guarded(
        self, method: str, handler: Callable[[rtc.RpcInvocationData], Awaitable[str]]
    ) -> Callable[[rtc.RpcInvocationData], Awaitable[str]]:
        async def call(data: rtc.RpcInvocationData) -> str:
            self.check(method, data)
            return await handler(data)

        return call

    def check(self, method: str, data: rtc.RpcInvocationData) -> None:
        """Raise the ``RpcError`` the caller gets when the call is over a limit."""
        who = data.caller_identity
        if len(data.payload.encode()) > self.limits.max_payload:
            self._refuse(
                who, method, "payload", rtc.RpcError.ErrorCode.REQUEST_PAYLOAD_TOO_LARGE,
                f"payload over {self.limits.max_payload} bytes",
            )
        if not self._per_participant.allow(who) or not self._per_room.allow(""):
            self._refuse(who, method, "rate", rtc.RpcError.ErrorCode.APPLICATION_ERROR, "too many calls")
        if method in (RPC_HISTORY, RPC_SO_FAR) and not self._history_rate.allow(who):
            self._refuse(
                who, method, "rate", rtc.RpcError.ErrorCode.APPLICATION_ERROR, "too many history requests"
            )

    def _refuse(self, who: str, method: str, why: str, code: int, message: str) -> None:
        self.refused += 1
        self._log.warning(
            f"{why}:{who}:{method}",
            "refused %s from %s in room %s: %s",
            method,
            shown(who),
            self.room.name,
            message,
        )
        raise rtc.RpcError(code, message)

    async def _start(self, data: rtc.RpcInvocationData) -> str:
        return self._switch(True, data)

    async def _stop(self, data: rtc.RpcInvocationData) -> str:
        return self._switch(False, data)

    def _switch(self, on: bool, data: rtc.RpcInvocationData) -> str:
        who = data.caller_identity
        participant = self.room.remote_participants.get(who)
        if not may_control(self.policy, participant, self.room.metadata):
            method = RPC_START if on else RPC_STOP
            self._refuse(
                who,
                method,
                "denied",
                rtc.RpcError.ErrorCode.APPLICATION_ERROR,
                "not allowed: only the meeting's organisers may start or stop captions for the room"
                if self.policy != "nobody"
                else "not allowed: captions are switched by the meeting's backend only",
            )
        self._set_captions(on, who)
        return json.dumps(self._status())

    async def _status_rpc(self, data: rtc.RpcInvocationData) -> str:
        return json.dumps(self._status())

    async def _history_rpc(self, data: rtc.RpcInvocationData) -> str:
        return self._history(data.payload)

    async def _so_far_rpc(self, data: rtc.RpcInvocationData) -> str:
        assert self._so_far is not None
        try:
            return await self._so_far(data.caller_identity, data.payload)
        except ValueError as exc:
            raise rtc.RpcError(rtc.RpcError.ErrorCode.APPLICATION_ERROR, str(exc)) from None

    async def _language_rpc(self, data: rtc.RpcInvocationData) -> str:
        assert self._set_language is not None
        try:
            return self._set_language(data.caller_identity, data.payload)
        except ValueError as exc:
            raise rtc.RpcError(rtc.RpcError.ErrorCode.APPLICATION_ERROR, str(exc)) from None
