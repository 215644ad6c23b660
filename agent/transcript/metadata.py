"""Room metadata: who receives the minutes, the title and the language.

The application backend sets the room metadata with the API secret, so it is the only source of
recipients. It is still parsed as hostile input: a backend bug or a compromised backend must not
make the agent crash, mail thousands of addresses, or write huge strings into headers. Anything
invalid is dropped and logged *without its value* (values can be personal data).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from agent.logs import get_logger

log = get_logger(__name__)

MAX_METADATA_BYTES = 64 * 1024
MAX_RECIPIENTS = 50
MAX_TITLE_CHARS = 200
MAX_EMAIL_CHARS = 254
# Deliberately strict: one local part, one domain with a dot, no spaces, quotes, angle brackets,
# commas or control characters, so an address can never smuggle a second recipient or a header.
_EMAIL_RE = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)+$"
)
_LANGUAGE_RE = re.compile(r"^[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})?$")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")


@dataclass(frozen=True)
class RoomMetadata:
    recipients: tuple[str, ...] = ()
    title: str = ""
    language: str = ""  # ISO 639-1 code ("fr", "en") or "" when the backend did not say
    rejected: tuple[str, ...] = field(default_factory=tuple)  # what was dropped, no values

    def to_dict(self) -> dict[str, Any]:
        return {"recipients": list(self.recipients), "title": self.title, "language": self.language}

    @classmethod
    def from_dict(cls, data: Any) -> RoomMetadata:
        """Re-validate on read too: the journal is a file someone could edit."""
        return parse_greffier_section(data if isinstance(data, dict) else {})


def is_valid_email(address: str) -> bool:
    return len(address) <= MAX_EMAIL_CHARS and bool(_EMAIL_RE.match(address))


def clean_one_line(value: str, limit: int) -> str:
    """Collapse control characters (CR, LF, tabs...) to spaces and clip: safe for any header."""
    return " ".join(_CONTROL_RE.sub(" ", value).split())[:limit].strip()


def parse_room_metadata(raw: str | bytes | None) -> RoomMetadata:
    """Parse LiveKit room metadata ``{"greffier": {...}}``; never raises."""
    if not raw:
        return RoomMetadata()
    if len(raw) > MAX_METADATA_BYTES:
        log.warning("room metadata ignored: larger than %d bytes", MAX_METADATA_BYTES)
        return RoomMetadata(rejected=("metadata:too-large",))
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        log.warning("room metadata ignored: not JSON")
        return RoomMetadata(rejected=("metadata:not-json",))
    if not isinstance(data, dict):
        return RoomMetadata(rejected=("metadata:not-an-object",))
    section = data.get("greffier")
    if section is None:
        return RoomMetadata()
    if not isinstance(section, dict):
        log.warning("room metadata: 'greffier' is not an object, ignored")
        return RoomMetadata(rejected=("greffier:not-an-object",))
    return parse_greffier_section(section)


def parse_greffier_section(section: dict[str, Any]) -> RoomMetadata:
    rejected: list[str] = []
    recipients: list[str] = []
    raw_recipients = section.get("recipients", [])
    if not isinstance(raw_recipients, list):
        rejected.append("recipients:not-a-list")
        raw_recipients = []
    for index, item in enumerate(raw_recipients):
        if len(recipients) >= MAX_RECIPIENTS:
            rejected.append(f"recipients:over-{MAX_RECIPIENTS}")
            break
        address = item.strip() if isinstance(item, str) else None
        if not address or len(address) > MAX_EMAIL_CHARS or not _EMAIL_RE.match(address):
            rejected.append(f"recipients[{index}]:invalid")
            continue
        if address.lower() not in {r.lower() for r in recipients}:
            recipients.append(address)

    title = section.get("title", "")
    if not isinstance(title, str):
        rejected.append("title:not-a-string")
        title = ""
    elif len(title) > MAX_TITLE_CHARS * 4:
        rejected.append("title:too-long")
        title = ""
    title = clean_one_line(title, MAX_TITLE_CHARS)

    language = section.get("language", "")
    if not isinstance(language, str) or (language and not _LANGUAGE_RE.match(language.strip())):
        rejected.append("language:invalid")
        language = ""
    language = language.strip().split("-")[0].lower()

    if rejected:
        log.warning("room metadata: dropped invalid entries: %s", ", ".join(rejected))
    return RoomMetadata(
        recipients=tuple(recipients), title=title, language=language, rejected=tuple(rejected)
    )
