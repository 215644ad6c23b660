"""Soak benchmark: one worker, a real livekit-server, a long meeting; does anything grow or get lost?

    .venv/bin/python bench/soak_bench.py                  # 60 minutes, 10-minute windows
    .venv/bin/python bench/soak_bench.py --minutes 3 --window 1   # the short run CI makes

Four participants take turns with real recorded speech (the pyannote call's utterances), now
and then overlapping the previous speaker; the fourth joins late, leaves mid-meeting and comes
back; the third mutes for a quarter of the meeting. Per window: words-on-screen latency p50/p95
(first caption showing a final word minus the word's end) and final p95, and the worker's RSS,
open file descriptors, threads and the room loop's asyncio tasks (``greffier_room_asyncio_tasks``),
sampled at the window's end. At the end: every final caption the reader received must be in the
room's journal, the minutes must reach the webhook exactly once, and the worker's log must hold no
"Event loop is closed" line. The slope of each column over the windows (per hour) says whether it
grows. Rows are written to JSON as each window ends, so an interrupted run keeps what it measured.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import psutil
from livekit import api
from prometheus_client.parser import text_string_to_metric_families

from agent.demo.listener import CaptionReader
from agent.demo.livekit_server import LocalLiveKitServer
from agent.demo.player import Speaker, participant_token
from agent.samples import pyannote_sample, utterance_clips
from agent.transcript import read_journal
from bench.captions_bench import final_words, registered, start_worker, stop_worker

AGENT = "greffier-soak"
SPEAKERS = ("ana", "bruno", "chloe", "dev")
FLOOD = b"Event loop is closed"


class Webhook:
    """A real HTTP server counting the minutes deliveries it receives."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                hook.bodies.append(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *_args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/minutes"


def gauge(port: int, name: str) -> float | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
            text = resp.read().decode()
    except OSError:
        return None
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name:
                return float(sample.value)
    return None


class Meeting:
    """The participants and the script they follow."""

    def __init__(self, server: LocalLiveKitServer, room: str, minutes: float, seed: int) -> None:
        self.server, self.room, self.length = server, room, minutes * 60
        self.rng = random.Random(seed)
        self.clips = [audio for _, audio in utterance_clips(pyannote_sample())]
        self.present: dict[str, Speaker] = {}
        self.muted: set[str] = set()
        self.t0 = 0.0

    def token(self, identity: str) -> str:
        s = self.server
        return participant_token(s.api_key, s.api_secret, identity, self.room)

    async def join(self, identity: str) -> None:
        speaker = await Speaker.join(self.server.url, self.token(identity))
        await speaker.publish()
        self.present[identity] = speaker

    async def leave(self, identity: str) -> None:
        speaker = self.present.pop(identity, None)
        if speaker is not None:
            await speaker.leave()

    def elapsed(self) -> float:
        return time.monotonic() - self.t0

    async def script(self) -> None:
        """Joins, leaves and mutes at fixed fractions of the meeting."""
        events = [
            (0.10, self.join, "dev"),
            (0.30, self.mute, "chloe"),
            (0.50, self.leave, "dev"),
            (0.55, self.unmute, "chloe"),
            (0.70, self.join, "dev"),
        ]
        for at, action, who in events:
            await asyncio.sleep(max(0.0, at * self.length - self.elapsed()))
            await action(who)

    async def mute(self, identity: str) -> None:
        self.muted.add(identity)
        if identity in self.present:
            await self.present[identity].mute()

    async def unmute(self, identity: str) -> None:
        self.muted.discard(identity)
        if identity in self.present:
            await self.present[identity].mute(False)

    async def _play(self, who: str, clip: np.ndarray) -> None:
        try:
            await self.present[who].play(clip, tail_silence=0.0)
        except Exception:  # the script made them leave mid-sentence
            pass

    async def talk(self) -> None:
        """Turns: the next present, unmuted speaker plays one utterance; one turn in five starts
        1.5 s before the previous one ends (overlap)."""
        turn, playing = 0, None
        while self.elapsed() < self.length:
            ready = [s for s in SPEAKERS if s in self.present and s not in self.muted]
            who = ready[turn % len(ready)]
            turn += 1
            clip = self.clips[self.rng.randrange(len(self.clips))]
            play = asyncio.ensure_future(self._play(who, clip))
            overlap = self.rng.random() < 0.2
            wait = max(0.2, len(clip) / 16000 - (1.5 if overlap else -0.8))
            await asyncio.sleep(wait)
            if playing is not None:
                await playing
            playing = play
        if playing is not None:
            await playing


