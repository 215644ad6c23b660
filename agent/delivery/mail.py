"""The minutes by e-mail: multipart text + HTML, transcript attached (Markdown and WebVTT).

Recipients only ever come from the room metadata (validated in ``agent.transcript.metadata``),
never from participant names, attributes or speech. Every header value is collapsed to one line
before it is set, so a participant named "x\\r\\nBcc: victim@example.org" cannot add a header; the
``email`` package's SMTP policy then encodes non-ASCII text per RFC 2047.

``smtplib`` is blocking, so sending runs in a thread.
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime, formataddr

from agent.logs import get_logger
from agent.minutes.i18n import labels
from agent.minutes.model import Minutes
from agent.minutes.render import minutes_html, minutes_text, transcript_markdown, transcript_webvtt
from agent.minutes.settings import SMTPSettings
from agent.transcript.metadata import clean_one_line, is_valid_email

log = get_logger(__name__)

SENDER_NAME = "Greffier"
MAX_SUBJECT_CHARS = 180


class EmailError(RuntimeError):
    """Sending failed; the message names the error type, never addresses or content."""


def subject_for(minutes: Minutes) -> str:
    t = labels(minutes.language)
    return clean_one_line(f"{t['minutes']} — {minutes.title}", MAX_SUBJECT_CHARS)


def build_email(
    minutes: Minutes, *, sender: str, recipients: tuple[str, ...], message_id: str
) -> EmailMessage:
    valid = tuple(r for r in recipients if is_valid_email(r))
    if not valid:
        raise EmailError("no valid recipient")
    if not is_valid_email(sender):
        raise EmailError("invalid sender address")
    msg = EmailMessage(policy=SMTP_POLICY)
    msg["Subject"] = subject_for(minutes)
    msg["From"] = formataddr((SENDER_NAME, sender))
    msg["To"] = ", ".join(valid)
    msg["Date"] = format_datetime(datetime.now(UTC))
    domain = sender.rsplit("@", 1)[1]
    msg["Message-ID"] = f"<{clean_one_line(message_id, 200).replace(' ', '')}@{domain}>"
    msg["Auto-Submitted"] = "auto-generated"
    msg["Content-Language"] = clean_one_line(minutes.language, 16) or "en"
    msg.set_content(minutes_text(minutes), subtype="plain", charset="utf-8")
    msg.add_alternative(minutes_html(minutes), subtype="html", charset="utf-8")
    day = datetime.fromtimestamp(minutes.started_at, UTC).strftime("%Y-%m-%d")
    # Text attachments as str with an explicit charset, or readers decode them as ASCII.
    msg.add_attachment(
        transcript_markdown(minutes), subtype="markdown", charset="utf-8", filename=f"transcript-{day}.md"
    )
    msg.add_attachment(
        transcript_webvtt(minutes), subtype="vtt", charset="utf-8", filename=f"transcript-{day}.vtt"
    )
    return msg


def _send_blocking(settings: SMTPSettings, msg: EmailMessage, recipients: list[str]) -> None:
    context = ssl.create_default_context()
    smtp_cls = smtplib.SMTP_SSL if settings.ssl else smtplib.SMTP
    kwargs = {"context": context} if settings.ssl else {}
    with smtp_cls(settings.host, settings.port, timeout=settings.timeout_s, **kwargs) as smtp:
        smtp.ehlo()
        if settings.starttls:
            smtp.starttls(context=context)
            smtp.ehlo()
        if settings.username:
            smtp.login(settings.username, settings.password)
        refused = smtp.send_message(msg, from_addr=settings.sender, to_addrs=recipients)
    if refused:
        # Accepted for some: retrying would duplicate the e-mail for the others.
        log.warning("e-mail: %d of %d recipient(s) refused by the server", len(refused), len(recipients))


async def send_email(settings: SMTPSettings, msg: EmailMessage, recipients: tuple[str, ...]) -> None:
    try:
        await asyncio.to_thread(_send_blocking, settings, msg, list(recipients))
    except smtplib.SMTPResponseException as exc:
        raise EmailError(f"SMTP {exc.smtp_code}") from None
    except smtplib.SMTPRecipientsRefused:
        raise EmailError("SMTP refused every recipient") from None
    except (smtplib.SMTPException, OSError) as exc:
        raise EmailError(f"SMTP {type(exc).__name__}") from None
