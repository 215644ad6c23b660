"""Command line: ``python -m agent start|dev|transcribe|minutes|demo``.

``start`` and ``dev`` are livekit-agents' own worker commands; the others are ours. Each of ours
lives in ``agent/cli/<name>.py`` and exposes ``main(argv) -> int``.
"""

from __future__ import annotations

import importlib
import sys

from agent.config import EXIT_CONFIG, ConfigError, load_env

OUR_COMMANDS = {
    "transcribe": "agent.cli.transcribe",
    "minutes": "agent.cli.minutes",
    "demo": "agent.cli.demo",
}
WORKER_COMMANDS = {"start", "dev", "console", "connect", "download-files"}

USAGE = """usage: python -m agent COMMAND [options]

commands:
  start        run the worker (production)
  dev          run the worker (development: debug logs, no idle processes)
  transcribe   transcribe an audio file offline or through the streaming engine
  minutes      regenerate the minutes of a meeting from its journal
  demo         local LiveKit server + worker + a simulated speaker, all in one
"""


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    load_env()
    if not argv or argv[0] in {"-h", "--help", "help"}:
        print(USAGE, end="")
        return 0
    command = argv[0]
    try:
        if command in OUR_COMMANDS:
            module = importlib.import_module(OUR_COMMANDS[command])
            return int(module.main(argv[1:]) or 0)
        if command in WORKER_COMMANDS:
            from agent.worker import run_worker

            return run_worker(argv)
    except ConfigError as exc:
        print(f"greffier: configuration error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        return 130
    print(f"greffier: unknown command {command!r}\n{USAGE}", file=sys.stderr, end="")
    return EXIT_CONFIG


if __name__ == "__main__":
    sys.exit(main())
