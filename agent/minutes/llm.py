"""A minimal client for OpenAI-compatible ``/v1/chat/completions`` (Albert, vLLM, Ollama,
llama.cpp server...), over httpx.

Retries (tenacity, exponential backoff with jitter) cover what is worth retrying: connection
errors, timeouts, 408/429/5xx. Other 4xx are configuration errors and fail at once. Nothing of the
prompts or answers is logged, and the API key only travels in the Authorization header.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import httpx
from tenacity import (
    AsyncRetrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
    wait_random,
)

from agent import metrics
from agent.logs import get_logger
from agent.minutes.parse import NOTES_SCHEMA
from agent.minutes.settings import LLMSettings

log = get_logger(__name__)

Schema = tuple[str, dict[str, Any]]  # a response's name and its JSON schema
NOTES: Schema = ("minutes_notes", NOTES_SCHEMA)


class LLMError(RuntimeError):
    """The LLM could not give an answer (after retries); the message holds no prompt text."""


@dataclass(frozen=True)
class ChatResult:
    text: str
    prompt_tokens: int | None
    completion_tokens: int | None
    seconds: float
    response_format: str = "none"  # what the server accepted: json_schema, json_object, ...
    finish_reason: str = ""  # "length" when max_tokens cut the answer


def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, httpx.TransportError):  # connect errors, timeouts, broken connections
        return True
    if isinstance(exc, httpx.HTTPStatusError):
        return exc.response.status_code in {408, 409, 425, 429} or exc.response.status_code >= 500
    return False


class LLMClient:
    def __init__(self, settings: LLMSettings, *, client: httpx.AsyncClient | None = None) -> None:
        self.settings = settings
        headers = {"Content-Type": "application/json"}
        if settings.api_key:
            headers["Authorization"] = f"Bearer {settings.api_key}"
        self._client = client or httpx.AsyncClient(
            timeout=httpx.Timeout(settings.timeout_s, connect=min(10.0, settings.timeout_s)),
            headers=headers,
            limits=httpx.Limits(max_connections=max(1, settings.max_parallel)),
        )
        self._formats = format_chain(settings.response_format)

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> LLMClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def chat(
        self, messages: list[dict[str, str]], *, max_tokens: int, schema: Schema | None = None
    ) -> ChatResult:
        """``schema``: the JSON the answer must be (name, JSON schema); the whole notes if None."""
        started = time.monotonic()
        try:
            async for attempt in AsyncRetrying(
                retry=retry_if_exception(_retryable),
                stop=stop_after_attempt(self.settings.retries + 1),
                wait=wait_exponential(multiplier=1.0, max=20.0) + wait_random(0, 1.0),
                reraise=True,
            ):
                with attempt:
                    number = attempt.retry_state.attempt_number
                    if number > 1:
                        log.info("LLM call: attempt %d", number)
                    with metrics.llm_latency.time():
                        data, used = await self._post(messages, max_tokens, schema or NOTES)
        except httpx.HTTPStatusError as exc:
            raise LLMError(f"LLM answered HTTP {exc.response.status_code}") from None
        except httpx.TransportError as exc:
            raise LLMError(f"LLM unreachable: {type(exc).__name__}") from None
        try:
            choice = data["choices"][0]
            text = choice["message"]["content"] or ""
        except (KeyError, IndexError, TypeError):
            raise LLMError("LLM answer has no choices[0].message.content") from None
        usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
        finish = choice.get("finish_reason") if isinstance(choice, dict) else ""
        return ChatResult(
            text=str(text),
            prompt_tokens=_int_or_none(usage.get("prompt_tokens")),
            completion_tokens=_int_or_none(usage.get("completion_tokens")),
            seconds=time.monotonic() - started,
            response_format=used,
            finish_reason=finish if isinstance(finish, str) else "",
        )

    async def _post(
        self, messages: list[dict[str, str]], max_tokens: int, schema: Schema
    ) -> tuple[dict[str, Any], str]:
        """The answer and the response_format the server accepted for it."""
        body: dict[str, Any] = {
            "messages": messages,
            "max_tokens": max_tokens,
            "temperature": self.settings.temperature,
            "stream": False,
        }
        if self.settings.model:
            body["model"] = self.settings.model
        url = f"{self.settings.base_url}/chat/completions"
        while True:
            response_format = _response_format(self._formats[0], schema)
            if response_format is not None:
                body["response_format"] = response_format
            else:
                body.pop("response_format", None)
            used = self._formats[0]
            response = await self._client.post(url, json=body)
            if (
                response.status_code in {400, 422}
                and len(self._formats) > 1
                and not _context_error(response)
            ):
                # Servers differ in what response_format they accept; the prompts ask for JSON
                # anyway, so step down to a simpler form rather than fail. The client remembers
                # it: later calls of this meeting start at the accepted form.
                log.warning("LLM rejected response_format=%s; trying %s", self._formats[0], self._formats[1])
                if self._formats[0] == used:
                    self._formats = self._formats[1:]
                continue
            break
        response.raise_for_status()
        try:
            data = response.json()
        except ValueError:
            raise LLMError("LLM answer is not JSON") from None
        if not isinstance(data, dict):
            raise LLMError("LLM answer is not a JSON object")
        return data, used


def format_chain(preferred: str) -> list[str]:
    """The forms to try, best first. ``auto``: OpenAI's json_schema (vLLM, llama.cpp, recent
    Ollama), then llama.cpp's json_object + schema, then plain json_object, then nothing (the
    prompt still asks for JSON, and parsing is tolerant)."""
    chain = ["json_schema", "json_object_schema", "json_object", "none"]
    if preferred == "auto":
        return chain
    return chain[chain.index(preferred) :] if preferred in chain else ["none"]


def _context_error(response: httpx.Response) -> bool:
    """A 400 for a prompt too long is not about response_format: stepping down would not help."""
    text = response.text[:2000].lower()
    return "context" in text and ("exceed" in text or "too long" in text or "maximum" in text)


def _response_format(kind: str, schema: Schema) -> dict[str, Any] | None:
    """The request's ``response_format``: OpenAI's json_schema, llama.cpp's json_object + schema
    (grammar-constrained, what makes small local models usable), plain json_object, or none."""
    name, body = schema
    if kind == "json_schema":
        return {"type": "json_schema", "json_schema": {"name": name, "schema": body, "strict": True}}
    if kind == "json_object_schema":
        return {"type": "json_object", "schema": body}
    if kind == "json_object":
        return {"type": "json_object"}
    return None


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
