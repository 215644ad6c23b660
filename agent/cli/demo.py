"""``python -m agent demo``: everything on one machine, no configuration.

Starts a local livekit-server (unless ``LIVEKIT_URL`` points at one), the worker, a demo room,
two simulated participants speaking a real recorded phone call (one microphone each) and a caption
reader that prints the captions as a participant's screen would show them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import numpy as np
from livekit import api

from agent.audio.decode import load_audio
from agent.config import LiveKitSettings
from agent.demo.listener import CaptionReader, StreamCaption
from agent.demo.livekit_server import LocalLiveKitServer
from agent.demo.player import Speaker, participant_token
from agent.demo.web import demo_viewer
from agent.room.dispatch import agent_identity
from agent.samples import pyannote_sample
from agent.timebase import SAMPLE_RATE

WORKER_LOGGERS = ("greffier",)


def _print(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


class InterimLine:
    """Interim captions overwrite one terminal line; finals scroll."""

    def __init__(self) -> None:
        self.tty = sys.stdout.isatty()
        self.interims = 0
        self.names: dict[str, str] = {}

    def show(self, c: StreamCaption) -> None:
        name = self.names.get(c.sender, c.sender)
        if c.final:
            if self.tty:
                sys.stdout.write("\r\033[K")
            _print(f"  \033[1m{name}\033[0m: {c.text}" if self.tty else f"  {name}: {c.text}")
        else:
            self.interims += 1
            if self.tty:
                sys.stdout.write(f"\r\033[K  \033[2m{name}: {c.text[-100:]}\033[0m")
                sys.stdout.flush()


def _pump_worker_logs(proc: subprocess.Popen[bytes], verbose: bool, registered: threading.Event) -> None:
    assert proc.stdout is not None
    for raw in proc.stdout:
        if b"registered worker" in raw:
            registered.set()
        line = raw.decode(errors="replace").rstrip()
        try:
            record = json.loads(line)
        except ValueError:
            if verbose and line:
                _print(f"[worker] {line}")
            continue
        name = str(record.get("name", ""))
        message = str(record.get("message"))
        if verbose or name.startswith(WORKER_LOGGERS) or "registered worker" in message:
            _print(f"[worker] {message}")
        elif record.get("level") in ("WARNING", "ERROR", "CRITICAL"):
            _print(f"[worker] {record.get('level')}: {message}")


def _split_speakers(audio: np.ndarray, utterances, offset: float):  # type: ignore[no-untyped-def]
    """One microphone per speaker of the recorded call: each hears only their own turns."""
    tracks: dict[str, np.ndarray] = {}
    for u in utterances:
        track = tracks.setdefault(u.speaker, np.zeros_like(audio))
        a, b = int(max(0.0, u.start - offset - 0.1) * SAMPLE_RATE), int((u.end - offset + 0.1) * SAMPLE_RATE)
        track[a:b] = audio[a:b]
    return tracks


async def _run(settings: LiveKitSettings, args: argparse.Namespace) -> int:
    sample = pyannote_sample()
    offset = 6.0  # the recording starts with 6 s of silence
    audio = load_audio(sample.wav)[int(offset * SAMPLE_RATE) :]
    tracks = _split_speakers(audio, sample.utterances, offset)
    room_name = f"greffier-demo-{uuid.uuid4().hex[:6]}"
    url, key, secret = settings.url, settings.api_key, settings.api_secret

    viewer = None
    if not args.no_web:
        identity = agent_identity(settings.agent_name)
        viewer = demo_viewer(url, key, secret, room_name, identity, port=args.web_port)
        if viewer is None:
            _print("[demo] no caption page: Node.js/npm missing (bash scripts/install-browser.sh)")
        else:
            _print(f"[demo] open the captions in a browser on this machine:\n       {viewer[0]}")
    display = InterimLine()
    reader = await CaptionReader.join(
        url, participant_token(key, secret, "demo-viewer", room_name, name="Viewer"), on_caption=display.show
    )
    speakers: dict[str, Speaker] = {}
    for name in tracks:
        identity = name.lower()
        display.names[identity] = name
        speakers[name] = await Speaker.join(
            url, participant_token(key, secret, identity, room_name, name=name)
        )
        await speakers[name].publish()
    _print(f"[demo] room {room_name}: {', '.join(speakers)} are in the call; dispatching greffier")
    lk = api.LiveKitAPI(url, key, secret)
    try:
        await lk.agent_dispatch.create_dispatch(
            api.CreateAgentDispatchRequest(agent_name=settings.agent_name, room=room_name)
        )
        if viewer is not None and args.web_wait > 0:
            _print(f"[demo] waiting up to {args.web_wait:.0f} s for the page to join (--web-wait)")
            deadline = time.monotonic() + args.web_wait
            joined = reader.room.remote_participants
            while "web-viewer" not in joined and time.monotonic() < deadline:  # noqa: ASYNC110
                await asyncio.sleep(0.2)
        # Wait until the agent captions someone (it announces status on the data channel).
        deadline = time.monotonic() + 60
        while not reader.log.statuses and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.2)
        _print(f"[demo] playing {sample.duration - offset:.0f} s of a real recorded call (pyannote sample)")
        await asyncio.gather(*(speakers[n].play(tracks[n], tail_silence=2.5) for n in speakers))
        await asyncio.sleep(2.0)
    finally:
        for s in speakers.values():
            await s.leave()
        await lk.aclose()
        if viewer is not None:
            viewer[1]()
    finals = reader.log.finals()
    _print(
        f"\n[demo] {len(finals)} final captions and {display.interims} interim updates received"
        f" on lk.transcription; {len(reader.log.messages)} JSON captions on greffier.captions"
    )
    await reader.leave()
    return 0 if finals else 1


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m agent demo", description=__doc__)
    parser.add_argument("--verbose", action="store_true", help="show every worker log line")
    parser.add_argument("--no-web", action="store_true", help="do not serve the caption web page")
    parser.add_argument("--web-port", type=int, default=0, help="port of the caption page (default: free)")
    parser.add_argument(
        "--web-wait", type=float, default=0.0, help="seconds to wait for the page to join before playing"
    )
    args = parser.parse_args(argv)

    server: LocalLiveKitServer | None = None
    if os.environ.get("LIVEKIT_URL"):
        settings = LiveKitSettings.from_env()
        _print(f"[demo] using the LiveKit server at {settings.url}")
    else:
        log_dir = Path(os.environ.get("GREFFIER_CACHE_DIR", Path.cwd() / ".tools")) / "logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        server = LocalLiveKitServer(log_path=log_dir / "livekit-server.log").start()
        os.environ.update(
            LIVEKIT_URL=server.url, LIVEKIT_API_KEY=server.api_key, LIVEKIT_API_SECRET=server.api_secret
        )
        settings = LiveKitSettings.from_env()
        _print(f"[demo] started livekit-server (dev) at {server.url}; log in {log_dir}")
    env = dict(os.environ, PYTHONUNBUFFERED="1", ROOM_EMPTY_GRACE=os.environ.get("ROOM_EMPTY_GRACE", "3"))
    worker = subprocess.Popen(
        [sys.executable, "-m", "agent", "start"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    registered = threading.Event()
    threading.Thread(target=_pump_worker_logs, args=(worker, args.verbose, registered), daemon=True).start()
    try:
        _print("[demo] starting the worker (loads the speech model once)...")
        while not registered.wait(0.5):
            if worker.poll() is not None:
                _print(f"[demo] the worker exited with code {worker.returncode}")
                return 1
        return asyncio.run(_run(settings, args))
    finally:
        time.sleep(float(os.environ.get("GREFFIER_DEMO_LINGER", "4")))  # let the worker wrap up
        worker.terminate()
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
        if server is not None:
            server.stop()
