"""Benchmark: time from "room end" to minutes delivered, with and without an LLM.

For synthetic 10-minute and 2-hour transcripts, runs the real pipeline (``finish_meeting``:
journal read, map-reduce if an LLM is set, files, outbox, SMTP delivery to an in-process aiosmtpd
server) and reports the time until the e-mail was received, the number of LLM calls and the tokens
per call. Prints a Markdown table.

    .venv/bin/python bench/minutes_bench.py                    # no LLM + local llama server
    .venv/bin/python bench/minutes_bench.py --llm-url http://host:8000/v1 --llm-model m
    .venv/bin/python bench/minutes_bench.py --sizes 10m --no-llm

The local LLM is llama.cpp's server (scripts/install-llm-runtime.sh) with SmolLM2-135M: it measures
the pipeline's overhead and call pattern, not what a real model's latency would be.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agent.meeting.finish import finish_meeting
from agent.minutes.settings import MinutesSettings
from agent.transcript.journal import Journal
from agent.transcript.segment import Segment

SIZES = {"10m": 10 * 60, "2h": 2 * 3600}
SPEAKERS = [("alice", "Alice"), ("bob", "Bob"), ("chloe", "Chloé"), ("david", "David")]
SUBJECTS = ["the release", "the budget", "the billing module", "the database migration",
            "the documentation", "the mobile client", "the test coverage", "the hiring plan"]
VERBS = ["we should review", "I will prepare", "we decided to postpone", "can someone check",
         "we need to finish", "let us discuss", "I am worried about", "we agreed to ship"]
TAILS = ["before Friday.", "by next week.", "this quarter.", "with the whole team.",
         "after the demo.", "if the budget allows it.", "as soon as possible.", "on Monday."]


def synthetic_journal(data_dir: Path, sid: str, seconds: int, seed: int = 1) -> Journal:
    """About 150 words per minute, in segments of 4-9 s, four speakers."""
    rng = random.Random(seed)
    started = time.time() - seconds - 5
    meta = json.dumps({"greffier": {"recipients": ["organizer@example.org"],
                                    "title": f"Synthetic {sid}", "language": "en"}})
    journal = Journal.open_or_create(data_dir, "bench", sid, meta, started_at=started)
    for identity, name in SPEAKERS:
        journal.append_participant(identity, name)
    t, i = 1.0, 0
    while t < seconds:
        length = rng.uniform(4, 9)
        identity, name = rng.choice(SPEAKERS)
        words = max(1, round(length * 2.5 / 6))
        text = " ".join(f"{rng.choice(VERBS).capitalize()} {rng.choice(SUBJECTS)} "
                        f"{rng.choice(TAILS)}" for _ in range(words))
        journal.append_segment(Segment(f"b{i}", identity, name, started + t,
                                       started + t + length, text, "en"))
        t += length + rng.uniform(0.2, 1.5)
        i += 1
    return journal


class Inbox:
    """aiosmtpd handler recording when each message arrived."""

    def __init__(self) -> None:
        self.arrivals: list[float] = []

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        self.arrivals.append(time.monotonic())
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_llama(n_ctx: int) -> tuple[subprocess.Popen[bytes], str] | None:
    """llama.cpp's server (xllamacpp, scripts/install-llm-runtime.sh) with SmolLM2-135M."""
    from agent.minutes.local_server import smollm2_path

    model = smollm2_path()
    if importlib.util.find_spec("xllamacpp") is None or model is None:
        return None
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "agent.minutes.local_server", "--model", str(model),
         "--port", str(port), "--ctx", str(n_ctx), "--alias", "smollm2"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    import httpx

    url = f"http://127.0.0.1:{port}/v1"
    for _ in range(240):
        try:
            if httpx.get(f"{url}/models", timeout=2).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.5)
    proc.kill()
    return None


@dataclass
class Row:
    scenario: str
    size: str
    segments: int
    chars: int
    seconds_to_inbox: float
    calls: str
    prompt_tokens: str
    completion_tokens: str
    seconds_per_call: str
    generated: bool


def fmt_stats(values: list[int]) -> str:
    if not values:
        return "–"
    return f"{min(values)}/{round(statistics.mean(values))}/{max(values)}"


async def run_one(scenario: str, size: str, env: dict[str, str], inbox: Inbox) -> Row:
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.update(env | {"DATA_DIR": tmp})
        settings = MinutesSettings.from_env()
        journal = synthetic_journal(Path(tmp), f"RM_{size}_{scenario}", SIZES[size])
        data = journal.read()
        journal.mark_ended()
        room_end = time.monotonic()
        before = len(inbox.arrivals)
        result = await finish_meeting(journal.path, settings)
        if len(inbox.arrivals) == before:
            raise RuntimeError(f"no e-mail received: {result.deliveries}")
        elapsed = inbox.arrivals[-1] - room_end
        minutes = result.minutes
        assert minutes is not None
        calls = minutes.llm_calls
        stages = {s: sum(c.stage == s for c in calls) for s in ("map", "collapse", "reduce")}
        call_text = (f"{len(calls)} ({stages['map']} map, {stages['collapse']} collapse,"
                     f" {stages['reduce']} reduce)") if calls else "0"
        prompt = [c.prompt_tokens for c in calls if c.prompt_tokens is not None]
        estimate = [c.prompt_tokens_estimate for c in calls]
        completion = [c.completion_tokens for c in calls if c.completion_tokens is not None]
        prompt_text = (f"{fmt_stats(prompt)} (est. max {max(estimate)})" if calls else "–")
        per_call = (f"{statistics.mean(c.seconds for c in calls):.1f}" if calls else "–")
        return Row(scenario, size, len(data.segments), sum(len(s.text) for s in data.segments),
                   elapsed, call_text, prompt_text, fmt_stats(completion), per_call,
                   minutes.generated)