def slope_per_hour(xs: list[float], ys: list[float | None]) -> float | None:
    pts = [(x, y) for x, y in zip(xs, ys, strict=True) if y is not None]
    if len(pts) < 3:
        return None
    x, y = np.array(pts).T
    return float(np.polyfit(x / 3600.0, y, 1)[0])


async def sample_rss(proc: psutil.Process, meeting: Meeting, trace: list[tuple[float, float]]) -> None:
    while True:
        trace.append((meeting.elapsed() / 60.0, proc.memory_info().rss / 2**20))
        await asyncio.sleep(30.0)


def plot(out: Path, rows: list[dict], trace: list[tuple[float, float]]) -> None:  # type: ignore[type-arg]
    """RSS every 30 s above, latency per window below: a picture of "flat"."""
    if not trace:
        return
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(7, 5), sharex=True)
    top.plot([m for m, _ in trace], [mb for _, mb in trace], lw=1)
    top.set_ylabel("worker RSS (MB)")
    xs = [r["minute"] for r in rows]
    bottom.plot(xs, [r["shown_p95"] or np.nan for r in rows], marker="o", label="on screen p95")
    bottom.plot(xs, [r["shown_p50"] or np.nan for r in rows], marker="o", label="on screen p50")
    bottom.plot(xs, [r["final_p95"] or np.nan for r in rows], marker="^", label="final p95")
    bottom.set_ylabel("seconds")
    bottom.set_xlabel("minute of the meeting")
    bottom.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "soak_rss.png", dpi=110)
    plt.close(fig)


