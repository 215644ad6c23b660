"""Caption control and limits, without a server: who may switch captions, and how much one
participant may send. The real-server tests are in tests/e2e/test_control_policy.py."""

from __future__ import annotations

import json
import logging
from types import SimpleNamespace
from typing import Any

import pytest
from livekit import rtc

from agent.config import ConfigError
from agent.room.control import RPC_HISTORY, RPC_STATUS, RPC_STOP, CaptionControl, RpcLimits, may_control
from agent.room.limits import RateLimiter, ThrottledLog, shown
from agent.room.metadata import display_name
from agent.room.session import RoomSession
from agent.room.settings import RoomSettings


def person(identity: str, *, grant: bool = False, attributes: dict[str, str] | None = None) -> Any:
    return SimpleNamespace(
        identity=identity,
        name=identity,
        attributes=attributes or {},
        permissions=SimpleNamespace(can_manage_agent_session=grant),
    )


META = json.dumps({"greffier": {"controllers": ["chair", 7, None, ""]}})


@pytest.mark.parametrize(
    ("policy", "who", "metadata", "allowed"),
    [
        ("controllers", person("guest"), META, False),
        ("controllers", person("chair"), META, True),
        ("controllers", person("owner", grant=True), "", True),
        ("controllers", person("chair"), "{not json", False),
        ("controllers", person("chair"), json.dumps({"greffier": {"controllers": "chair"}}), False),
        ("controllers", None, META, False),
        ("everyone", person("guest"), "", True),
        ("nobody", person("owner", grant=True), META, False),
    ],
)
def test_who_may_control(policy: Any, who: Any, metadata: str, allowed: bool) -> None:
    assert may_control(policy, who, metadata) is allowed


def test_forged_attributes_grant_nothing() -> None:
    forged = person("mallory", attributes={"greffier.controllers": "mallory", "role": "admin"})
    forged.metadata = META.replace("chair", "mallory")  # its own participant metadata
    assert not may_control("controllers", forged, META)


def test_rate_limiter_refills_and_forgets_old_keys() -> None:
    now = [0.0]
    limiter = RateLimiter(2.0, clock=lambda: now[0])  # burst 4
    assert [limiter.allow("a") for _ in range(6)] == [True] * 4 + [False] * 2
    assert limiter.allow("b")  # another participant has its own bucket
    now[0] += 1.0
    assert [limiter.allow("a") for _ in range(3)] == [True, True, False]


def test_throttled_log_holds_back_repeats(caplog: pytest.LogCaptureFixture) -> None:
    now = [0.0]
    log = ThrottledLog(10.0, clock=lambda: now[0])
    with caplog.at_level(logging.WARNING):
        for _ in range(50):
            log.warning("k", "refused %s", "x")
        now[0] += 11
        log.warning("k", "refused %s", "x")
    lines = [r.getMessage() for r in caplog.records]
    assert lines == ["refused x", "refused x (49 similar line(s) held back)"]


def test_hostile_strings_in_logs_and_names() -> None:
    assert shown("evil\r\nINFO fake line") == "evil??INFO fake line"
    assert len(shown("x" * 10_000)) == 65
    assert display_name("Al\r\nice\x00" + "é" * 10_000, "id", 128) == "Al ice " + "é" * 121
    assert display_name("\r\n\t", "alice", 128) == "alice"
    assert display_name("🙂 مرحبا", "id", 128) == "🙂 مرحبا"


class FakeRoom:
    def __init__(self, participants: list[Any], metadata: str = "") -> None:
        self.name = "salle"
        self.metadata = metadata
        self.remote_participants = {p.identity: p for p in participants}
        self.methods: dict[str, Any] = {}
        self.local_participant = SimpleNamespace(register_rpc_method=self.methods.__setitem__)


def call(identity: str, payload: str = "") -> rtc.RpcInvocationData:
    return rtc.RpcInvocationData("r1", identity, payload, 5.0)


