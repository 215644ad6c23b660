"""What the worker logs while it loads its models, before livekit-agents' CLI configures
logging, is kept and written once logging is set up (it used to go nowhere)."""

from __future__ import annotations

import logging

from agent.logs import get_logger, hold_until_configured


class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def test_start_up_lines_are_replayed_once_logging_is_configured() -> None:
    root, tree = logging.getLogger(), logging.getLogger("greffier")
    level_before, root_level = tree.level, root.level
    release = hold_until_configured()
    get_logger("agent.asr.decoder").info("speech model %s loaded in %.1fs", "base", 1.2)
    get_logger("agent.asr.decoder").debug("too fine for INFO")
    capture = Capture()
    root.addHandler(capture)  # what the CLI's setup_logging does
    root.setLevel(logging.INFO)
    try:
        assert capture.lines == []  # held, not lost and not printed raw
        release()
        release()  # idempotent
        assert capture.lines == ["speech model base loaded in 1.2s"]
        get_logger("agent.room").info("later lines go straight through")
        assert capture.lines[-1] == "later lines go straight through" and tree.level == level_before
    finally:
        root.removeHandler(capture)
        root.setLevel(root_level)
