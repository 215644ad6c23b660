"""Does the worker come back to its level after hostile rooms? One worker, a real livekit-server,
one room with a speaker (Anna) who says a sentence every ~12 s throughout, and one scenario:

- ``crowd``: 50 participants join, publish a microphone, speak half a second and leave, within 10 s;
- ``stalled``: a caption reader whose process is stopped (SIGSTOP) for the scenario's length;
- ``silence``: a participant publishing pure digital silence for ``--minutes`` (default 10).

Prints one table row per scenario: worker RSS / fds / threads / room-loop asyncio tasks before,
at the peak and after the scenario settled, and Anna's words-on-screen p50/p95 before, during
and after (seconds from the end of a word to its first showing). Not part of CI (the crowd and
stalled cases also run as ``tests/e2e/test_hostile_crowd.py``).

    .venv/bin/python bench/hostile_bench.py --scenario crowd stalled silence --minutes 10
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import psutil
from livekit import api

from agent.demo.listener import CaptionReader
from agent.demo.livekit_server import LocalLiveKitServer
from agent.demo.player import Speaker, participant_token
from agent.samples import synth_speech
from bench.captions_bench import final_words, registered, start_worker, stop_worker
from bench.soak_bench import gauge

AGENT = "greffier-hostile-bench"
LINES = [
    "The library opens on Monday morning and the reading room closes at six in the evening.",
    "The garden behind the town hall will be closed for repairs until the end of the month.",
    "Please send the signed forms to the secretary before the meeting on Thursday afternoon.",
    "The bus to the airport leaves every twenty minutes from the square in front of the station.",
]
FROZEN = """
import asyncio, sys
from agent.demo.listener import CaptionReader
async def main():
    await CaptionReader.join(sys.argv[1], sys.argv[2])
    print("joined", flush=True)
    await asyncio.sleep(86400)
