"""Typed settings read from the environment (and `.env` through python-dotenv).

Every setting is documented in README.md and `.env.example`. A bad value raises ``ConfigError``
whose message is the single line printed to stderr before exiting with code 2.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from dotenv import load_dotenv

EXIT_CONFIG = 2


class ConfigError(ValueError):
    """A setting is missing or invalid; the message names the variable and what is expected."""


def load_env(dotenv_path: str | os.PathLike[str] | None = None) -> None:
    """Load `.env` from the working directory without overriding the real environment."""
    load_dotenv(dotenv_path or Path.cwd() / ".env", override=False)


def env_str(name: str, default: str | None = None, *, required: bool = False) -> str:
    value = os.environ.get(name)
    if value is None or (required and not value.strip()):
        if required:
            raise ConfigError(f"{name} is not set: expected {_EXPECTED.get(name, 'a value')}")
        return default if default is not None else ""
    return value.strip()


def env_int(name: str, default: int, *, minimum: int | None = None, maximum: int | None = None) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is invalid: expected an integer") from None
    _check_range(name, raw, value, minimum, maximum)
    return value


def env_auto_int(name: str, *, minimum: int, maximum: int) -> int | None:
    """An integer in [minimum, maximum], or ``auto`` (also when unset): None, for the caller to
    choose from what it knows only at run time (the device, say)."""
    raw = os.environ.get(name, "").strip()
    if raw.lower() in {"", "auto"}:
        return None
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(
            f"{name}={raw!r} is invalid: expected auto or an integer from {minimum} to {maximum}"
        ) from None
    _check_range(name, raw, value, minimum, maximum)
    return value


def env_float(
    name: str, default: float, *, minimum: float | None = None, maximum: float | None = None
) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is invalid: expected a number") from None
    _check_range(name, raw, value, minimum, maximum)
    return value


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name}={raw!r} is invalid: expected true or false")


def env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return default
    if raw not in choices:
        raise ConfigError(f"{name}={raw!r} is invalid: expected one of {', '.join(choices)}")
    return raw


def env_url(name: str, default: str = "", *, schemes: tuple[str, ...], required: bool = False) -> str:
    raw = env_str(name, default, required=required)
    if not raw:
        return ""
    parsed = urlparse(raw)
    if parsed.scheme not in schemes or not parsed.netloc:
        shown = raw if "@" not in raw else "<redacted>"
        raise ConfigError(f"{name}={shown!r} is invalid: expected a {'/'.join(schemes)}:// URL with a host")
    return raw


def _check_range(name: str, raw: str, value: float, lo: float | None, hi: float | None) -> None:
    if lo is not None and value < lo:
        raise ConfigError(f"{name}={raw!r} is invalid: expected a value >= {lo}")
    if hi is not None and value > hi:
        raise ConfigError(f"{name}={raw!r} is invalid: expected a value <= {hi}")


_EXPECTED = {
    "LIVEKIT_URL": "the LiveKit server URL, e.g. ws://localhost:7880",
    "LIVEKIT_API_KEY": "the API key configured on the LiveKit server",
    "LIVEKIT_API_SECRET": "the API secret matching LIVEKIT_API_KEY",
}

_AGENT_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


@dataclass(frozen=True)
class LiveKitSettings:
    url: str
    api_key: str
    api_secret: str = field(repr=False)
    agent_name: str = "greffier"

    @classmethod
    def from_env(cls) -> LiveKitSettings:
        url = env_url("LIVEKIT_URL", schemes=("ws", "wss", "http", "https"), required=True)
        key = env_str("LIVEKIT_API_KEY", required=True)
        secret = env_str("LIVEKIT_API_SECRET", required=True)
        agent_name = os.environ.get("AGENT_NAME", "greffier").strip()
        if agent_name and not _AGENT_NAME_RE.match(agent_name):
            raise ConfigError(
                f"AGENT_NAME={agent_name!r} is invalid: expected letters, digits, '.', '_' or '-'"
                " (at most 64), or empty for automatic dispatch"
            )
        return cls(url=url, api_key=key, api_secret=secret, agent_name=agent_name)
