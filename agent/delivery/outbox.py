"""A persisted outbox: one record per delivery (channel × room session) in ``DATA_DIR/outbox``.

Why: SMTP servers and webhooks fail, and workers restart. A delivery is recorded before it is
attempted; a failed attempt is rescheduled with exponential backoff and survives restarts.

Exactly-once, as far as it can go:
- records are created with an exclusive create, so a second worker (or a rebuilt minutes) cannot
  queue the same delivery twice;
- a worker sends a record only while holding its claim file (``<record>.sending``) and after
  re-reading it as still pending; two workers never send the same record at once;
- success is recorded by atomically replacing the record with state ``done``.
The remaining window — the receiver accepted but the worker died before writing ``done`` — would
resend once on recovery; e-mails carry a stable ``Message-ID`` and webhooks a stable
``X-Greffier-Delivery`` id so receivers can drop that duplicate.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from agent.logs import get_logger
from agent.transcript.claim import FileClaim
from agent.transcript.fsio import atomic_write, create_exclusive

log = get_logger(__name__)

OUTBOX_DIR = "outbox"
PENDING, DONE, FAILED = "pending", "done", "failed"
_SAFE = re.compile(r"^[A-Za-z0-9_.-]{1,160}$")


@dataclass(frozen=True)
class Delivery:
    delivery_id: str  # "<session>.<channel>.<key>": also the Message-ID / webhook delivery id
    channel: str  # "email" | "webhook"
    session_id: str
    minutes_dir: str
    recipients: tuple[str, ...] = ()
    state: str = PENDING
    attempts: int = 0
    next_attempt_at: float = 0.0
    created_at: float = field(default_factory=time.time)
    done_at: float | None = None
    last_error: str = ""  # exception type and status only, never message bodies

    def to_json(self) -> str:
        data = asdict(self)
        data["recipients"] = list(self.recipients)
        return json.dumps(data, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> Delivery:
        data: dict[str, Any] = json.loads(text)
        data["recipients"] = tuple(data.get("recipients", ()))
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


class Outbox:
    def __init__(
        self,
        data_dir: Path,
        *,
        max_attempts: int = 12,
        backoff_s: float = 30.0,
        backoff_max_s: float = 3600.0,
        send_timeout_s: float = 600.0,
    ) -> None:
        self.directory = Path(data_dir) / OUTBOX_DIR
        self.directory.mkdir(parents=True, exist_ok=True)
        self.max_attempts = max_attempts
        self.backoff_s = backoff_s
        self.backoff_max_s = backoff_max_s
        self.send_timeout_s = send_timeout_s

    def path(self, delivery_id: str) -> Path:
        if not _SAFE.match(delivery_id):
            raise ValueError("unsafe delivery id")
        return self.directory / f"{delivery_id}.json"

    def enqueue(
        self,
        session_id: str,
        channel: str,
        minutes_dir: Path,
        *,
        recipients: tuple[str, ...] = (),
        key: str = "auto",
    ) -> tuple[Delivery, bool]:
        """Queue a delivery; returns (record, created). An existing record is left untouched."""
        delivery = Delivery(
            delivery_id=f"{session_id}.{channel}.{key}",
            channel=channel,
            session_id=session_id,
            minutes_dir=str(minutes_dir),
            recipients=recipients,
        )
        path = self.path(delivery.delivery_id)
        created = create_exclusive(path, delivery.to_json())
        return (delivery if created else self.load(delivery.delivery_id)), created

    def load(self, delivery_id: str) -> Delivery:
        return Delivery.from_json(self.path(delivery_id).read_text("utf-8"))

    def all(self, session_id: str | None = None) -> list[Delivery]:
        records = []
        for path in sorted(self.directory.glob("*.json")):
            try:
                record = Delivery.from_json(path.read_text("utf-8"))
            except (OSError, ValueError, TypeError):
                log.warning("outbox: unreadable record %s", path.name)
                continue
            if session_id is None or record.session_id == session_id:
                records.append(record)
        return records

    def due(self, now: float | None = None, session_id: str | None = None) -> list[Delivery]:
        now = time.time() if now is None else now
        return [d for d in self.all(session_id) if d.state == PENDING and d.next_attempt_at <= now]

    def claim(self, delivery: Delivery) -> FileClaim | None:
        claim_path = self.path(delivery.delivery_id).with_suffix(".sending")
        return FileClaim.acquire(claim_path, stale_after=self.send_timeout_s)

    def mark_done(self, delivery: Delivery) -> Delivery:
        done = replace(
            delivery, state=DONE, attempts=delivery.attempts + 1, done_at=time.time(), last_error=""
        )
        atomic_write(self.path(delivery.delivery_id), done.to_json())
        return done

    def mark_failed(self, delivery: Delivery, error: str, now: float | None = None) -> Delivery:
        now = time.time() if now is None else now
        attempts = delivery.attempts + 1
        if attempts >= self.max_attempts:
            state, next_at = FAILED, 0.0
            log.error("outbox: %s gave up after %d attempts (%s)", delivery.delivery_id, attempts, error)
        else:
            delay = min(self.backoff_max_s, self.backoff_s * 2 ** (attempts - 1))
            state, next_at = PENDING, now + delay
            log.warning(
                "outbox: %s attempt %d failed (%s); next in %.0f s",
                delivery.delivery_id,
                attempts,
                error,
                delay,
            )
        failed = replace(
            delivery, state=state, attempts=attempts, next_attempt_at=next_at, last_error=error[:300]
        )
        atomic_write(self.path(delivery.delivery_id), failed.to_json())
        return failed
