"""A room's live translation: who asked for which language, finals handed to the translator,
translations published to those listeners only (``agent.translate`` does the translating)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from livekit import rtc

from agent.logs import get_logger
from agent.minutes.settings import LLMSettings
from agent.room.captions import Caption, CaptionPublisher, TranslatedCaption
from agent.room.limits import shown
from agent.translate.llm import LLMTranslator
from agent.translate.local import LocalTranslator
from agent.translate.requests import LanguageRequests
from agent.translate.service import Translation, TranslationService, Translator
from agent.translate.settings import TranslateSettings

if TYPE_CHECKING:
    from agent.asr.engine import RecognizerStream

logger = get_logger(__name__)

# Audio each stream keeps when Whisper translates: a final's span plus the wait in line for it.
WHISPER_KEEP_SECONDS = 60.0


class RoomTranslation:
    def __init__(
        self,
        room: rtc.Room,
        settings: TranslateSettings,
        publisher: CaptionPublisher,
        translator: Translator | None = None,
        streams: Callable[[str], RecognizerStream | None] | None = None,
    ) -> None:
        self.room = room
        self._streams = streams
        self.settings = settings
        self.publisher = publisher
        self.requests = LanguageRequests(settings.targets)
        self.service: TranslationService | None = None
        self._local: LocalTranslator | None = None
        if settings.enabled:
            if translator is None and settings.backend == "local":
                translator = self._local = LocalTranslator(settings)
            if translator is None and settings.backend == "llm":
                translator = LLMTranslator(settings)
            whisper = self._by_whisper if settings.uses_whisper and streams is not None else None
            self.service = TranslationService(translator, settings, self._publish, whisper=whisper)

    async def endpoint(self) -> LLMSettings | None:
        """The endpoint "the meeting so far" may summarise with: the translation one (the local
        model, loaded if needed), or None when translation is off."""
        if self._local is not None:
            return await self._local.endpoint()
        return self.settings.llm if self.settings.backend == "llm" else None

    async def _by_whisper(self, caption: Caption) -> str:
        stream = self._streams(caption.track_sid) if self._streams is not None else None
        if stream is None:
            raise LookupError("the speaker's stream has ended")
        return await stream.translate(caption.segment_id)

    # -- listeners ---------------------------------------------------------------------------------
    def on_attributes(self, participant: rtc.RemoteParticipant) -> None:
        before = self.requests.of(participant.identity)
        self.requests.from_attributes(participant.identity, participant.attributes)
        self._log_change(participant.identity, before)

    def forget(self, identity: str) -> None:
        self.requests.forget(identity)

    def rpc(self, identity: str, payload: str) -> str:
        """``{"language": "fr"}`` → ``{"language", "available", "enabled"}``; ValueError if bad."""
        try:
            request = json.loads(payload or "{}")
        except ValueError:
            raise ValueError('expected {"language": "fr"}') from None
        value = request.get("language") if isinstance(request, dict) else None
        if not isinstance(value, str) or len(value) > 16:
            raise ValueError('expected {"language": "fr"}')
        before = self.requests.of(identity)
        if not self.settings.enabled:
            if value.strip().lower() not in ("", "original"):
                raise ValueError("translation is off on this server (TRANSLATE_BACKEND)")
        language = self.requests.from_rpc(identity, value)
        self._log_change(identity, before)
        return json.dumps({"language": language or "original", **self.status()})

    def status(self) -> dict[str, Any]:
        return {
            "enabled": self.settings.enabled,
            "available": list(self.settings.targets) if self.settings.enabled else [],
            "translating": self.requests.targets()[: self.settings.max_languages] if self.service else [],
        }

    def _log_change(self, identity: str, before: str | None) -> None:
        after = self.requests.of(identity)
        if after != before:
            shown_as = after or "original"
            logger.info("captions for %s in room %s: %s", shown(identity), self.room.name, shown_as)

    # -- captions ----------------------------------------------------------------------------------
    def on_final(self, caption: Caption) -> None:
        if self.service is not None:
            self.service.submit(caption, self.requests.targets())

    def _publish(self, t: Translation) -> None:
        listeners = tuple(
            i for i in self.room.remote_participants if self.requests.of(i) == t.language
        )
        if not listeners:  # the last requester may have left or switched meanwhile
            return
        original: Caption = t.original
        if t.covers:  # several finals in one translation: it spans them all
            original = replace(original, end=t.covers[-1].end)
        covers = tuple(c.segment_id for c in t.covers)
        self.publisher.publish_translation(
            TranslatedCaption(original, t.language, t.text, listeners, t.submitted_at, covers)
        )

    async def aclose(self) -> None:
        if self.service is not None:
            await self.service.aclose()
