"""Exclusive claims on files, so one worker among several does a piece of work at a time.

A claim is a small file created with ``O_CREAT | O_EXCL`` (atomic on local file systems and NFSv3+),
holding a random token. A worker that crashes leaves its claim behind; once the claim file is older
than ``stale_after`` seconds another worker may take it over. The take-over itself is serialised
with an ``fcntl.flock`` on a side lock file so two workers cannot both steal the same stale claim.
Long jobs call ``refresh()`` to show they are alive.

Claims give "at most one at a time", not "exactly once": callers pair them with a durable marker
written after the work is done (a done file, an outbox record) and re-check it after claiming.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import socket
import time
from pathlib import Path

from agent.logs import get_logger

log = get_logger(__name__)


class FileClaim:
    def __init__(self, path: Path, token: str) -> None:
        self.path = path
        self.token = token

    @classmethod
    def acquire(cls, path: Path, *, stale_after: float) -> FileClaim | None:
        """Return the claim, or None when another live worker holds it."""
        token = secrets.token_hex(16)
        if _create_exclusive(path, token):
            return cls(path, token)
        with _side_lock(path):
            try:
                age = time.time() - path.stat().st_mtime
            except FileNotFoundError:
                age = float("inf")
            if age < stale_after:
                return None
            log.warning("taking over a stale claim (%.0f s old): %s", age, path.name)
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            if _create_exclusive(path, token):
                return cls(path, token)
        return None

    def held(self) -> bool:
        try:
            return json.loads(self.path.read_text()).get("token") == self.token
        except (OSError, ValueError):
            return False

    def refresh(self) -> None:
        if self.held():
            os.utime(self.path)

    def release(self) -> None:
        """Remove the claim if it is still ours (a stale take-over may have replaced it)."""
        with _side_lock(self.path):
            if self.held():
                with contextlib.suppress(FileNotFoundError):
                    self.path.unlink()

    def __enter__(self) -> FileClaim:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _create_exclusive(path: Path, token: str) -> bool:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    try:
        body = {"token": token, "pid": os.getpid(), "host": socket.gethostname(), "at": time.time()}
        os.write(fd, json.dumps(body).encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    return True


@contextlib.contextmanager
def _side_lock(path: Path):  # type: ignore[no-untyped-def]
    lock_path = path.with_name(path.name + ".lock")
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