async def test_refused_call_changes_nothing_and_says_why() -> None:
    switched: list[tuple[bool, str]] = []
    room = FakeRoom([person("guest"), person("chair")], META)
    control = CaptionControl(
        room,  # type: ignore[arg-type]
        policy="controllers",
        limits=RpcLimits(),
        set_captions=lambda on, by: switched.append((on, by)),
        status=lambda: {"active": True},
        history=lambda payload: "{}",
    )
    control.register()
    with pytest.raises(rtc.RpcError) as refused:
        await room.methods[RPC_STOP](call("guest"))
    assert "not allowed" in refused.value.message and switched == []
    assert json.loads(await room.methods[RPC_STOP](call("chair"))) == {"active": True}
    assert switched == [(False, "chair")]
    with pytest.raises(rtc.RpcError) as big:
        await room.methods[RPC_HISTORY](call("guest", "x" * 2000))
    assert big.value.code == rtc.RpcError.ErrorCode.REQUEST_PAYLOAD_TOO_LARGE


async def test_history_has_its_own_stricter_rate() -> None:
    room = FakeRoom([person("guest")])
    control = CaptionControl(
        room,  # type: ignore[arg-type]
        policy="controllers",
        limits=RpcLimits(per_participant=100, history_per_participant=1),
        set_captions=lambda on, by: None,
        status=lambda: {},
        history=lambda payload: "{}",
    )
    control.register()
    answers = []
    for _ in range(4):
        try:
            answers.append(await room.methods[RPC_HISTORY](call("guest")))
        except rtc.RpcError as exc:
            answers.append(exc.message)
    assert answers == ["{}", "{}", "too many history requests", "too many history requests"]
    assert await room.methods[RPC_STATUS](call("guest")) == "{}"  # other calls still answered


def session_with(pipelines: dict[str, Any], settings: RoomSettings) -> RoomSession:
    ctx = SimpleNamespace(room=SimpleNamespace(name="salle"))
    session = RoomSession(ctx, None, None, settings, engine=object())  # type: ignore[arg-type]
    session.pipelines = pipelines
    return session


def test_track_and_participant_limits(caplog: pytest.LogCaptureFixture) -> None:
    settings = RoomSettings(max_tracks_per_participant=2, max_captioned_participants=2)
    pipelines = {"t1": SimpleNamespace(identity="a"), "t2": SimpleNamespace(identity="a")}
    session = session_with(pipelines, settings)
    with caplog.at_level(logging.WARNING):
        assert not session._within_limits(person("a"))  # a third microphone
        assert session._within_limits(person("b"))
        pipelines["t3"] = SimpleNamespace(identity="b")
        assert not session._within_limits(person("c"))  # a third participant
        assert session._within_limits(person("b"))  # b's second microphone
    text = caplog.text
    assert "MAX_TRACKS_PER_PARTICIPANT=2" in text and "MAX_CAPTIONED_PARTICIPANTS=2" in text


def test_oversized_room_metadata_is_ignored(caplog: pytest.LogCaptureFixture) -> None:
    session = session_with({}, RoomSettings(max_metadata_bytes=1024))
    with caplog.at_level(logging.WARNING):
        assert session.metadata(META) == META
        assert session.metadata(json.dumps({"greffier": {"title": "x" * 2000}})) == ""
    assert "over 1024 bytes" in caplog.text


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("CAPTIONS_CONTROL", "guests", "CAPTIONS_CONTROL='guests' is invalid: expected one of"),
        ("RPC_RATE_PER_PARTICIPANT", "fast", "RPC_RATE_PER_PARTICIPANT='fast' is invalid"),
        ("RPC_MAX_PAYLOAD_BYTES", "100000", "RPC_MAX_PAYLOAD_BYTES"),
        ("MAX_TRACKS_PER_PARTICIPANT", "0", "MAX_TRACKS_PER_PARTICIPANT"),
    ],
)
def test_bad_limits_are_one_line_errors(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")) as error:
        RoomSettings.from_env()
    assert "\n" not in str(error.value)


def test_defaults_are_safe(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CAPTIONS_CONTROL", "RPC_RATE_PER_PARTICIPANT", "MAX_TRACKS_PER_PARTICIPANT"):
        monkeypatch.delenv(name, raising=False)
    settings = RoomSettings.from_env()
    assert settings.captions_control == "controllers"
    assert settings.rpc_limits.per_participant == 5.0
