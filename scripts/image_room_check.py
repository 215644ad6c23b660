"""Run the greffier image as an operator would and check it works: the room half of image-check.

Usage: image_room_check.py IMAGE WORKDIR [--podman "podman --storage-driver vfs"] [--model base]

Why a script and not a test: it needs a container engine and an image built from the network
(scripts/image-check.sh builds both), so it runs on demand (`make image-check`), not in CI.

What it does, with real parts only: starts a livekit-server on loopback (the repo's test binary),
a signed-webhook receiver on loopback, and the image as
``--read-only --read-only-tmpfs=false --tmpfs /tmp --user 10001:10001 --network host`` with a
host folder (owned by 10001) as /data. Then: the health endpoint answers, the process is uid
10001 and cannot write its root filesystem, a dispatched room gets captions of espeak-ng speech
from a real SDK participant, /metrics counts them, the room's end brings minutes.md into
DATA_DIR/minutes/<room sid>/ and one signed webhook, the logs hold no traceback, no write error
and no transcript text, and SIGTERM stops the container with exit status 0.
Prints one line per check with its time; exits 1 if any check failed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import hmac
import json
import os
import re
import shlex
import subprocess
import sys
import time
import urllib.request
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web
from livekit import api

from agent.demo.listener import CaptionReader
from agent.demo.livekit_server import LocalLiveKitServer, free_port
from agent.demo.player import Speaker, participant_token
from agent.samples import normalize_for_wer, synth_speech, word_error_rate

AGENT = "greffier-imagecheck"
CONTAINER = "greffier-image-check"
ROOM = "image-check-room"
UID = 10001
SPEECH = (
    "Good morning everyone. We decided to move the launch to March. "
    "Alice will send the budget by Friday, and Bob will book the meeting room."
)
SECRET_PHRASE = "move the launch to march"  # must never appear in the logs (LOG_TRANSCRIPTS off)
WEBHOOK_SECRET = "image-check-webhook-secret-0123456789"
MAX_FINAL_WER = 0.6  # espeak-ng's robotic voice; a broken pipeline gives 1.0 or nothing
LOG_ALARMS = ("Traceback", "Read-only file system", "Permission denied", "PermissionError")


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    seconds: float


@dataclass
class Run:
    checks: list[Check] = field(default_factory=list)

    def add(self, name: str, ok: bool, detail: str, started: float) -> bool:
        check = Check(name, ok, detail, time.monotonic() - started)
        self.checks.append(check)
        print(f"  [{'ok' if ok else 'FAIL'}] {name:<22} {check.seconds:6.1f}s  {detail}", flush=True)
        return ok

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]


class Podman:
    def __init__(self, command: str) -> None:
        self.argv = shlex.split(command)

    def run(self, *args: str, check: bool = False, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self.argv, *args], capture_output=True, text=True, timeout=timeout, check=check
        )

    def logs(self) -> str:
        proc = self.run("logs", CONTAINER)
        return proc.stdout + proc.stderr

    def running(self) -> bool:
        proc = self.run("inspect", "-f", "{{.State.Running}}", CONTAINER)
        return proc.stdout.strip() == "true"


@dataclass
class WebhookSink:
    url: str = ""
    received: list[dict[str, Any]] = field(default_factory=list)
    bad_signatures: int = 0
    _runner: web.AppRunner | None = None

    async def start(self) -> None:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}/minutes"
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/minutes", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", port).start()

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        expected = "sha256=" + hmac.new(WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, request.headers.get("X-Greffier-Signature", "")):
            self.bad_signatures += 1
            return web.Response(status=401)
        self.received.append(json.loads(body))
        return web.json_response({"ok": True})

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


def http_get(url: str, timeout: float = 3.0) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, resp.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, ""
    except OSError:
        return 0, ""


async def wait_for(
    check: Callable[[], Awaitable[bool] | bool], timeout: float, interval: float = 0.5
) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return True
        await asyncio.sleep(interval)
    return False


def metric_sum(text: str, name: str) -> float | None:
    """Sum of a metric's samples in Prometheus text format (None when it is absent)."""
    values = [
        float(m.group(1)) for m in re.finditer(rf"^{re.escape(name)}(?:\{{[^}}]*\}})?\s+(\S+)$", text, re.M)
    ]
    return sum(values) if values else None


def container_argv(
    image: str, server: LocalLiveKitServer, data: Path, env: dict[str, str], run_opts: list[str]
) -> list[str]:
    argv = [
        "run", "-d", "--name", CONTAINER, *run_opts,
        "--read-only", "--read-only-tmpfs=false", "--tmpfs", "/tmp",
        "--user", f"{UID}:{UID}", "--network", "host",
        "--cap-drop", "all", "--security-opt", "no-new-privileges",
        "-v", f"{data}:/data",
    ]  # fmt: skip
    env = {
        "LIVEKIT_URL": server.url,
        "LIVEKIT_API_KEY": server.api_key,
        "LIVEKIT_API_SECRET": server.api_secret,
        **env,
    }
    for key, value in env.items():
        argv += ["-e", f"{key}={value}"]
    return [*argv, image, "start"]


