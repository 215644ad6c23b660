"""Settings of the minutes pipeline (LLM, SMTP, webhook, files), read from the environment.

Kept beside the minutes code rather than in ``agent/config.py`` so the room agent can load them
only when minutes are enabled; they use the same helpers and the same ``ConfigError`` contract.
"""

from __future__ import annotations

import importlib.util
import re
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from agent.config import (
    ConfigError,
    env_bool,
    env_choice,
    env_float,
    env_int,
    env_str,
    env_url,
)
from agent.transcript.metadata import is_valid_email

RESPONSE_FORMATS = ("auto", "json_schema", "json_object_schema", "json_object", "none")
PASSES = ("one", "per-list")
DEFAULT_PROMPTS_DIR = Path(__file__).resolve().parents[2] / "prompts"


@dataclass(frozen=True)
class LLMSettings:
    base_url: str  # e.g. http://localhost:11434/v1 — "/chat/completions" is appended
    api_key: str = field(repr=False, default="")
    model: str = ""
    context_tokens: int = 8192
    max_output_tokens: int = 1024
    max_parallel: int = 4
    timeout_s: float = 120.0
    retries: int = 3
    response_format: str = "auto"  # auto | json_schema | json_object_schema | json_object | none
    temperature: float = 0.2
    # one: one call per transcript chunk writes all the notes; per-list: one focused call per
    # list (summary, decisions, action items, open questions) on each chunk (small models)
    passes: str = "one"
    # per-list: at most this many transcript tokens per list question (0: what the context
    # allows); small models list about one item per call, so smaller excerpts find more
    list_chunk_tokens: int = 0
    # each decision and action item checked by one yes/no question on the lines around its
    # quote; a "no" drops it (small excerpts make small models list what was not agreed)
    verify_items: bool = False
    # A GGUF file run in this process (llama.cpp via xllamacpp) when no LLM server exists
    model_path: str = ""

    @property
    def enabled(self) -> bool:
        return bool(self.base_url or self.model_path)


def _model_path() -> str:
    """``LLM_MODEL_PATH``: checked at start (a file, a GGUF, the runtime installed, no server
    configured beside it) so a bad value fails the worker, not the first meeting's minutes."""
    path = env_str("LLM_MODEL_PATH")
    if not path:
        return ""
    if env_str("LLM_BASE_URL"):
        raise ConfigError(
            "LLM_MODEL_PATH is invalid with LLM_BASE_URL set: expected one of them (a local GGUF"
            " model or an OpenAI-compatible server)"
        )
    return gguf_file("LLM_MODEL_PATH", path)


def gguf_file(variable: str, path: str) -> str:
    """The resolved path of a GGUF model that llama.cpp (xllamacpp) can run here, or a
    ``ConfigError`` naming ``variable``."""
    file = Path(path)
    if not file.is_file():
        raise ConfigError(f"{variable}={path!r} is invalid: expected an existing .gguf file")
    with file.open("rb") as f:
        if f.read(4) != b"GGUF":
            raise ConfigError(f"{variable}={path!r} is invalid: expected a GGUF model file")
    if importlib.util.find_spec("xllamacpp") is None:
        raise ConfigError(
            f"{variable} is set but xllamacpp is not installed: expected"
            " `pip install xllamacpp` (scripts/install-llm-runtime.sh)"
        )
    return str(file.resolve())


@dataclass(frozen=True)
class SMTPSettings:
    host: str
    port: int = 587
    username: str = ""
    password: str = field(repr=False, default="")
    starttls: bool = True
    ssl: bool = False
    sender: str = ""
    timeout_s: float = 30.0

    @property
    def enabled(self) -> bool:
        return bool(self.host)


@dataclass(frozen=True)
class WebhookSettings:
    url: str
    secret: str = field(repr=False, default="")
    timeout_s: float = 15.0

    @property
    def enabled(self) -> bool:
        return bool(self.url)


