"""Deliveries of written minutes: one outbox record per channel, then each channel's attempt.

Records are created exclusively and claimed before an attempt, so two workers never send the same
e-mail twice; what fails stays pending with a backoff and is retried later, also after a restart.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from agent import metrics
from agent.delivery.files import load_minutes
from agent.delivery.mail import EmailError, build_email, send_email
from agent.delivery.outbox import Delivery, Outbox
from agent.delivery.webhook import WebhookError, send_webhook
from agent.logs import get_logger
from agent.minutes.model import Minutes
from agent.minutes.settings import MinutesSettings

log = get_logger(__name__)


def outbox_for(settings: MinutesSettings) -> Outbox:
    send_timeout = max(120.0, 4 * max(settings.smtp.timeout_s, settings.webhook.timeout_s))
    return Outbox(
        settings.data_dir,
        max_attempts=settings.outbox_max_attempts,
        backoff_s=settings.outbox_backoff_s,
        backoff_max_s=settings.outbox_backoff_max_s,
        send_timeout_s=send_timeout,
    )


def enqueue_deliveries(
    minutes: Minutes, directory: Path, settings: MinutesSettings, *, key: str = "auto"
) -> list[Delivery]:
    """Queue one delivery per configured channel; recipients come from the room metadata only."""
    outbox = outbox_for(settings)
    queued = []
    if settings.smtp.enabled and minutes.recipients:
        queued.append(
            outbox.enqueue(minutes.session_id, "email", directory, recipients=minutes.recipients, key=key)[0]
        )
    elif settings.smtp.enabled:
        log.info("minutes %s: no recipients in the room metadata; no e-mail", minutes.session_id)
    if settings.webhook.enabled:
        queued.append(outbox.enqueue(minutes.session_id, "webhook", directory, key=key)[0])
    return queued


async def process_outbox(
    settings: MinutesSettings, *, session_id: str | None = None, now: float | None = None
) -> list[Delivery]:
    """Attempt every due delivery (all sessions, or one); returns the records after the attempt."""
    outbox = outbox_for(settings)
    due = outbox.due(now, session_id)
    results = await asyncio.gather(*(_attempt(outbox, d, settings) for d in due))
    return [r for r in results if r is not None]


async def _attempt(outbox: Outbox, delivery: Delivery, settings: MinutesSettings) -> Delivery | None:
    claim = outbox.claim(delivery)
    if claim is None:
        return None  # another worker is sending it
    try:
        current = outbox.load(delivery.delivery_id)  # re-read under the claim
        if current.state != "pending":
            return current
        try:
            minutes = load_minutes(Path(current.minutes_dir))
            if current.channel == "email":
                if not settings.smtp.enabled:
                    raise EmailError("SMTP_HOST not configured")
                msg = build_email(
                    minutes,
                    sender=settings.smtp.sender,
                    recipients=current.recipients,
                    message_id=current.delivery_id,
                )
                await send_email(settings.smtp, msg, current.recipients)
            elif current.channel == "webhook":
                if not settings.webhook.enabled:
                    raise WebhookError("MINUTES_WEBHOOK_URL not configured")
                await send_webhook(settings.webhook, minutes, current.delivery_id)
            else:
                raise ValueError(f"unknown channel {current.channel!r}")
        except (EmailError, WebhookError) as exc:
            metrics.minutes_results.labels(current.channel, "failed").inc()
            return outbox.mark_failed(current, f"{type(exc).__name__}: {exc}")
        except Exception as exc:  # a delivery boundary: one bad record must not stop the others
            metrics.minutes_results.labels(current.channel, "failed").inc()
            return outbox.mark_failed(current, type(exc).__name__)
        log.info("outbox: %s delivered", current.delivery_id)
        metrics.minutes_results.labels(current.channel, "delivered").inc()
        return outbox.mark_done(current)
    finally:
        claim.release()
