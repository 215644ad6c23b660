"""One logger tree for the whole product: ``greffier.<module path>``.

Operators filter on ``greffier`` (the demo prints only that tree); module paths keep each line
traceable to its file. Use ``log = get_logger(__name__)``.
"""

from __future__ import annotations

import logging

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