async def room_checks(
    run: Run, podman: Podman, server: LocalLiveKitServer, data: Path, hook: WebhookSink, ports: dict[str, int]
) -> None:
    lk = api.LiveKitAPI(server.http_url, server.api_key, server.api_secret)
    try:
        t = time.monotonic()
        meta = {"greffier": {"title": "Image check", "language": "en"}}
        room = await lk.room.create_room(api.CreateRoomRequest(name=ROOM, metadata=json.dumps(meta)))
        await lk.agent_dispatch.create_dispatch(api.CreateAgentDispatchRequest(agent_name=AGENT, room=ROOM))
        reader = await CaptionReader.join(
            server.url, participant_token(server.api_key, server.api_secret, "reader", ROOM)
        )
        alice = await Speaker.join(
            server.url, participant_token(server.api_key, server.api_secret, "alice", ROOM, name="Alice")
        )
        await alice.publish()
        joined = await wait_for(lambda: "captioning alice" in podman.logs(), timeout=60)
        if not run.add("agent joins the room", joined, f"dispatch to {AGENT!r}, room sid {room.sid}", t):
            return

        t = time.monotonic()
        wav = synth_speech(SPEECH, "en")
        await alice.play(wav, tail_silence=2.0)
        spoken_end = time.time()
        got = await wait_for(lambda: len(reader.log.finals("alice")) > 0, timeout=60)
        await wait_for(
            lambda: time.time() - max((c.received_at for c in reader.log.streams), default=0) > 4, timeout=40
        )
        finals = reader.log.final_text("alice")
        wer = word_error_rate(normalize_for_wer(SPEECH), normalize_for_wer(finals)) if got else 1.0
        interim = [c for c in reader.log.streams if not c.final]
        last_final = max((c.received_at for c in reader.log.finals("alice")), default=spoken_end)
        run.add(
            "captions",
            got and wer <= MAX_FINAL_WER,
            f"{len(reader.log.finals('alice'))} finals, {len(interim)} interim, WER {wer:.2f}, "
            f"last final {last_final - spoken_end:+.1f}s after speech end",
            t,
        )

        t = time.monotonic()
        status, text = http_get(f"http://127.0.0.1:{ports['prometheus']}/metrics")
        captions = metric_sum(text, "greffier_captions_total")
        rooms = metric_sum(text, "greffier_active_rooms")
        run.add(
            "metrics",
            status == 200 and bool(captions) and rooms == 1,
            f"HTTP {status}, greffier_captions_total={captions}, greffier_active_rooms={rooms}",
            t,
        )

        t = time.monotonic()
        await alice.leave()
        await reader.leave()
        folder = data / "minutes" / room.sid
        done = await wait_for(lambda: (folder / "minutes.json").exists(), timeout=180)
        md = (folder / "minutes.md").read_text("utf-8") if (folder / "minutes.md").exists() else ""
        heard = sum(w in normalize_for_wer(md) for w in ("launch", "march", "budget", "friday"))
        files = sorted(p.name for p in folder.iterdir()) if folder.exists() else []
        run.add(
            "minutes files",
            done and heard >= 2,
            f"minutes/{room.sid}/: {', '.join(files) or 'none'}; {heard}/4 key words in minutes.md",
            t,
        )
        t = time.monotonic()
        await wait_for(lambda: bool(hook.received), timeout=60)
        await asyncio.sleep(2)  # a duplicate would arrive now
        sessions = {p.get("minutes", {}).get("session_id") for p in hook.received}
        run.add(
            "minutes webhook",
            len(hook.received) == 1 and hook.bad_signatures == 0 and sessions == {room.sid},
            f"{len(hook.received)} signed delivery, {hook.bad_signatures} bad signatures",
            t,
        )
    finally:
        await lk.aclose()


def prepare(podman: Podman, work: Path) -> Path:
    """A fresh DATA_DIR owned by the image's user, and no container left from an earlier run."""
    podman.run("rm", "-f", "-t", "0", CONTAINER)
    data = work / "data"
    subprocess.run(["rm", "-rf", str(data)], check=True)
    data.mkdir(parents=True)
    os.chown(data, UID, UID)
    data.chmod(0o700)
    return data


