"""The speech engine of a process: the model loaded once, shared by every stream.

``SpeechEngine.create_stream()`` returns a ``RecognizerStream``: push 16 kHz PCM from any
asyncio loop, iterate its events. Streams of several rooms (threads with their own loops) share
the engine safely: the only shared mutable parts are the scheduler's queue and the decoder, which
only the scheduler's thread touches.

With a batch size above 1 (``ASR_BATCH_SIZE``; ``auto``: 8 on a GPU, 4 on a CPU), streams submit their
decode jobs as items: the scheduler hands the ones queued together to ``_decode_batch``, one batched
model call for several streams. With 1 every decode is the single ``decode_job`` path, as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import AsyncIterator, Sequence

import numpy as np

from agent import metrics
from agent.asr import redecode
from agent.asr.batched import BatchDecoder
from agent.asr.contracts import DecodeJob, Hypothesis
from agent.asr.decoder import WhisperDecoder
from agent.asr.events import TranscriptEvent
from agent.asr.language import LanguageVote
from agent.asr.recent import RecentAudio
from agent.asr.recognizer import StreamingRecognizer
from agent.asr.scheduler import DecodeScheduler
from agent.asr.settings import AsrSettings
from agent.asr.vad import SileroModel
from agent.logs import get_logger
from agent.timebase import SAMPLE_RATE

logger = get_logger(__name__)

MAX_CHUNK_SECONDS = 3.0


class SpeechEngine:
    def __init__(self, settings: AsrSettings | None = None) -> None:
        self.settings = settings or AsrSettings.from_env()
        self.decoder = WhisperDecoder(self.settings)
        self.batch = BatchDecoder(self.decoder)
        self.vad_model = SileroModel()
        self.batch_size = self.settings.batch_size_for(self.decoder.device)
        workers = self.decoder.workers
        if self.batch_size > 1:
            self.scheduler = DecodeScheduler(
                batch=self._decode_batch, batch_size=self.batch_size, workers=workers
            )
            logger.info("decodes of up to %d streams are batched into one model call", self.batch_size)
        else:
            self.scheduler = DecodeScheduler(workers=workers)
        self._stats = threading.Lock()  # the workers add to the totals below
        self.active_streams: set[RecognizerStream] = set()
        self.decoded_audio_seconds = 0.0
        self.decode_seconds = 0.0

    def create_stream(
        self, *, stream_id: str, language: str | None = None, keep_seconds: float = 0.0
    ) -> RecognizerStream:
        """``keep_seconds`` > 0: the stream keeps that much recent audio so its finals can be
        translated by Whisper afterwards (``RecognizerStream.translate``)."""
        stream = RecognizerStream(self, stream_id=stream_id, language=language, keep_seconds=keep_seconds)
        self.active_streams.add(stream)
        return stream

    def load(self) -> float:
        """Utilisation of the decoder, the worker's recognition load."""
        return self.scheduler.utilisation()

    def real_time_factor(self) -> float:
        return self.decode_seconds / self.decoded_audio_seconds if self.decoded_audio_seconds else 0.0

    def _hurry(self, jobs: Sequence[DecodeJob]) -> bool:
        """Load shedding: finals are decoded greedily (beam 1) while other decodes wait behind
        them or their stream is under back-pressure. On 2 cores a beam-5 final costs about three
        greedy ones, and finals go first: with four speakers they held everyone's interims back
        for seconds. A lone speaker waits on no one, so keeps the wide beam."""
        if jobs[0].kind != "final":
            return False
        if self.scheduler.depth == 0 and not any(job.loaded for job in jobs):
            return False
        if self.decoder.beam_for("final") == self.decoder.beam_for("final", hurry=True):
            return False
        metrics.shed_finals.labels("greedy").inc(len(jobs))
        return True

    def _decode(self, job: DecodeJob, languages: LanguageVote) -> Hypothesis:
        hyp = redecode.decode_job(self.decoder, job, languages, hurry=self._hurry([job]))
        self._account([job], hyp.seconds)
        return hyp

    def _decode_batch(self, items: Sequence[tuple[DecodeJob, LanguageVote]]) -> list[Hypothesis]:
        """The scheduler's batch function. Each hypothesis carries its share of the batch's wall
        time, so their sum is the time the decoder was busy: the real-time factor stays the
        decoder's cost per second of audio, and the decode-time histogram sees one model call."""
        jobs = [job for job, _ in items]
        hyps = self.decode_batch(items, hurry=self._hurry(jobs))
        self._account(jobs, sum(h.seconds for h in hyps))
        return hyps

    def decode_batch(
        self, items: Sequence[tuple[DecodeJob, LanguageVote]], *, hurry: bool = False
    ) -> list[Hypothesis]:
        return redecode.decode_batch(self.batch, items, hurry=hurry)

    def _account(self, jobs: Sequence[DecodeJob], busy: float) -> None:
        with self._stats:
            self.decode_seconds += busy
            self.decoded_audio_seconds += sum(len(job.audio) for job in jobs) / SAMPLE_RATE
        metrics.decode_seconds.labels(jobs[0].kind).observe(busy)
        metrics.decode_batch_size.observe(len(jobs))
        metrics.real_time_factor.set(self.real_time_factor())
        metrics.queue_depth.set(self.scheduler.depth)

    def close(self) -> None:
        self.scheduler.close()