asyncio.run(main())
"""


class Probe:
    """Samples the worker process every second; keeps the peak."""

    def __init__(self, pid: int, port: int) -> None:
        self.proc = psutil.Process(pid)
        self.port = port
        self.peak: dict[str, float] = {}

    def sample(self) -> dict[str, float]:
        s = {
            "rss_mb": self.proc.memory_info().rss / 2**20,
            "fds": float(self.proc.num_fds()),
            "threads": float(self.proc.num_threads()),
            "tasks": gauge(self.port, "greffier_room_asyncio_tasks") or 0.0,
        }
        for k, v in s.items():
            self.peak[k] = max(self.peak.get(k, v), v)
        return s

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            self.sample()
            try:
                await asyncio.wait_for(stop.wait(), 1.0)
            except TimeoutError:
                pass


class Bench:
    def __init__(self, server: LocalLiveKitServer, room: str) -> None:
        self.server, self.room = server, room
        self.clips = [synth_speech(line, "en") for line in LINES]

    def token(self, identity: str) -> str:
        s = self.server
        return participant_token(s.api_key, s.api_secret, identity, self.room, name=identity.title())

    async def talk(self, anna: Speaker, stop: asyncio.Event) -> None:
        i = 0
        while not stop.is_set():
            await anna.play(self.clips[i % len(self.clips)], tail_silence=4.0)
            i += 1

    async def crowd(self, minutes: float) -> None:
        hello = synth_speech("Hello, I am only passing through.", "en")

        async def visit(i: int) -> None:
            await asyncio.sleep(i * 0.15)
            p = await Speaker.join(self.server.url, self.token(f"visitor-{i}"))
            await p.publish()
            await p.play(hello, stop_at=0.6, tail_silence=0.2)
            await p.leave()

        await asyncio.gather(*(visit(i) for i in range(50)))

    async def stalled(self, minutes: float) -> None:
        proc = subprocess.Popen(
            [sys.executable, "-c", FROZEN, self.server.url, self.token("frozen")],
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        try:
            assert proc.stdout is not None and proc.stdout.readline().strip() == "joined"
            os.kill(proc.pid, signal.SIGSTOP)
            await asyncio.sleep(minutes * 60)
        finally:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    async def silence(self, minutes: float) -> None:
        quiet = await Speaker.join(self.server.url, self.token("quiet"))
        await quiet.publish()
        await quiet.play(np.zeros(int(minutes * 60 * 16000), dtype=np.float32), tail_silence=0.0)
        await quiet.leave()


def shown(reader: CaptionReader, lo: float, hi: float) -> tuple[float | None, float | None, int]:
    words = [w for w in final_words(reader.log.messages, "anna") if lo <= w[0] < hi]
    delays = [at - end for end, at, _ in words]
    if not delays:
        return None, None, 0
    return float(np.percentile(delays, 50)), float(np.percentile(delays, 95)), len(delays)


async def one(
    server: LocalLiveKitServer, scenario: str, args: argparse.Namespace, out: Path
) -> dict:  # type: ignore[type-arg]
    """A fresh worker per scenario, so that each starts from its own level."""
    log_path = out / f"{scenario}-worker.log"
    worker, port = start_worker(
        server, log_path, agent=AGENT, model=args.model,
        DATA_DIR=str(out / f"{scenario}-data"), ROOM_EMPTY_GRACE="2", LLM_BASE_URL="",
    )  # fmt: skip
    try:
        await registered(worker, log_path)
        bench = Bench(server, f"hostile-{scenario}")
        reader = await CaptionReader.join(server.url, bench.token("reader"))
        anna = await Speaker.join(server.url, bench.token("anna"))
        await anna.publish()
        lk = api.LiveKitAPI(server.http_url, server.api_key, server.api_secret)
        await lk.agent_dispatch.create_dispatch(api.CreateAgentDispatchRequest(agent_name=AGENT, room=bench.room))
        await lk.aclose()
        probe = Probe(worker.pid, port)
        stop_talk, stop_probe = asyncio.Event(), asyncio.Event()
        talking = asyncio.ensure_future(bench.talk(anna, stop_talk))
        sampling = asyncio.ensure_future(probe.run(stop_probe))
        await asyncio.sleep(args.warmup)
        before = probe.sample()
        t_before = time.time()
        await getattr(bench, scenario)(args.minutes)
        t_during = time.time()
        await asyncio.sleep(args.settle)
        after = probe.sample()
        stop_talk.set()
        await talking
        await asyncio.sleep(3.0)
        t_after = time.time()
        stop_probe.set()
        await sampling
        lines = log_path.read_text(errors="replace").splitlines()
        errors = sum('"level": "ERROR"' in line or "Traceback" in line for line in lines)
        await anna.leave()
        await reader.leave()
        return {
            "scenario": scenario,
            "minutes": args.minutes if scenario != "crowd" else None,
            "before": before,
            "peak": probe.peak,
            "after": after,
            "shown_before": shown(reader, t_before - args.warmup, t_before),
            "shown_during": shown(reader, t_before, t_during),
            "shown_after": shown(reader, t_during, t_after),
            "error_lines": errors,
        }
    finally:
        stop_worker(worker)


def table(rows: list[dict]) -> str:  # type: ignore[type-arg]
    def f(v: float | None) -> str:
        return "–" if v is None else f"{v:.2f}"

    out = [
        "| scenario | RSS MB before / peak / after | fds | threads | loop tasks | Anna on screen p50/p95 s: "
        "before · during · after | error lines |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        def three(k: str, r: dict = r) -> str:  # type: ignore[type-arg]
            return " / ".join(f"{r[when][k]:.0f}" for when in ("before", "peak", "after"))

        name = r["scenario"] + (f" ({r['minutes']:g} min)" if r["minutes"] else "")
        lat = " · ".join(f"{f(x[0])}/{f(x[1])}" for x in (r["shown_before"], r["shown_during"], r["shown_after"]))
        out.append(
            f"| {name} | {three('rss_mb')} | {three('fds')} | {three('threads')} | {three('tasks')} | {lat} |"
            f" {r['error_lines']} |"
        )
    return "\n".join(out)


async def main_async(args: argparse.Namespace) -> int:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    server = LocalLiveKitServer(log_path=out / "livekit-server.log").start()
    try:
        for scenario in args.scenario:
            rows.append(await one(server, scenario, args, out))
            (out / "hostile.json").write_text(json.dumps(rows, indent=1))
            print(json.dumps(rows[-1]), file=sys.stderr)
    finally:
        server.stop()
    print(table(rows))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", nargs="+", choices=["crowd", "stalled", "silence"], default=["crowd"])
    parser.add_argument("--minutes", type=float, default=10.0, help="length of the stalled and silence cases")
    parser.add_argument("--warmup", type=float, default=40.0, help="seconds of Anna alone before")
    parser.add_argument("--settle", type=float, default=60.0, help="seconds after, before 'after' is read")
    parser.add_argument("--model", default="tiny.en")
    parser.add_argument("--out", default="bench/results/hostile")
    return asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    raise SystemExit(main())
