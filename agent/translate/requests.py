"""Which caption languages the room's listeners asked for.

A listener asks with an attribute on themselves (``greffier.caption_language``, or
``captions_language`` as in LiveKit's live-translated-captioning example) or with the RPC
``greffier.captions.language`` ({"language": "fr"}; "" or "original" for none). The RPC's choice
wins over the attribute until the listener sets the attribute again; a listener who leaves stops
asking. Only languages the operator allows (``TRANSLATE_LANGUAGES``) count.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

ATTR_CAPTION_LANGUAGE = "greffier.caption_language"
ATTR_CAPTION_LANGUAGE_LK = "captions_language"
NONE_VALUES = {"", "original", "none", "off"}


def normalize(value: str | None) -> str | None:
    """``fr-FR`` → ``fr``; None for "none" and for anything that is not a language code."""
    if value is None:
        return None
    code = value.strip().lower().replace("_", "-").split("-", 1)[0]
    if code in NONE_VALUES or not (2 <= len(code) <= 3 and code.isascii() and code.isalpha()):
        return None
    return code


class LanguageRequests:
    def __init__(self, allowed: tuple[str, ...]) -> None:
        self.allowed = allowed
        self._by_rpc: dict[str, str | None] = {}
        self._by_attr: dict[str, str | None] = {}

    def from_attributes(self, identity: str, attributes: Mapping[str, str]) -> None:
        if ATTR_CAPTION_LANGUAGE in attributes or ATTR_CAPTION_LANGUAGE_LK in attributes:
            raw = attributes.get(ATTR_CAPTION_LANGUAGE, attributes.get(ATTR_CAPTION_LANGUAGE_LK))
            self._by_attr[identity] = self._allowed(normalize(raw))
            self._by_rpc.pop(identity, None)  # the newest choice wins

    def from_rpc(self, identity: str, value: str) -> str | None:
        """The language now served to ``identity`` (None: the original); ValueError if refused."""
        code = normalize(value)
        if code is None and value.strip().lower() not in NONE_VALUES:
            raise ValueError("expected a language code such as fr or en, or \"original\"")
        if code is not None and code not in self.allowed:
            raise ValueError(f"language {code!r} is not offered here: one of {', '.join(self.allowed)}")
        self._by_rpc[identity] = code
        return code

    def forget(self, identity: str) -> None:
        self._by_rpc.pop(identity, None)
        self._by_attr.pop(identity, None)

    def of(self, identity: str) -> str | None:
        if identity in self._by_rpc:
            return self._by_rpc[identity]
        return self._by_attr.get(identity)

    def targets(self) -> list[str]:
        """Requested languages, most requested first (ties by name: a stable order)."""
        counts = Counter(v for v in (self.of(i) for i in {*self._by_rpc, *self._by_attr}) if v)
        return [lang for lang, _n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]

    def _allowed(self, code: str | None) -> str | None:
        return code if code is not None and code in self.allowed else None
