"""Load benchmark: ramp rooms (one speaker each) on one worker until the caption latency target
breaks; report streams per core, memory per room and what the load function reports.

    .venv/bin/python bench/load_bench.py [--model base] [--max-rooms 4] [--seconds 30] [--keep-going]

Real livekit-server, real worker (``JOB_EXECUTOR=thread``: one model shared by all rooms), real
SDK participants speaking recorded speech at real-time pace, one caption reader per room. For each
step k, k rooms talk at once; we record final-word latency (see captions_bench.py), the worker's
resident memory (psutil) and the ``greffier_worker_load`` it reports (Prometheus): at 1.0 the
worker tells LiveKit it is full (``load_threshold``) and new rooms go to other workers. The ramp
stops at the first step over the latency target unless ``--keep-going``. Prints a Markdown table
and saves a plot.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import psutil
from livekit import api

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

from agent.demo.listener import CaptionReader
from agent.demo.livekit_server import LocalLiveKitServer
from agent.demo.player import Speaker, participant_token
from bench.captions_bench import registered, speaker_audio, start_worker, stop_worker, word_latencies

AGENT = "greffier-load"
TARGET_P95 = 3.0
LOAD_THRESHOLD = 1.0  # agent/worker.py: the worker reports itself full at this load


def scrape_load(port: int) -> float | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as resp:
            text = resp.read().decode()
    except OSError:
        return None
    m = re.search(r"^greffier_worker_load (\S+)$", text, re.M)
    return float(m.group(1)) if m else None


async def step(server: LocalLiveKitServer, k: int, seconds: float, worker: psutil.Process, port: int) -> dict:  # type: ignore[type-arg]
    key, secret = server.api_key, server.api_secret
    lk = api.LiveKitAPI(server.http_url, key, secret)
    stamp = int(time.time())
    rooms = []
    for i in range(k):
        name = f"load-{k}-{i}-{stamp}"
        reader = await CaptionReader.join(server.url, participant_token(key, secret, "reader", name))
        spk = await Speaker.join(server.url, participant_token(key, secret, f"spk{i}", name))
        await spk.publish()
        await lk.agent_dispatch.create_dispatch(api.CreateAgentDispatchRequest(agent_name=AGENT, room=name))
        rooms.append((name, reader, spk, speaker_audio(i * 3, seconds)[0]))
    deadline = time.monotonic() + 60
    while any(not r[1].log.statuses for r in rooms) and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.2)
    await asyncio.sleep(1.0)
    rss_peak, loads = 0, []

    async def sample() -> None:
        nonlocal rss_peak
        while True:
            rss_peak = max(rss_peak, worker.memory_info().rss)
            load = await asyncio.to_thread(scrape_load, port)
            if load is not None:
                loads.append(load)
            await asyncio.sleep(1.0)

    sampler = asyncio.create_task(sample())
    await asyncio.gather(*(spk.play(audio, tail_silence=3.0) for _, _, spk, audio in rooms))
    await asyncio.sleep(3.0)
    sampler.cancel()
    interims, finals = [], []
    for i, (_, reader, _, _) in enumerate(rooms):
        first, final, _ = word_latencies(reader.log.messages, f"spk{i}")
        interims += first
        finals += final
    for name, reader, spk, _ in rooms:
        await spk.leave()
        await reader.leave()
        await lk.room.delete_room(api.DeleteRoomRequest(room=name))
    await lk.aclose()
    return {
        "rooms": k,
        "interim_p50": float(np.percentile(interims, 50)) if interims else None,
        "interim_p95": float(np.percentile(interims, 95)) if interims else None,
        "final_p50": float(np.percentile(finals, 50)) if finals else None,
        "final_p95": float(np.percentile(finals, 95)) if finals else None,
        "words": len(finals),
        "rss_mb": rss_peak / 2**20,
        "load_max": max(loads) if loads else None,
    }


def keeps_up(row: dict) -> bool:  # type: ignore[type-arg]
    """Words reach the screen (first shown) within the target for 95 % of them; a final closes a
    whole utterance, so its latency includes the utterance's own length and is reported apart."""
    return row["interim_p95"] is not None and row["interim_p95"] < TARGET_P95


