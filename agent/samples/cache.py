"""Where sample audio is cached: never committed, reused across runs and test sessions.

Order: ``$GREFFIER_CACHE_DIR/samples``; else ``.tools/samples`` in a source checkout (git-ignored,
next to the other fetched tools); else ``$XDG_CACHE_HOME/greffier/samples``.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_REPO_ROOT = Path(__file__).resolve().parents[2]


def samples_cache_dir(*, create: bool = True) -> Path:
    """``create=False`` only names the folder: a lookup in a read-only image must not mkdir."""
    env = os.environ.get("GREFFIER_CACHE_DIR", "").strip()
    if env:
        root = Path(env).expanduser() / "samples"
    elif (_REPO_ROOT / "pyproject.toml").exists() and os.access(_REPO_ROOT, os.W_OK):
        root = _REPO_ROOT / ".tools" / "samples"
    else:
        xdg = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
        root = Path(xdg) / "greffier" / "samples"
    if create:
        root.mkdir(parents=True, exist_ok=True)
    return root


@contextmanager
def cache_lock(name: str) -> Iterator[None]:
    """Serialise writers (parallel test workers, two CLIs) on one cache entry."""
    lock_path = samples_cache_dir() / f".{name}.lock"
    with open(lock_path, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
