"""``python -m agent minutes JOURNAL [--out DIR] [--no-llm] [--send]``: regenerate minutes offline.

Rebuilds the minutes from a journal file (useful after changing prompts or the LLM), writes the
files, and prints the Markdown path. ``--send`` also delivers them through the configured channels
(a new delivery, on purpose: an operator asked for it). It never touches the journal's done marker.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
from pathlib import Path

from agent.delivery.files import minutes_dir, write_minutes_files
from agent.meeting.deliver import enqueue_deliveries, outbox_for, process_outbox
from agent.minutes.builder import build_minutes
from agent.minutes.settings import MinutesSettings
from agent.transcript.journal import read_journal


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m agent minutes", description="Regenerate the minutes of a meeting."
    )
    parser.add_argument("journal", type=Path, help="journal file (DATA_DIR/journals/<sid>.jsonl)")
    parser.add_argument("--out", type=Path, help="output folder (default DATA_DIR/minutes/<sid>)")
    parser.add_argument("--no-llm", action="store_true", help="do not call the LLM")
    parser.add_argument("--send", action="store_true", help="also e-mail / POST the minutes")
    parser.add_argument("-v", "--verbose", action="store_true")
    return parser.parse_args(argv)


async def run(args: argparse.Namespace) -> int:
    settings = MinutesSettings.from_env()
    try:
        data = read_journal(args.journal)
    except (OSError, ValueError) as exc:
        print(f"greffier minutes: cannot read {args.journal}: {exc}", file=sys.stderr)
        return 1
    minutes = await build_minutes(data, settings, use_llm=not args.no_llm)
    directory = args.out or minutes_dir(settings.data_dir, minutes.session_id)
    files = write_minutes_files(minutes, directory)
    if not minutes.generated and minutes.notice:
        print("greffier minutes: summary not generated (see the notice in the minutes)", file=sys.stderr)
    if args.send:
        queued = enqueue_deliveries(minutes, directory, settings, key=f"cli{int(time.time())}")
        if not queued:
            print(
                "greffier minutes: --send: no channel configured (SMTP_HOST with recipients,"
                " or MINUTES_WEBHOOK_URL)",
                file=sys.stderr,
            )
            return 1
        await process_outbox(settings, session_id=minutes.session_id)
        ids = {d.delivery_id for d in queued}
        states = {
            d.delivery_id: d.state
            for d in outbox_for(settings).all(minutes.session_id)
            if d.delivery_id in ids
        }
        for delivery_id, state in sorted(states.items()):
            print(f"greffier minutes: {delivery_id}: {state}", file=sys.stderr)
        if any(state != "done" for state in states.values()):
            return 1
    print(files["markdown"])
    return 0


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    return asyncio.run(run(args))
