"""The worker process: registers with LiveKit (livekit-agents ``AgentServer``) and runs one
captioning session per room it is dispatched to.

Jobs run in threads of this process by default (``JOB_EXECUTOR=thread``) so that every room on a
worker shares one loaded speech model and one decode scheduler; see README "Scaling".
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass

from livekit.agents import AgentServer, JobContext, JobExecutorType, JobRequest, WorkerPermissions
from livekit.agents import cli as lk_cli

from agent.asr.settings import AsrSettings
from agent.asr.shared import get_engine
from agent.config import LiveKitSettings, env_bool, env_choice, env_int
from agent.load import make_load_fnc
from agent.logs import get_logger, hold_until_configured
from agent.meeting.service import MinutesService
from agent.minutes.settings import MinutesSettings
from agent.room.dispatch import (
    AGENT_DISPLAY_NAME,
    agent_identity,
    claim_here,
    heartbeat_attributes,
    release_claim,
    room_has_agent,
)
from agent.room.sentinel import start_sentinel
from agent.room.session import run_room_session
from agent.room.settings import RoomSettings

logger = get_logger(__name__)


@dataclass(frozen=True)
class WorkerSettings:
    executor: str = "thread"
    max_rooms: int = 8
    health_port: int = 8081
    prometheus_port: int = 9100
    drain_timeout: int = 1800
    sentinel: bool = True

    @classmethod
    def from_env(cls) -> WorkerSettings:
        return cls(
            executor=env_choice("JOB_EXECUTOR", "thread", ("thread", "process")),
            max_rooms=env_int("MAX_ROOMS", 8, minimum=1),
            health_port=env_int("HEALTH_PORT", 8081, minimum=0, maximum=65535),
            prometheus_port=env_int("PROMETHEUS_PORT", 9100, minimum=0, maximum=65535),
            drain_timeout=env_int("DRAIN_TIMEOUT", 1800, minimum=0),
            sentinel=env_bool("SENTINEL", True),
        )


def build_server(
    settings: LiveKitSettings,
    minutes: MinutesSettings,
    room_settings: RoomSettings | None = None,
    worker: WorkerSettings | None = None,
    *,
    engine_load: Callable[[], float] | None = None,
    minutes_service: MinutesService | None = None,
) -> AgentServer:
    worker = worker or WorkerSettings()
    executor, max_rooms = worker.executor, worker.max_rooms
    server = AgentServer(
        ws_url=settings.url,
        api_key=settings.api_key,
        api_secret=settings.api_secret,
        load_fnc=make_load_fnc(max_rooms, engine_load),
        port=worker.health_port,
        prometheus_port=worker.prometheus_port or None,
        drain_timeout=worker.drain_timeout,
        load_threshold=1.0,
        job_executor_type=JobExecutorType.THREAD if executor == "thread" else JobExecutorType.PROCESS,
        # Hidden: other participants never see the agent. It publishes data (captions), not media.
        permissions=WorkerPermissions(
            can_publish=False,
            can_subscribe=True,
            can_publish_data=True,
            can_update_metadata=True,
            hidden=True,
        ),
    )

    async def on_request(request: JobRequest) -> None:
        room = request.room
        if not claim_here(room.name):
            logger.info("room %s already has a greffier agent: declining dispatch (same worker)", room.name)
            await request.reject()
            return
        try:
            has_agent = await room_has_agent(settings, room.name, request.agent_name or settings.agent_name)
        except BaseException:
            release_claim(room.name)
            raise
        if has_agent:
            release_claim(room.name)
            logger.info("room %s already has a greffier agent: declining dispatch", room.name)
            await request.reject()
            return
        logger.info("accepting dispatch into room %s", room.name)
        await request.accept(
            name=AGENT_DISPLAY_NAME,
            identity=agent_identity(settings.agent_name),
            attributes={"greffier.role": "captions", **heartbeat_attributes()},
        )

    async def entrypoint(ctx: JobContext) -> None:
        await run_room_session(ctx, settings, minutes, room_settings, minutes_service)

    server.rtc_session(entrypoint, agent_name=settings.agent_name, on_request=on_request)
    return server


def run_worker(argv: list[str]) -> int:
    """Run livekit-agents' own CLI (``start``/``dev``...) on our server."""
    settings = LiveKitSettings.from_env()
    asr_settings = AsrSettings.from_env()
    minutes = MinutesSettings.from_env()
    room_settings = RoomSettings.from_env()
    worker = WorkerSettings.from_env()
    service: MinutesService | None = None
    engine_load: Callable[[], float] | None = None
    release_logs = hold_until_configured()
    if argv and argv[0] in {"start", "dev"}:
        service = MinutesService(minutes)
        service.start()
        if worker.sentinel:
            start_sentinel(settings)
        # Load the model once, before registering: no room ever waits for it (see README).
        engine_load = get_engine(asr_settings).load
        if room_settings.translate.backend == "local" and worker.executor == "thread":
            from agent.translate.local import preload  # llama.cpp only where it is used

            preload(room_settings.translate)  # its load would freeze every room (the GIL)
    server = build_server(
        settings, minutes, room_settings, worker, engine_load=engine_load, minutes_service=service
    )
    server.on("worker_started", release_logs)  # the CLI has configured logging by then
    # livekit-agents' CLI reads sys.argv; it raises SystemExit with its own exit code.
    sys.argv = [sys.argv[0], *argv]
    try:
        lk_cli.run_app(server)
    except SystemExit as exc:
        return int(exc.code or 0) if not isinstance(exc.code, str) else 1
    finally:
        release_logs()
        if service is not None:
            service.wait()
    return 0