async def main_async(args: argparse.Namespace) -> int:
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    smtp_port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    for name in list(os.environ):
        if name.startswith(("LLM_", "SMTP_", "MINUTES_")):
            del os.environ[name]
    base = {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(smtp_port), "SMTP_STARTTLS": "false",
            "SMTP_FROM": "greffier@example.org", "LLM_BASE_URL": ""}
    llama = None
    scenarios: list[tuple[str, dict[str, str]]] = [("no LLM", base)]
    if not args.no_llm:
        url = args.llm_url
        if not url:
            llama = start_llama(args.context)
            url = llama[1] if llama else ""
            if not url:
                print("(no local llama server: run scripts/install-llm-runtime.sh)", file=sys.stderr)
        if url:
            scenarios.append((args.llm_label or ("SmolLM2-135M (llama.cpp)" if llama else "LLM"),
                              base | {"LLM_BASE_URL": url, "LLM_MODEL": args.llm_model,
                                      "LLM_API_KEY": os.environ.get("BENCH_LLM_API_KEY", ""),
                                      "LLM_CONTEXT_TOKENS": str(args.context),
                                      "LLM_MAX_OUTPUT_TOKENS": str(args.max_output),
                                      "LLM_MAX_PARALLEL": str(args.parallel),
                                      "LLM_TIMEOUT": "600", "LLM_RESPONSE_FORMAT": args.format}))
    rows = []
    try:
        for size in args.sizes:
            for scenario, env in scenarios:
                if scenario != "no LLM" and size not in (args.llm_sizes or args.sizes):
                    continue
                print(f"running {scenario} / {size}...", file=sys.stderr)
                rows.append(await run_one(scenario, size, env, inbox))
    finally:
        controller.stop()
        if llama:
            llama[0].terminate()
            llama[0].wait(30)
    print(f"\nContext {args.context} tokens, max output {args.max_output}, parallel"
          f" {args.parallel}; {os.cpu_count()} CPU(s). Tokens per call: min/mean/max as counted"
          " by the server; estimate = chars/3.\n")
    print("| transcript | LLM | segments | chars | room end → inbox (s) | LLM calls "
          "| prompt tokens/call | completion tokens/call | s/call | summary generated |")
    print("|---|---|---:|---:|---:|---|---|---|---:|---|")
    for r in rows:
        print(f"| {r.size} | {r.scenario} | {r.segments} | {r.chars} | {r.seconds_to_inbox:.2f} "
              f"| {r.calls} | {r.prompt_tokens} | {r.completion_tokens} | {r.seconds_per_call} "
              f"| {'yes' if r.generated else 'no (extractive)'} |")
    print_plan(args)
    return 0


def print_plan(args: argparse.Namespace) -> None:
    """Calls the map-reduce would make at this context, for every size (no LLM needed)."""
    from agent.minutes.builder import transcript_lines
    from agent.minutes.chunking import estimate_messages
    from agent.minutes.mapreduce import plan_map_calls
    from agent.minutes.prompts import PromptSet
    from agent.minutes.settings import DEFAULT_PROMPTS_DIR, LLMSettings

    llm = LLMSettings(base_url="http://plan/v1", context_tokens=args.context,
                      max_output_tokens=args.max_output)
    prompts = PromptSet.load(DEFAULT_PROMPTS_DIR, "en")
    print(f"\nPlanned map calls at LLM_CONTEXT_TOKENS={args.context} (estimate = chars/3,"
          f" + {args.max_output} output must fit):\n")
    print("| transcript | map calls | est. prompt tokens/call (max) | + max output | context |")
    print("|---|---:|---:|---:|---:|")
    for size in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            data = synthetic_journal(Path(tmp), f"RM_plan_{size}", SIZES[size]).read()
        calls = plan_map_calls(transcript_lines(data.segments, data.started_at), llm, prompts,
                               data.metadata.title)
        biggest = max(estimate_messages(m) for m in calls)
        print(f"| {size} | {len(calls)} | {biggest} | {args.max_output} | {args.context} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", nargs="+", choices=sorted(SIZES), default=["10m", "2h"])
    parser.add_argument("--no-llm", action="store_true", help="only the no-LLM scenario")
    parser.add_argument("--llm-sizes", nargs="+", choices=sorted(SIZES),
                        help="run the LLM scenario only for these sizes (it is slow on CPUs)")
    parser.add_argument("--llm-url", default="", help="use this server instead of local llama")
    parser.add_argument("--llm-model", default="")
    parser.add_argument("--llm-label", default="")
    parser.add_argument("--context", type=int, default=4096)
    parser.add_argument("--max-output", type=int, default=512)
    parser.add_argument("--parallel", type=int, default=4)
    parser.add_argument("--format", default="json_object_schema",
                        choices=["json_object", "json_schema", "json_object_schema", "none"])
    return asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