async def main_async(args: argparse.Namespace) -> int:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    server = LocalLiveKitServer(log_path=out / "livekit-server.log").start()
    hook = Webhook()
    data = out / "data"
    log_path = out / "worker.log"
    worker, port = start_worker(
        server, log_path, agent=AGENT, model=args.model,
        DATA_DIR=str(data), ROOM_EMPTY_GRACE="2", MINUTES_WEBHOOK_URL=hook.url,
        MINUTES_WEBHOOK_SECRET="soak-benchmark-secret-0123456789", LLM_BASE_URL="",
    )  # fmt: skip
    proc = psutil.Process(worker.pid)
    rows: list[dict] = []  # type: ignore[type-arg]
    trace: list[tuple[float, float]] = []  # (minute, RSS MB) every 30 s: the noise a window's sample hides
    minutes_seconds: float | None = None
    room = f"soak-{int(time.time())}"
    try:
        await registered(worker, log_path)
        meeting = Meeting(server, room, args.minutes, args.seed)
        reader = await CaptionReader.join(server.url, meeting.token("reader"))
        for who in SPEAKERS[:3]:
            await meeting.join(who)
        lk = api.LiveKitAPI(server.http_url, server.api_key, server.api_secret)
        await lk.agent_dispatch.create_dispatch(api.CreateAgentDispatchRequest(agent_name=AGENT, room=room))
        while not reader.log.statuses:  # noqa: ASYNC110
            await asyncio.sleep(0.2)
        meeting.t0 = time.monotonic()
        wall0 = time.time()
        tasks = [asyncio.ensure_future(meeting.talk()), asyncio.ensure_future(meeting.script())]
        sampler = asyncio.ensure_future(sample_rss(proc, meeting, trace))
        window = args.window * 60
        n_windows = max(1, round(args.minutes / args.window))
        for i in range(n_windows):
            await asyncio.sleep(max(0.0, (i + 1) * window - meeting.elapsed()))
            lo, hi = wall0 + i * window, wall0 + (i + 1) * window
            words = [w for who in SPEAKERS for w in final_words(reader.log.messages, who) if lo <= w[0] < hi]
            shown = [at - end for end, at, _ in words]
            final = [fin - end for end, _, fin in words]
            row = {
                "window": i + 1,
                "minute": (i + 1) * args.window,
                "words": len(words),
                "shown_p50": float(np.percentile(shown, 50)) if shown else None,
                "shown_p95": float(np.percentile(shown, 95)) if shown else None,
                "final_p95": float(np.percentile(final, 95)) if final else None,
                "rss_mb": proc.memory_info().rss / 2**20,
                "fds": proc.num_fds(),
                "threads": proc.num_threads(),
                "tasks": gauge(port, "greffier_room_asyncio_tasks"),
            }
            rows.append(row)
            (out / "soak.json").write_text(json.dumps({"rows": rows, "rss_trace": trace}, indent=1))
            print(json.dumps(row), file=sys.stderr)
        await asyncio.gather(*tasks)
        sampler.cancel()
        await asyncio.sleep(5.0)  # the last finals
        finals = [m for m in reader.log.messages if m["final"]]
        for who in list(meeting.present):
            await meeting.leave(who)
        await reader.leave()
        # An hour's minutes diarize every kept track first (minutes on 2 cores): wait for them.
        ended = time.monotonic()
        deadline = ended + max(300.0, 30.0 * args.minutes)
        while not hook.bodies and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(1.0)
        minutes_seconds = time.monotonic() - ended if hook.bodies else None
        await asyncio.sleep(10.0)  # a second delivery, if there were one, would come now
        await lk.aclose()
    finally:
        stop_worker(worker)
        server.stop()
    journals = sorted(data.rglob("*.jsonl"))
    kept = {s.segment_id for j in journals for s in read_journal(j).segments}
    missing = [m["segment_id"] for m in finals if m["segment_id"] not in kept]
    flood = log_path.read_bytes().count(FLOOD)
    minutes = [r["minute"] * 60.0 for r in rows]
    settled = [(m, mb) for m, mb in trace if m >= 20.0]  # after the first 20 min (models, arenas warming)
    summary = {
        "finals": len(finals),
        "finals_missing_from_journal": len(missing),
        "minutes_deliveries": len(hook.bodies),
        "minutes_seconds_after_room_end": minutes_seconds,
        "event_loop_closed_lines": flood,
        "slopes_per_hour": {
            k: slope_per_hour(minutes, [r[k] for r in rows])
            for k in ("shown_p95", "final_p95", "rss_mb", "fds", "threads", "tasks")
        },
        "rss_trace_slope_per_hour_after_20_min": slope_per_hour(
            [m * 60.0 for m, _ in settled], [mb for _, mb in settled]
        ),
    }
    (out / "soak.json").write_text(json.dumps({"rows": rows, "rss_trace": trace, "summary": summary}, indent=1))
    plot(out, rows, trace)
    load = os.getloadavg()
    print(
        f"\nSoak: Whisper `{args.model}`, {args.minutes:g} min, 4 speakers, 2 cores,"
        f" load average {load[0]:.2f} at the end\n"
    )
    print("| minute | final words | on screen p50 / p95 s | final p95 s | RSS MB | fds | threads | loop tasks |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")

    def f(v: float | None, spec: str = ".2f") -> str:
        return "–" if v is None else format(v, spec)

    for r in rows:
        print(
            f"| {r['minute']:g} | {r['words']} | {f(r['shown_p50'])} / {f(r['shown_p95'])} |"
            f" {f(r['final_p95'])} | {r['rss_mb']:.0f} | {r['fds']} | {r['threads']} | {f(r['tasks'], '.0f')} |"
        )
    s = summary["slopes_per_hour"]
    print(
        "| slope per hour | | – / " + f(s["shown_p95"]) + " | " + f(s["final_p95"]) + " | "
        + f(s["rss_mb"], ".1f") + " | " + f(s["fds"], ".1f") + " | " + f(s["threads"], ".1f") + " | "
        + f(s["tasks"], ".1f") + " |"
    )
    print(
        f"\nFinal captions received: {len(finals)}; missing from the journal: {len(missing)};"
        f" minutes deliveries: {len(hook.bodies)}"
        f" ({'–' if minutes_seconds is None else f'{minutes_seconds:.0f} s'} after the room ended);"
        f" 'Event loop is closed' lines: {flood}"
    )
    tail = summary["rss_trace_slope_per_hour_after_20_min"]
    if tail is not None:
        print(f"RSS sampled every 30 s: {min(mb for _, mb in trace):.0f}-{max(mb for _, mb in trace):.0f} MB,"
              f" slope after minute 20 {tail:+.1f} MB/h; plot: {out / 'soak_rss.png'}")
    ok = not missing and len(hook.bodies) == 1 and flood == 0
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=60.0, help="length of the meeting")
    parser.add_argument("--window", type=float, default=10.0, help="minutes per reported window")
    parser.add_argument("--model", default="base")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", default="artifacts/soak")
    return asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    raise SystemExit(main())
