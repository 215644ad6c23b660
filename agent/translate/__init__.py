"""Live caption translation: listeners' languages in, translated finals out (see README).

Names load on first use (PEP 562): the worker's config check reads ``TranslateSettings``
without loading the LiveKit SDK.
"""

from __future__ import annotations

from agent.lazy import lazy_names

_WHERE = {
    "ATTR_CAPTION_LANGUAGE": "requests",
    "LanguageRequests": "requests",
    "LLMTranslator": "llm",
    "LocalTranslator": "local",
    "TranslateSettings": "settings",
    "Translation": "service",
    "TranslationService": "service",
    "Translator": "service",
}

__all__, __getattr__ = lazy_names(__name__, _WHERE)