@dataclass(frozen=True)
class MinutesSettings:
    data_dir: Path
    llm: LLMSettings
    smtp: SMTPSettings
    webhook: WebhookSettings
    prompts_dir: Path = DEFAULT_PROMPTS_DIR
    timezone: str = "Europe/Paris"  # the meeting's date, and relative due dates, are read in it
    claim_timeout_s: float = 900.0
    idle_timeout_s: float = 900.0
    outbox_max_attempts: int = 12
    outbox_backoff_s: float = 30.0
    outbox_backoff_max_s: float = 3600.0

    @classmethod
    def from_env(cls) -> MinutesSettings:
        llm = LLMSettings(
            base_url=env_url("LLM_BASE_URL", schemes=("http", "https")).rstrip("/"),
            api_key=env_str("LLM_API_KEY"),
            model=env_str("LLM_MODEL"),
            context_tokens=env_int("LLM_CONTEXT_TOKENS", 8192, minimum=1024, maximum=2_000_000),
            max_output_tokens=env_int("LLM_MAX_OUTPUT_TOKENS", 1024, minimum=128, maximum=32768),
            max_parallel=env_int("LLM_MAX_PARALLEL", 4, minimum=1, maximum=64),
            timeout_s=env_float("LLM_TIMEOUT", 120.0, minimum=1.0, maximum=3600.0),
            retries=env_int("LLM_RETRIES", 3, minimum=0, maximum=10),
            response_format=env_choice("LLM_RESPONSE_FORMAT", "auto", RESPONSE_FORMATS),
            temperature=env_float("LLM_TEMPERATURE", 0.2, minimum=0.0, maximum=2.0),
            passes=env_choice("LLM_MINUTES_PASSES", "one", PASSES),
            list_chunk_tokens=env_int("LLM_LIST_CHUNK_TOKENS", 0, minimum=0, maximum=2_000_000),
            verify_items=env_bool("LLM_VERIFY_ITEMS", False),
            model_path=_model_path(),
        )
        if 0 < llm.list_chunk_tokens < 100:
            raise ConfigError(
                f"LLM_LIST_CHUNK_TOKENS={llm.list_chunk_tokens} is invalid: expected 0 (no limit) or"
                " at least 100 tokens"
            )
        if llm.enabled and llm.max_output_tokens * 2 >= llm.context_tokens:
            raise ConfigError(
                f"LLM_MAX_OUTPUT_TOKENS={llm.max_output_tokens} is invalid: expected less than half"
                f" of LLM_CONTEXT_TOKENS ({llm.context_tokens}) so transcript fits in each call"
            )
        smtp = SMTPSettings(
            host=env_str("SMTP_HOST"),
            port=env_int("SMTP_PORT", 587, minimum=1, maximum=65535),
            username=env_str("SMTP_USERNAME"),
            password=env_str("SMTP_PASSWORD"),
            starttls=env_bool("SMTP_STARTTLS", True),
            ssl=env_bool("SMTP_SSL", False),
            sender=env_str("SMTP_FROM"),
            timeout_s=env_float("SMTP_TIMEOUT", 30.0, minimum=1.0, maximum=600.0),
        )
        if smtp.enabled:
            if not smtp.sender or not is_valid_email(smtp.sender):
                raise ConfigError(
                    f"SMTP_FROM={smtp.sender!r} is invalid: expected a plain e-mail address"
                    " (e.g. greffier@example.org) when SMTP_HOST is set"
                )
            if smtp.ssl and smtp.starttls:
                raise ConfigError("SMTP_SSL=true is invalid with SMTP_STARTTLS=true: expected one of them")
            if smtp.username and not smtp.password:
                raise ConfigError("SMTP_PASSWORD is not set: expected it when SMTP_USERNAME is set")
        webhook = WebhookSettings(
            url=env_url("MINUTES_WEBHOOK_URL", schemes=("http", "https")),
            secret=env_str("MINUTES_WEBHOOK_SECRET"),
            timeout_s=env_float("MINUTES_WEBHOOK_TIMEOUT", 15.0, minimum=1.0, maximum=600.0),
        )
        if webhook.enabled and len(webhook.secret) < 16:
            raise ConfigError(
                "MINUTES_WEBHOOK_SECRET is invalid: expected a shared secret of at least 16"
                " characters when MINUTES_WEBHOOK_URL is set"
            )
        timezone = env_str("MINUTES_TIMEZONE", "Europe/Paris")
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(
                f"MINUTES_TIMEZONE={timezone!r} is invalid: expected an IANA zone like Europe/Paris"
            ) from None
        prompts_dir = Path(env_str("MINUTES_PROMPTS_DIR", str(DEFAULT_PROMPTS_DIR)))
        if not prompts_dir.is_dir():
            raise ConfigError(
                f"MINUTES_PROMPTS_DIR={str(prompts_dir)!r} is invalid: expected a directory"
                " holding the prompt files"
            )
        data_dir = env_str("DATA_DIR", "data")
        if not re.sub(r"\s", "", data_dir):
            raise ConfigError("DATA_DIR is invalid: expected a directory path")
        return cls(
            data_dir=Path(data_dir),
            llm=llm,
            smtp=smtp,
            webhook=webhook,
            prompts_dir=prompts_dir,
            timezone=timezone,
            claim_timeout_s=env_float("MINUTES_CLAIM_TIMEOUT", 900.0, minimum=10.0),
            idle_timeout_s=env_float("MINUTES_IDLE_TIMEOUT", 900.0, minimum=10.0),
            outbox_max_attempts=env_int("MINUTES_OUTBOX_MAX_ATTEMPTS", 12, minimum=1, maximum=100),
            outbox_backoff_s=env_float("MINUTES_OUTBOX_BACKOFF", 30.0, minimum=0.0),
            outbox_backoff_max_s=env_float("MINUTES_OUTBOX_BACKOFF_MAX", 3600.0, minimum=0.0),
        )
