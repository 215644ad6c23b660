"""A room's translations: finals in, one translation per requested language out, never in the
way of the original captions.

- Its own queue and ``max_in_flight`` workers: the original final is published before it is
  submitted here, and a slow or dead LLM only delays translations.
- Bounded: beyond ``max_queued`` waiting jobs the oldest is skipped (a late translation of an old
  sentence helps nobody); over half full, only the most requested language is translated.
  Both are counted in ``greffier_translations_skipped_total``.
- Catching up: when translations fall behind, a worker takes up to ``catch_up`` waiting finals
  of one speaker, one language pair, and translates them in one call (one prompt's overhead
  instead of several: on a shared CPU that overhead is what let the queue grow); the
  translation is published once, under the first final's id, and names every final it covers.
- Each segment once per language, never into the language it was spoken in.
- Routed per pair: into English, the pairs ``TRANSLATE_WHISPER_FROM`` names go to ``whisper``
  (the speech model's translate task on the caption's own audio), the rest to ``translator``.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from agent import metrics
from agent.logs import get_logger
from agent.minutes.llm import LLMError
from agent.translate.settings import TranslateSettings

logger = get_logger(__name__)

MAX_JOINED_CHARS = 800  # finals translated in one call when catching up, at most this long


class Final(Protocol):
    """What is translated: a final caption (``agent.room.captions.Caption``)."""

    @property
    def text(self) -> str: ...

    @property
    def language(self) -> str: ...


class Translator(Protocol):
    async def translate(
        self, text: str, source: str, target: str, context: Sequence[tuple[str, str]] = ()
    ) -> str: ...

    async def aclose(self) -> None: ...


@dataclass(frozen=True)
class Translation:
    original: Any  # the Final submitted, as given (the first one when several are covered)
    language: str
    text: str
    seconds: float  # from submission to the answer
    submitted_at: float  # time.monotonic()
    covers: tuple[Any, ...] = ()  # every Final translated together, in order (empty: ``original``)


@dataclass
class _Job:
    caption: Final
    target: str
    submitted: float


class TranslationService:
    def __init__(
        self,
        translator: Translator | None,
        settings: TranslateSettings,
        publish: Callable[[Translation], None],
        *,
        whisper: Callable[[Any], Awaitable[str]] | None = None,
    ) -> None:
        if translator is None and whisper is None:
            raise ValueError("a translation service needs a translator or Whisper")
        self.translator = translator
        self._whisper = whisper
        self.settings = settings
        self._publish = publish
        self._queue: deque[_Job] = deque()
        self._ready = asyncio.Event()
        # Per target language: the latest (caption, translation) pairs, the next ones' context.
        self._context: dict[str, deque[tuple[str, str]]] = {}
        self._closed = False
        self._failures = 0
        self._workers = [
            asyncio.create_task(self._work(), name=f"translator-{i}") for i in range(settings.max_in_flight)
        ]
        self.done = 0
        self.skipped = 0

    def submit(self, caption: Final, targets: Sequence[str]) -> None:
        """``targets`` most requested first; the caption's own language is left out."""
        wanted = [t for t in targets if t and t != caption.language][: self.settings.max_languages]
        if not wanted or self._closed:
            return
        if len(self._queue) >= self.settings.max_queued // 2 and len(wanted) > 1:
            self._skip("load", len(wanted) - 1)
            wanted = wanted[:1]
        now = time.monotonic()
        for target in wanted:
            if len(self._queue) >= self.settings.max_queued:
                self._queue.popleft()
                self._skip("queue_full", 1)
            self._queue.append(_Job(caption, target, now))
        self._ready.set()

    def _skip(self, reason: str, n: int) -> None:
        self.skipped += n
        metrics.translations_skipped.labels(reason).inc(n)

    async def _work(self) -> None:
        while True:
            while not self._queue:
                if self._closed:
                    return
                self._ready.clear()
                await self._ready.wait()
            job = self._queue.popleft()
            jobs = [job, *self._catch_up(job)]
            c = job.caption
            source = " ".join(j.caption.text for j in jobs) if len(jobs) > 1 else c.text
            context = tuple(self._context.get(job.target, ()))  # the latest done when this starts
            try:
                text = await self._translate(c, job.target, context, source)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the endpoint's failure never reaches the room
                metrics.translations.labels("failed").inc()
                self._failures += 1
                if self._failures in (1, 10, 100) or self._failures % 1000 == 0:
                    safe = isinstance(exc, (LLMError, LookupError))  # their messages hold no speech
                    why = str(exc) if safe else type(exc).__name__
                    logger.warning(
                        "translation into %s failed (%d so far): %s", job.target, self._failures, why
                    )
                continue
            if not text:
                metrics.translations.labels("failed").inc()
                continue
            self.done += len(jobs)
            metrics.translations.labels("published").inc(len(jobs))
            if len(jobs) > 1:
                metrics.translations_merged.inc(len(jobs))
            if self.settings.context_sentences:
                size = self.settings.context_sentences
                self._context.setdefault(job.target, deque(maxlen=size)).append((source, text))
            now = time.monotonic()
            covers = tuple(j.caption for j in jobs) if len(jobs) > 1 else ()
            self._publish(Translation(c, job.target, text, now - job.submitted, job.submitted, covers))

    def _catch_up(self, first: _Job) -> list[_Job]:
        """Waiting jobs to translate with ``first``: the next ones into its language while they
        follow on from the same speaker in the same language (order within a language kept)."""
        limit = self.settings.catch_up - 1
        if limit <= 0 or not self._queue or self._by_whisper(first):
            return []
        speaker = getattr(first.caption, "speaker_identity", None)
        taken: list[_Job] = []
        chars = len(first.caption.text)
        for queued in list(self._queue):
            if len(taken) >= limit:
                break
            if queued.target != first.target:
                continue
            c = queued.caption
            if c.language != first.caption.language or getattr(c, "speaker_identity", None) != speaker:
                break  # someone else spoke next: their final starts the next call
            chars += 1 + len(c.text)
            if chars > MAX_JOINED_CHARS:
                break  # the answer's token budget follows the text: keep calls a few sentences long
            taken.append(queued)
        for queued in taken:
            self._queue.remove(queued)
        return taken

    def _by_whisper(self, job: _Job) -> bool:
        return self._whisper is not None and self.settings.by_whisper(job.caption.language, job.target)

    async def _translate(
        self, c: Final, target: str, context: Sequence[tuple[str, str]], text: str
    ) -> str:
        if self._whisper is not None and self.settings.by_whisper(c.language, target):
            return await self._whisper(c)
        if self.translator is None:
            raise LookupError(f"no translator for {c.language} into {target}")
        return await self.translator.translate(text, c.language, target, context)

    async def aclose(self, timeout: float = 10.0) -> None:
        """Finish what is queued (within ``timeout``), then stop."""
        self._closed = True
        self._ready.set()
        _done, pending = await asyncio.wait(self._workers, timeout=timeout)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        if self.translator is not None:
            await self.translator.aclose()
