"""Benchmark: what writing a long meeting's minutes with the local model costs a live room.

A small site runs the worker and its LLM (Qwen2.5-Coder-1.5B on llama.cpp, ``python -m
agent.minutes.local_server``) on the same cores. When an hour-long meeting ends, its minutes take
minutes of CPU while other rooms are still captioned. This runs, on one machine:

1. ``room alone``: a live room of two speakers (``bench/captions_bench.py --speakers 2``);
2. ``room beside the minutes``: the same room, round after round, while the real minutes pipeline
   writes the minutes of a gold meeting (``bench/minutes_quality.py --models qwen``, niced as the
   worker's minutes are) until they are done;
3. ``minutes alone`` (unless ``--no-minutes-alone``): the same minutes with nothing beside them.

and prints the rooms' words-on-screen and final latencies (per round p50 / p95, their range over
the rounds) and the minutes' time in each condition, with the minutes' quality scores (the same
as ``minutes_quality.py`` reports) from the run beside the room.

    .venv/bin/python bench/minutes_beside_room.py                    # en_long_review, 60 s rounds
    .venv/bin/python bench/minutes_beside_room.py --meeting fr_copil --seconds 40 --no-minutes-alone
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from agent.priority import BACKGROUND_NICENESS

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
MINUTES_NICE = BACKGROUND_NICENESS  # what the worker gives its minutes (agent/meeting/service.py)


def captions_round(out: Path, seconds: float, speakers: int) -> dict[str, Any]:
    """One captions_bench room in its own worker; its row of captions_bench.json."""
    cmd = [PYTHON, str(ROOT / "bench/captions_bench.py"), "--speakers", str(speakers),
           "--seconds", str(seconds), "--out", str(out)]  # fmt: skip
    subprocess.run(cmd, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    rows = json.loads((out / "captions_bench.json").read_text())
    return rows[0]


def start_minutes(meeting: str, out: Path) -> subprocess.Popen[bytes]:
    cmd = ["nice", "-n", str(MINUTES_NICE), PYTHON, str(ROOT / "bench/minutes_quality.py"),
           "--models", "qwen", "--meetings", meeting, "--out", str(out)]  # fmt: skip
    out.mkdir(parents=True, exist_ok=True)
    log = (out / "minutes_quality.log").open("wb")
    return subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)


def minutes_run(out: Path) -> dict[str, Any]:
    doc = json.loads((out / "minutes_quality.json").read_text())
    runs = [r for r in doc["runs"] if r["model"] == "qwen"]
    if not runs:
        raise SystemExit(f"no qwen run in {out / 'minutes_quality.json'}: see {out / 'minutes_quality.log'}")
    return runs[0]


def _range(rows: list[dict[str, Any]], key: str) -> str:
    values = [r[key] for r in rows if r.get(key) is not None]
    if not values:
        return "–"
    lo, hi = min(values), max(values)
    return f"{lo:.2f}" if abs(hi - lo) < 0.005 else f"{lo:.2f}–{hi:.2f}"


def room_cells(rows: list[dict[str, Any]]) -> str:
    wer = [100 * r["wer"] for r in rows]
    return (f"{len(rows)} | {_range(rows, 'interim_p50')} / {_range(rows, 'interim_p95')} | "
            f"{_range(rows, 'final_p50')} / {_range(rows, 'final_p95')} | "
            f"{min(wer):.1f}–{max(wer):.1f}")  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--meeting", default="en_long_review", help="a gold meeting (bench/gold/)")
    parser.add_argument("--seconds", type=float, default=60.0, help="length of each room round")
    parser.add_argument("--speakers", type=int, default=2)
    parser.add_argument("--alone-rounds", type=int, default=2)
    parser.add_argument("--no-minutes-alone", action="store_true")
    parser.add_argument("--out", type=Path, default=Path("artifacts/minutes-beside-room"))
    args = parser.parse_args()
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)

    alone: list[dict[str, Any]] = []
    for i in range(args.alone_rounds):
        print(f"[mbr] room alone, round {i + 1}/{args.alone_rounds}", file=sys.stderr)
        alone.append(captions_round(out / f"alone-{i}", args.seconds, args.speakers))

    print(f"[mbr] minutes of {args.meeting} (Qwen, nice {MINUTES_NICE}) with the room beside", file=sys.stderr)
    started = time.monotonic()
    minutes = start_minutes(args.meeting, out / "minutes-beside")
    beside: list[dict[str, Any]] = []
    while minutes.poll() is None:
        beside.append(captions_round(out / f"beside-{len(beside)}", args.seconds, args.speakers))
        print(f"[mbr] beside round {len(beside)} done, {time.monotonic() - started:.0f} s", file=sys.stderr)
    if minutes.returncode != 0:
        raise SystemExit(f"minutes_quality.py failed ({minutes.returncode}): see {out / 'minutes-beside'}")
    with_room = minutes_run(out / "minutes-beside")

    without_room: dict[str, Any] | None = None
    if not args.no_minutes_alone:
        print("[mbr] the same minutes, nothing beside them", file=sys.stderr)
        proc = start_minutes(args.meeting, out / "minutes-alone")
        if proc.wait() != 0:
            raise SystemExit(f"minutes_quality.py failed ({proc.returncode}): see {out / 'minutes-alone'}")
        without_room = minutes_run(out / "minutes-alone")

    load = os.getloadavg()
    print(f"\n{args.speakers} speakers, {args.seconds:.0f} s rounds; minutes of `{args.meeting}` by Qwen 1.5B"
          f" (nice {MINUTES_NICE}); {os.cpu_count()} CPUs, load average at the end {load[0]:.2f}\n")
    print("| condition | rounds | words on screen p50 / p95 s | final p50 / p95 s | WER % | minutes s (LLM calls) |")
    print("|---|---:|---|---|---|---|")
    print(f"| room alone | {room_cells(alone)} | – |")
    # The minutes finished during the last round, so the rounds overlap them (the last partly).
    print(f"| room beside the minutes | {room_cells(beside)} | "
          f"{with_room['seconds']:.0f} ({with_room['calls']}) |")
    if without_room is not None:
        print(f"| minutes alone | – | – | – | – | {without_room['seconds']:.0f} ({without_room['calls']}) |")
    scores = with_room["scores"]
    print(f"\nMinutes quality beside the room: {json.dumps(scores, ensure_ascii=False)}")
    doc = {"alone": alone, "beside": beside, "minutes_beside": with_room, "minutes_alone": without_room,
           "load_after": load, "args": {k: str(v) for k, v in vars(args).items()}}
    (out / "minutes_beside_room.json").write_text(json.dumps(doc, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