async def main_async(args: argparse.Namespace, podman: Podman, work: Path, data: Path) -> int:
    run = Run()
    server = LocalLiveKitServer(log_path=work / "livekit-server.log", empty_timeout=5, departure_timeout=3)
    hook = WebhookSink()
    ports = {"health": free_port(), "prometheus": free_port()}
    try:
        t = time.monotonic()
        server.start()
        await hook.start()
        env = {
            "AGENT_NAME": AGENT,
            "ROOM_EMPTY_GRACE": "2",
            "WHISPER_MODEL": args.model,
            "HEALTH_PORT": str(ports["health"]),
            "PROMETHEUS_PORT": str(ports["prometheus"]),
            "MINUTES_WEBHOOK_URL": hook.url,
            "MINUTES_WEBHOOK_SECRET": WEBHOOK_SECRET,
        }
        proc = podman.run(*container_argv(args.image, server, data, env, shlex.split(args.run_opts)))
        # podman may print that it cannot schedule the HEALTHCHECK without systemd: the check
        # below runs it by hand (`podman healthcheck run`).
        if not run.add("container starts", proc.returncode == 0, f"id {proc.stdout.strip()[:12]}", t):
            print(proc.stderr[-2000:])
            return 1

        t = time.monotonic()
        health_url = f"http://127.0.0.1:{ports['health']}/"
        healthy = await wait_for(lambda: http_get(health_url)[0] == 200 or not podman.running(), timeout=240)
        status, body = http_get(health_url)
        worker_status, _ = http_get(health_url + "worker")
        run.add(
            "health endpoint",
            healthy and status == 200,
            f"GET / -> {status} {body.strip()[:20]!r}; GET /worker -> {worker_status}",
            t,
        )
        if status != 200:
            return 1

        t = time.monotonic()
        hc = podman.run("healthcheck", "run", CONTAINER)
        run.add(
            "image HEALTHCHECK",
            hc.returncode == 0,
            f"podman healthcheck run -> {hc.returncode} {(hc.stdout + hc.stderr).strip()[-80:]!r}",
            t,
        )

        t = time.monotonic()
        uid = podman.run("exec", CONTAINER, "python", "-c", "import os; print(os.getuid(), os.getgid())")
        write = podman.run(
            "exec", CONTAINER, "python", "-c",
            "import os\nfor p in ('/app/probe', '/opt/venv/probe', '/probe'):\n"
            "    try:\n        open(p, 'w')\n    except OSError as e:\n        print(p, e.strerror)\n"
            "    else:\n        print(p, 'WRITABLE')\n        os.remove(p)",
        )  # fmt: skip
        readonly = podman.run("inspect", "-f", "{{.HostConfig.ReadonlyRootfs}}", CONTAINER).stdout.strip()
        refused = write.returncode == 0 and "WRITABLE" not in write.stdout and write.stdout.count("\n") == 3
        run.add(
            "uid 10001, read-only",
            uid.stdout.split() == [str(UID), str(UID)] and refused and readonly == "true",
            f"uid/gid {uid.stdout.strip()}; ReadonlyRootfs={readonly}; writes: "
            + "; ".join(line.strip() for line in write.stdout.splitlines()),
            t,
        )

        await room_checks(run, podman, server, data, hook, ports)

        t = time.monotonic()
        logs = podman.logs()
        alarms = [a for a in LOG_ALARMS if a in logs]
        leaked = SECRET_PHRASE in logs.lower() or server.api_secret in logs or WEBHOOK_SECRET in logs
        run.add(
            "container logs clean",
            not alarms and not leaked,
            f"{len(logs.splitlines())} lines; alarms: {alarms or 'none'}; transcript or secret: {leaked}",
            t,
        )

        t = time.monotonic()
        stop = podman.run("stop", "-t", "60", CONTAINER, timeout=90)
        code = podman.run("inspect", "-f", "{{.State.ExitCode}}", CONTAINER).stdout.strip()
        run.add("SIGTERM stop", stop.returncode == 0 and code == "0", f"exit status {code}", t)
    finally:
        with contextlib.suppress(Exception):
            (work / "container.log").write_text(podman.logs())
        podman.run("rm", "-f", "-t", "0", CONTAINER)
        await hook.stop()
        server.stop()
    if run.failed:
        print(f"image room check: {len(run.failed)} of {len(run.checks)} checks FAILED "
              f"(container log: {work / 'container.log'})")  # fmt: skip
        return 1
    print(f"image room check: all {len(run.checks)} checks passed")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("image")
    parser.add_argument("workdir")
    parser.add_argument("--podman", default="podman", help="the podman command line (global flags included)")
    parser.add_argument("--run-opts", default="", help="more `podman run` options (runtime, ulimits)")
    parser.add_argument("--model", default="base", help="WHISPER_MODEL inside the container")
    args = parser.parse_args()
    podman = Podman(args.podman)
    work = Path(args.workdir).resolve()
    return asyncio.run(main_async(args, podman, work, prepare(podman, work)))


if __name__ == "__main__":
    sys.exit(main())
