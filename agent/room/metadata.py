"""Room metadata and participant attributes, read defensively (they are hostile input).

The application backend sets room metadata with the API secret, as JSON:
``{"greffier": {"language": "fr", "captions": true, "recipients": [...], "title": "..."}}``.
Participants set their own attributes: ``greffier.language`` (their spoken language) and
``greffier.opt_out`` ("true": never transcribed, nothing kept).
"""

from __future__ import annotations

import json
from typing import Any

from agent.asr.settings import parse_language
from agent.config import ConfigError
from agent.logs import get_logger
from agent.transcript.metadata import clean_one_line

logger = get_logger(__name__)

ATTR_LANGUAGE = "greffier.language"
ATTR_OPT_OUT = "greffier.opt_out"
ATTR_STATUS = "greffier.captions"  # set by the agent on each participant: active|paused|opted-out
MAX_METADATA = 64 * 1024


def room_config(metadata: str | None) -> dict[str, Any]:
    """The ``greffier`` object of the room metadata, or {} when absent or malformed."""
    if not metadata or len(metadata) > MAX_METADATA:
        return {}
    try:
        data = json.loads(metadata)
    except (ValueError, RecursionError):
        logger.warning("room metadata is not JSON: ignored")
        return {}
    section = data.get("greffier") if isinstance(data, dict) else None
    return section if isinstance(section, dict) else {}


def language_code(value: object) -> str | None:
    if not isinstance(value, str) or len(value) > 16:
        return None
    try:
        return parse_language(value)
    except ConfigError:
        return None


def participant_language(participant_attributes: dict[str, str], room_default: str | None) -> str | None:
    """Participant attribute first, then the room's default, else None (detect)."""
    return language_code(participant_attributes.get(ATTR_LANGUAGE)) or room_default


def opted_out(attributes: dict[str, str]) -> bool:
    value = attributes.get(ATTR_OPT_OUT, "")
    return isinstance(value, str) and value.strip().lower() in {"1", "true", "yes", "on"}


def display_name(name: str, identity: str, limit: int) -> str:
    """What captions and minutes call a participant: one line, at most ``limit`` characters.

    Names are chosen by participants (10 KB of text, CR/LF, control characters...)."""
    return clean_one_line(name, limit) or clean_one_line(identity, limit) or "?"
