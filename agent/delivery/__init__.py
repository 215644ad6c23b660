"""Getting the minutes out: files in DATA_DIR, e-mail over SMTP, a signed webhook, via an outbox.

Each channel renders the minutes it is given (``agent.minutes``); deciding what to send when is
``agent.meeting``'s job.
"""

from agent.delivery.files import load_minutes, minutes_dir, write_minutes_files
from agent.delivery.mail import EmailError, build_email, send_email
from agent.delivery.outbox import Delivery, Outbox
from agent.delivery.webhook import WebhookError, send_webhook, sign, verify

__all__ = [
    "Delivery",
    "EmailError",
    "Outbox",
    "WebhookError",
    "build_email",
    "load_minutes",
    "minutes_dir",
    "send_email",
    "send_webhook",
    "sign",
    "verify",
    "write_minutes_files",
]