class RecognizerStream:
    """Live wrapper: audio clock = samples pushed so far; decodes through the shared scheduler."""

    def __init__(
        self, engine: SpeechEngine, *, stream_id: str, language: str | None, keep_seconds: float = 0.0
    ) -> None:
        self.engine = engine
        self.recent = RecentAudio(keep_seconds) if keep_seconds > 0 else None
        self.recognizer = StreamingRecognizer(
            engine.vad_model, engine.settings, stream_id=stream_id, language=language
        )
        self._events: asyncio.Queue[TranscriptEvent | None] = asyncio.Queue()
        self._wakeup = asyncio.Event()
        self._closing = False
        self._task = asyncio.get_running_loop().create_task(self._loop(), name=f"asr-{stream_id}")

    @property
    def language(self) -> str | None:
        return self.recognizer.language

    def push(self, pcm: np.ndarray) -> None:
        if self._closing:
            return
        self.recognizer.push(pcm)
        if self.recent is not None:
            self.recent.push(pcm)
        self._wakeup.set()

    async def translate(self, segment_id: str) -> str:
        """This stream's final ``segment_id`` in English, by Whisper's translate task, decoded
        on the shared decoder behind every caption decode. ``LookupError``: its audio is gone
        (not kept, too old) or no such final."""
        span = self.recent.span(segment_id) if self.recent is not None else None
        audio = self.recent.slice(max(0.0, span[0] - 0.3), span[1] + 0.3) if self.recent and span else None
        if span is None or audio is None:
            raise LookupError("the utterance's audio is no longer kept")
        language = span[2] or None
        decoder = self.engine.decoder
        return await self.engine.scheduler.run_background(lambda: decoder.translate(audio, language=language))

    async def end(self) -> None:
        """Finalise what is being said, deliver the last events, stop."""
        if self._closing:
            return
        self.recognizer.end_of_stream()
        self._closing = True
        self._wakeup.set()
        await asyncio.shield(self._task)

    async def aclose(self) -> None:
        self._closing = True
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self.engine.active_streams.discard(self)
        self._events.put_nowait(None)

    def __aiter__(self) -> AsyncIterator[TranscriptEvent]:
        return self._iter()

    async def _iter(self) -> AsyncIterator[TranscriptEvent]:
        while True:
            ev = await self._events.get()
            if ev is None:
                return
            yield ev

    def _now(self) -> float:
        return self.recognizer.position / SAMPLE_RATE

    async def _loop(self) -> None:
        rec = self.recognizer
        base_chunk = self.engine.settings.chunk_seconds
        try:
            while True:
                kind = rec.due()
                if kind is None:
                    if self._closing:
                        break
                    self._wakeup.clear()
                    await self._wakeup.wait()
                    continue
                job = rec.make_job()
                if job is None:
                    continue
                skipped = rec.skip_final(job)
                if skipped:
                    hyp = None
                    if skipped == "interim":
                        metrics.shed_finals.labels("interim").inc()
                else:
                    sent = time.monotonic()
                    final = job.kind == "final"
                    try:
                        if self.engine.batch_size > 1:
                            hyp = await self.engine.scheduler.run_job((job, rec.languages), final=final)
                        else:
                            hyp = await self.engine.scheduler.run(
                                lambda job=job: self.engine._decode(job, rec.languages), final=final
                            )
                    except Exception:
                        logger.exception("decode failed on stream %s", rec.stream_id)
                        hyp = None
                    # Back-pressure: decode less often when the round trip grows.
                    trip = time.monotonic() - sent
                    rec.chunk_seconds = min(MAX_CHUNK_SECONDS, max(base_chunk, 0.8 * trip))
                for ev in rec.apply(job, hyp, self._now()):
                    if ev.is_final and self.recent is not None:
                        self.recent.remember(ev.segment_id, ev.start, ev.end, ev.language)
                    self._events.put_nowait(ev)
        finally:
            self.engine.active_streams.discard(self)
            if self._closing:
                self._events.put_nowait(None)
