"""One logger tree for the whole product: ``greffier.<module path>``.

Operators filter on ``greffier`` (the demo prints only that tree); module paths keep each line
traceable to its file. Use ``log = get_logger(__name__)``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

ROOT = "greffier"


def get_logger(module: str) -> logging.Logger:
    """``agent.room.session`` -> ``greffier.room.session``."""
    if module == "agent" or module.startswith("agent."):
        module = module[len("agent") :]
    elif module == "__main__":
        module = ""
    else:
        module = "." + module
    return logging.getLogger(ROOT + module)


class _Held(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def hold_until_configured() -> Callable[[], None]:
    """Keep this tree's records until logging is configured, then replay them (call the result).

    The worker loads its models before livekit-agents' CLI sets up logging, so their lines
    ("speech model base loaded ... in 1.2s") went nowhere. Idempotent."""
    tree = logging.getLogger(ROOT)
    held, level = _Held(), tree.level
    tree.addHandler(held)
    tree.setLevel(logging.INFO)

    def release() -> None:
        if held not in tree.handlers:
            return
        tree.removeHandler(held)
        tree.setLevel(level)
        for record in held.records:
            logger = logging.getLogger(record.name)
            if logger.isEnabledFor(record.levelno):
                logger.handle(record)

    return release
