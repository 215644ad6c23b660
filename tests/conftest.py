"""Shared fixtures: a real livekit-server on loopback and helpers to run the worker."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.demo.livekit_server import LocalLiveKitServer
from tests.minutes.conftest import (  # noqa: F401  (real SMTP / HTTP / LLM servers for every test)
    SMTPSink,
    WebhookSink,
    llama_server,
    scripted_llm,
    smtp_env,
    smtp_server,
    webhook_env,
    webhook_server,
)

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "artifacts"


@pytest.fixture(scope="session")
def livekit_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalLiveKitServer]:
    log = tmp_path_factory.mktemp("livekit") / "livekit-server.log"
    server = LocalLiveKitServer(log_path=log, departure_timeout=2, empty_timeout=5)
    server.start()
    yield server
    server.stop()


class WorkerProcess:
    """`python -m agent start` as a child process, with its output kept in a file."""

    def __init__(self, server: LocalLiveKitServer, log_path: Path, extra_env: dict[str, str]) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("LIVEKIT_", "WHISPER_"))}
        env.update(
            LIVEKIT_URL=server.url,
            LIVEKIT_API_KEY=server.api_key,
            LIVEKIT_API_SECRET=server.api_secret,
            PYTHONUNBUFFERED="1",
            HEALTH_PORT="0",
            PROMETHEUS_PORT="0",
        )
        env.update(extra_env)
        self.log_path = log_path
        self._log = open(log_path, "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "agent", "start", "--log-level", "info"],
            cwd=REPO,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for_log(self, needle: str, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.output()
            if needle in text:
                return text
            if self.proc.poll() is not None:
                raise AssertionError(f"worker exited ({self.proc.returncode}):\n{text[-3000:]}")
            time.sleep(0.2)
        raise AssertionError(f"{needle!r} not in worker output after {timeout}s:\n{self.output()[-3000:]}")

    def stop(self, sig: int | None = None) -> None:
        if self.proc.poll() is None:
            if sig is None:
                self.proc.terminate()
            else:
                self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


@pytest.fixture
def start_worker(livekit_server: LocalLiveKitServer, tmp_path: Path) -> Iterator[callable]:  # type: ignore[valid-type]
    workers: list[WorkerProcess] = []

    def _start(**extra_env: str) -> WorkerProcess:
        worker = WorkerProcess(livekit_server, tmp_path / f"worker-{len(workers)}.log", extra_env)
        workers.append(worker)
        worker.wait_for_log("registered worker", timeout=60)
        return worker

    yield _start
    for worker in workers:
        worker.stop()
