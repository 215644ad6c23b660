"""Bad settings fail at start-up with one line naming the variable (ConfigError)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from agent.config import ConfigError
from agent.minutes.settings import MinutesSettings


def test_defaults_have_every_channel_off(make_settings: Callable[..., MinutesSettings]) -> None:
    s = make_settings()
    assert not s.llm.enabled and not s.smtp.enabled and not s.webhook.enabled
    assert s.llm.context_tokens == 8192 and s.llm.max_parallel == 4
    assert "secret" not in repr(make_settings(LLM_BASE_URL="http://h/v1", LLM_API_KEY="secret"))


@pytest.mark.parametrize(("env", "needle"), [
    ({"LLM_BASE_URL": "ftp://x"}, "LLM_BASE_URL="),
    ({"LLM_CONTEXT_TOKENS": "lots"}, "LLM_CONTEXT_TOKENS="),
    ({"LLM_MAX_PARALLEL": "0"}, "LLM_MAX_PARALLEL="),
    ({"LLM_RESPONSE_FORMAT": "xml"}, "LLM_RESPONSE_FORMAT="),
    ({"LLM_BASE_URL": "http://h/v1", "LLM_CONTEXT_TOKENS": "2048",
      "LLM_MAX_OUTPUT_TOKENS": "1024"}, "LLM_MAX_OUTPUT_TOKENS="),
    ({"SMTP_HOST": "mail"}, "SMTP_FROM="),
    ({"SMTP_HOST": "mail", "SMTP_FROM": "a@example.org", "SMTP_PORT": "99999"}, "SMTP_PORT="),
    ({"SMTP_HOST": "mail", "SMTP_FROM": "a@example.org", "SMTP_USERNAME": "u"}, "SMTP_PASSWORD"),
    ({"SMTP_HOST": "mail", "SMTP_FROM": "a@example.org", "SMTP_SSL": "true"}, "SMTP_SSL"),
    ({"MINUTES_WEBHOOK_URL": "https://hooks.example.org/x"}, "MINUTES_WEBHOOK_SECRET"),
    ({"MINUTES_TIMEZONE": "Mars/Olympus"}, "MINUTES_TIMEZONE="),
    ({"MINUTES_PROMPTS_DIR": "/nonexistent"}, "MINUTES_PROMPTS_DIR="),
    ({"LLM_MODEL_PATH": "/nonexistent.gguf"}, "LLM_MODEL_PATH="),
    ({"LLM_MODEL_PATH": __file__}, "LLM_MODEL_PATH="),  # exists, not a GGUF
    ({"LLM_MODEL_PATH": __file__, "LLM_BASE_URL": "http://h/v1"}, "LLM_MODEL_PATH"),
])
def test_bad_values_raise_one_line(
    make_settings: Callable[..., MinutesSettings], env: dict[str, str], needle: str
) -> None:
    with pytest.raises(ConfigError) as info:
        make_settings(**env)
    message = str(info.value)
    assert needle in message and "\n" not in message and "expected" in message


def test_a_local_model_enables_the_llm(
    make_settings: Callable[..., MinutesSettings], tmp_path: Path
) -> None:
    model = tmp_path / "m.gguf"
    model.write_bytes(b"GGUF" + b"\0" * 16)
    s = make_settings(LLM_MODEL_PATH=str(model))
    assert s.llm.enabled and s.llm.model_path == str(model.resolve()) and not s.llm.base_url