async def main_async(args: argparse.Namespace) -> int:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    server = LocalLiveKitServer(log_path=out / "livekit-server.log").start()
    proc, port = start_worker(
        server, out / "worker.log", agent=AGENT, model=args.model,
        MAX_ROOMS=str(args.max_rooms_setting), DATA_DIR=str(out / "data"), ROOM_EMPTY_GRACE="1",
        DIARIZATION="off",
    )  # fmt: skip
    rows = []
    try:
        await registered(proc, out / "worker.log")
        worker = psutil.Process(proc.pid)
        idle_rss = worker.memory_info().rss / 2**20
        for k in range(1, args.max_rooms + 1):
            print(f"{k} room(s) speaking for {args.seconds:.0f} s...", file=sys.stderr)
            row = await step(server, k, args.seconds, worker, port)
            rows.append(row)
            await asyncio.sleep(4.0)
            broke = not keeps_up(row)
            if broke and not args.keep_going:
                break
    finally:
        stop_worker(proc)
        server.stop()
    cores = os.cpu_count() or 1
    print(f"\nWhisper `{args.model}` (cpu int8), {cores} cores, load average {os.getloadavg()[0]:.2f};"
          f" worker idle RSS {idle_rss:.0f} MB (model loaded), MAX_ROOMS={args.max_rooms_setting}\n")  # fmt: skip
    print(
        "| rooms (1 speaker each) | words on screen p50 / p95 s | final p50 / p95 s | peak RSS MB"
        " | RSS per extra room MB | reported load (max) | worker accepts another room | on screen p95 < 3 s |"
    )
    print("|---:|---:|---:|---:|---:|---:|---|---|")
    for r in rows:
        extra = (r["rss_mb"] - idle_rss) / r["rooms"]
        ok = keeps_up(r)

        def f(v: float | None) -> str:
            return "–" if v is None else f"{v:.2f}"

        load = "–" if r["load_max"] is None else f"{r['load_max']:.2f}"
        accepts = "?" if r["load_max"] is None else ("no (full)" if r["load_max"] >= LOAD_THRESHOLD else "yes")
        print(
            f"| {r['rooms']} | {f(r['interim_p50'])} / {f(r['interim_p95'])} | {f(r['final_p50'])} / "
            f"{f(r['final_p95'])} | {r['rss_mb']:.0f} | {extra:.0f} | {load} | {accepts}"
            f" | {'yes' if ok else 'no'} |"
        )
    # Issue 14: SDK callbacks once met a closed event loop and flooded the log; it must stay at 0.
    flood = (out / "worker.log").read_bytes().count(b"Event loop is closed")
    print(f"\n'Event loop is closed' lines in the worker's log: {flood}")
    kept = [r["rooms"] for r in rows if keeps_up(r)]
    best = max(kept) if kept else 0
    print(f"\nSpeaking streams kept under the target: {best} ({best / cores:.1f} per core)")
    full = [r["rooms"] for r in rows if r["load_max"] is not None and r["load_max"] >= LOAD_THRESHOLD]
    if full:
        print(f"The worker reported itself full from {min(full)} speaking room(s) on.")
    (out / "load_bench.json").write_text(json.dumps({"idle_rss_mb": idle_rss, "rows": rows, "event_loop_closed_lines": flood}, indent=1))
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    xs = [r["rooms"] for r in rows]
    ax.plot(xs, [r["interim_p95"] or np.nan for r in rows], marker="o", label="words on screen p95 (s)")
    ax.plot(xs, [r["final_p95"] or np.nan for r in rows], marker="^", label="final p95 (s)")
    ax.plot(xs, [r["load_max"] or np.nan for r in rows], marker="s", label="reported load (max)")
    ax.axhline(TARGET_P95, color="grey", linestyle="--", linewidth=1, label="latency target (3 s)")
    ax.axhline(LOAD_THRESHOLD, color="red", linestyle=":", linewidth=1, label="load at which the worker is full")
    ax.set_xlabel("rooms speaking at once (1 speaker each)")
    ax.set_title(f"greffier on one worker, {args.model}, {cores} cores")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "load_bench.png", dpi=110)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="base")
    parser.add_argument("--max-rooms", type=int, default=4)
    parser.add_argument("--max-rooms-setting", type=int, default=8, help="the worker's MAX_ROOMS")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--keep-going", action="store_true", help="ramp to --max-rooms past the target")
    parser.add_argument("--out", default="artifacts/bench-load")
    return asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
