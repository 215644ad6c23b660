"""Rate limits for what participants send, and log lines that cannot be used to flood the logs.

Anything a participant can send (RPC calls, their name, attributes) is hostile input: one client
calling 100 times a second must cost the room almost nothing, and must not write 100 log lines a
second either.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

from agent.logs import get_logger

logger = get_logger(__name__)

MAX_KEYS = 4096  # buckets kept; the least recently used are dropped (a churn of identities)


class RateLimiter:
    """A token bucket per key: ``rate`` calls per second on average, bursts up to ``burst``."""

    def __init__(
        self, rate: float, burst: float | None = None, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate
        self.burst = burst if burst is not None else max(1.0, 2 * rate)
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key -> (tokens, at)

    def allow(self, key: str, cost: float = 1.0) -> bool:
        now = self._clock()
        tokens, at = self._buckets.pop(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - at) * self.rate)
        allowed = tokens >= cost
        if allowed:
            tokens -= cost
        self._buckets[key] = (tokens, now)
        while len(self._buckets) > MAX_KEYS:
            self._buckets.popitem(last=False)
        return allowed


class ThrottledLog:
    """At most one warning per key every ``every`` seconds, with how many were held back."""

    def __init__(self, every: float = 10.0, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.every = every
        self._clock = clock
        self._last: OrderedDict[str, tuple[float, int]] = OrderedDict()  # key -> (logged at, held)

    def warning(self, key: str, message: str, *args: object) -> bool:
        now = self._clock()
        at, held = self._last.pop(key, (-self.every, 0))
        if now - at < self.every:
            self._last[key] = (at, held + 1)
            return False
        if held:
            message += " (%d similar line(s) held back)"
            args = (*args, held)
        logger.warning(message, *args)
        self._last[key] = (now, 0)
        while len(self._last) > MAX_KEYS:
            self._last.popitem(last=False)
        return True


def shown(value: str, limit: int = 64) -> str:
    """A participant-chosen string as it may appear in a log line: printable, one line, short."""
    clean = "".join(ch if ch.isprintable() else "?" for ch in value[:limit])
    return clean + ("…" if len(value) > limit else "")
