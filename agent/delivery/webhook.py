"""The minutes by webhook: a JSON POST signed with HMAC-SHA256.

Headers sent with every request:
- ``X-Greffier-Signature: sha256=<hex>`` — HMAC-SHA256 of the exact request body bytes, keyed with
  ``MINUTES_WEBHOOK_SECRET``. Receivers recompute it over the raw body and compare in constant time.
- ``X-Greffier-Timestamp: <unix seconds>`` — when this attempt was signed; the body's ``sent_at``
  holds the same value, so it is covered by the signature (reject old ones to stop replays).
- ``X-Greffier-Delivery: <id>`` — stable across retries of one delivery: use it to drop duplicates.
- ``X-Greffier-Event: minutes.ready``.

Transient failures (connection errors, timeouts, 408/429/5xx) are retried a few times here with
exponential backoff (tenacity); whatever still fails goes back to the outbox for a later retry.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

import httpx
from tenacity import (
    AsyncRetrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
    wait_random,
)

from agent.minutes.model import Minutes
from agent.minutes.render import minutes_markdown, transcript_markdown, transcript_webvtt
from agent.minutes.settings import WebhookSettings

SIGNATURE_HEADER = "X-Greffier-Signature"
TIMESTAMP_HEADER = "X-Greffier-Timestamp"
DELIVERY_HEADER = "X-Greffier-Delivery"
EVENT_HEADER = "X-Greffier-Event"
EVENT = "minutes.ready"


class WebhookError(RuntimeError):
    """The webhook did not accept the minutes; the message holds the status or error type only."""


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, signature: str) -> bool:
    """For receivers (and tests): constant-time check of ``X-Greffier-Signature``."""
    return hmac.compare_digest(sign(secret, body), signature)


def build_payload(minutes: Minutes, delivery_id: str, sent_at: int) -> dict[str, Any]:
    return {
        "event": EVENT,
        "delivery_id": delivery_id,
        "sent_at": sent_at,
        "minutes": minutes.to_dict(),
        "markdown": minutes_markdown(minutes, include_transcript=False),
        "transcript": {
            "markdown": transcript_markdown(minutes),
            "webvtt": transcript_webvtt(minutes),
        },
    }


def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, httpx.TransportError):
        return True
    if isinstance(exc, httpx.HTTPStatusError):
        return exc.response.status_code in {408, 425, 429} or exc.response.status_code >= 500
    return False


async def send_webhook(
    settings: WebhookSettings,
    minutes: Minutes,
    delivery_id: str,
    *,
    attempts: int = 3,
    initial_wait_s: float = 0.5,
) -> int:
    """POST the minutes; returns the HTTP status. Raises WebhookError when it did not succeed."""
    async with httpx.AsyncClient(timeout=settings.timeout_s, follow_redirects=False) as client:
        try:
            async for attempt in AsyncRetrying(
                retry=retry_if_exception(_retryable),
                stop=stop_after_attempt(attempts),
                wait=wait_exponential(multiplier=initial_wait_s, max=10.0) + wait_random(0, initial_wait_s),
                reraise=True,
            ):
                with attempt:
                    sent_at = int(time.time())
                    body = json.dumps(
                        build_payload(minutes, delivery_id, sent_at),
                        ensure_ascii=False,
                        separators=(",", ":"),
                    ).encode("utf-8")
                    response = await client.post(
                        settings.url,
                        content=body,
                        headers={
                            "Content-Type": "application/json; charset=utf-8",
                            SIGNATURE_HEADER: sign(settings.secret, body),
                            TIMESTAMP_HEADER: str(sent_at),
                            DELIVERY_HEADER: delivery_id,
                            EVENT_HEADER: EVENT,
                            "User-Agent": "greffier-minutes/1",
                        },
                    )
                    response.raise_for_status()
                    return response.status_code
        except httpx.HTTPStatusError as exc:
            raise WebhookError(f"HTTP {exc.response.status_code}") from None
        except httpx.TransportError as exc:
            raise WebhookError(type(exc).__name__) from None
    raise WebhookError("no attempt made")  # pragma: no cover
