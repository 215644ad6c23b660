"""Local streaming Whisper as a livekit-agents STT plugin.

Why: livekit-agents has no local streaming Whisper. Its ``StreamAdapter`` wraps a batch STT behind a
VAD and yields one final per utterance, so a voice agent sees no words until the speaker stops.
``WhisperSTT`` puts greffier's streaming engine (Silero VAD + faster-whisper + LocalAgreement-2,
one model shared by every stream of the process) behind ``livekit.agents.stt.STT``: interim
transcripts while the user speaks, a final at the end of each utterance, word timings, no cloud.

How to use it in a voice agent::

    from livekit.agents import AgentSession
    from agent.asr.livekit_stt import WhisperSTT

    session = AgentSession(stt=WhisperSTT(), llm=..., tts=..., vad=...)

``WhisperSTT()`` uses the process-wide engine (``agent.asr.shared.get_engine()``, configured by
``WHISPER_MODEL``, ``WHISPER_LANGUAGE``... ); ``WhisperSTT(settings=AsrSettings(model="tiny.en"))``
loads a private engine; ``WhisperSTT(engine=...)`` shares one you already have. The model is
loaded on first use or by ``prewarm()`` (which ``AgentSession`` calls when it starts), in a thread,
never on the event loop.

Events of ``stream()``: ``START_OF_SPEECH`` before the first interim (or final) of an utterance,
``INTERIM_TRANSCRIPT`` for each change of the utterance's text so far, then ``FINAL_TRANSCRIPT``,
``RECOGNITION_USAGE`` and ``END_OF_SPEECH``. The engine's own VAD ends an utterance after
``VAD_MIN_SILENCE_MS`` of silence; a long monologue without a pause is also closed at a sentence end
once its buffer passes ``ASR_TRIM_SECONDS``. ``flush()`` (and ``end_input()``) finalise the
utterance in progress. Times are seconds since the start of the stream's input.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import weakref

import numpy as np
from livekit import rtc
from livekit.agents import stt, utils
from livekit.agents.language import LanguageCode
from livekit.agents.types import (
    DEFAULT_API_CONNECT_OPTIONS,
    NOT_GIVEN,
    APIConnectOptions,
    NotGivenOr,
    TimedString,
)
from livekit.agents.utils import AudioBuffer

from agent.asr import redecode
from agent.asr.agreement import join_words, strip_repetitions
from agent.asr.contracts import DecodeJob, to_float32
from agent.asr.engine import RecognizerStream, SpeechEngine
from agent.asr.events import TranscriptEvent, Word
from agent.asr.language import LanguageVote
from agent.asr.settings import AsrSettings, parse_language
from agent.asr.shared import get_engine
from agent.asr.vad import VadStream
from agent.timebase import SAMPLE_RATE

MAX_PIECE_SECONDS = 28.0  # recognize(): one Whisper window per decode
PROMPT_CHARS = 200

__all__ = ["WhisperRecognizeStream", "WhisperSTT"]


def _engine_language(language: str | None) -> str | None:
    """A LiveKit language ("en-US", "fr", "multi") as the engine wants it: a Whisper code or None."""
    if not language or language in {"auto", "multi"}:
        return None
    return parse_language(LanguageCode(language).language, "language")


class _To16kMono:
    """rtc.AudioFrames at any rate / channel count → 16 kHz mono int16 (livekit's sox resampler)."""

    def __init__(self) -> None:
        self._resampler: rtc.AudioResampler | None = None
        self._format: tuple[int, int] | None = None

    def push(self, frame: rtc.AudioFrame) -> np.ndarray:
        fmt = (frame.sample_rate, frame.num_channels)
        if fmt != self._format:
            self._format = fmt
            self._resampler = None
            if frame.sample_rate != SAMPLE_RATE:
                self._resampler = rtc.AudioResampler(
                    frame.sample_rate,
                    SAMPLE_RATE,
                    num_channels=frame.num_channels,
                    quality=rtc.AudioResamplerQuality.HIGH,
                )
        frames = self._resampler.push(frame) if self._resampler else [frame]
        return self._mono(frames)

    def flush(self) -> np.ndarray:
        return self._mono(self._resampler.flush() if self._resampler else [])

    @staticmethod
    def _mono(frames: list[rtc.AudioFrame]) -> np.ndarray:
        parts = [np.frombuffer(f.data, dtype=np.int16).reshape(-1, f.num_channels) for f in frames]
        if not parts:
            return np.zeros(0, dtype=np.int16)
        pcm = np.concatenate(parts)
        if pcm.shape[1] == 1:
            return pcm.reshape(-1)
        return pcm.astype(np.float32).mean(axis=1) / 32768.0  # downmix


def _speech_data(
    text: str, language: str, words: list[Word] | tuple[Word, ...], offset: float, confidence: float
) -> stt.SpeechData:
    return stt.SpeechData(
        language=language,
        text=text,
        start_time=(words[0].start + offset) if words else 0.0,
        end_time=(words[-1].end + offset) if words else 0.0,
        confidence=confidence,
        words=[
            TimedString(
                w.text.strip(),
                start_time=w.start + offset,
                end_time=w.end + offset,
                confidence=w.probability,
                start_time_offset=offset,
            )
            for w in words
        ],
    )


class WhisperSTT(stt.STT):
    """livekit-agents STT on greffier's local streaming Whisper engine.

    ``settings``: load a private ``SpeechEngine`` with these settings (closed by ``aclose()``).
    ``engine``: use this engine. Neither: the process-wide ``get_engine()``.
    ``language``: a code ("en", "fr-FR") forces that language; not given, None, "auto" or "multi":
    the engine's ``WHISPER_LANGUAGE`` (detection with a per-stream vote when that is ``auto``).
    ``stream(language=...)`` and ``recognize(language=...)`` override it per call.
    """

    def __init__(
        self,
        *,
        settings: AsrSettings | None = None,
        engine: SpeechEngine | None = None,
        language: NotGivenOr[str | None] = NOT_GIVEN,
    ) -> None:
        super().__init__(
            capabilities=stt.STTCapabilities(
                streaming=True,
                interim_results=True,
                aligned_transcript="word",
                offline_recognize=True,
            )
        )
        if settings is not None and engine is not None:
            raise ValueError("give settings or engine, not both")
        self._settings = engine.settings if engine is not None else settings
        self._engine = engine
        self._owns_engine = settings is not None
        self._load_lock = threading.Lock()
        self._language: NotGivenOr[str | None] = (
            _engine_language(language) if utils.is_given(language) else NOT_GIVEN
        )
        self._streams: weakref.WeakSet[WhisperRecognizeStream] = weakref.WeakSet()

    @property
    def model(self) -> str:
        return self._settings.model if self._settings else "whisper"

    @property
    def provider(self) -> str:
        return "faster-whisper"

    @property
    def engine(self) -> SpeechEngine:
        """The engine, loaded on first access (blocking: from the event loop use ``load_engine``)."""
        with self._load_lock:
            if self._engine is None:
                if self._settings is not None:
                    self._engine = SpeechEngine(self._settings)
                else:
                    self._engine = get_engine()
                self._settings = self._engine.settings
            return self._engine

    async def load_engine(self) -> SpeechEngine:
        if self._engine is not None:
            return self._engine
        return await asyncio.to_thread(lambda: self.engine)

    def prewarm(self) -> None:
        """Load the model in the background (AgentSession calls this when it starts)."""
        if self._engine is None:
            threading.Thread(target=lambda: self.engine, name="whisper-stt-prewarm", daemon=True).start()

    def _resolve_language(self, language: NotGivenOr[str | None]) -> str | None:
        if utils.is_given(language):
            return _engine_language(language)
        if utils.is_given(self._language):
            return self._language
        return None  # the engine's WHISPER_LANGUAGE applies

    def stream(
        self,
        *,
        language: NotGivenOr[str | None] = NOT_GIVEN,
        conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS,
    ) -> WhisperRecognizeStream:
        stream = WhisperRecognizeStream(
            stt=self, language=self._resolve_language(language), conn_options=conn_options
        )
        self._streams.add(stream)
        return stream

    async def _recognize_impl(
        self,
        buffer: AudioBuffer,
        *,
        language: NotGivenOr[str | None] = NOT_GIVEN,
        conn_options: APIConnectOptions,
    ) -> stt.SpeechEvent:
        """A whole buffer, decoded directly (no agreement policy).

        The streaming policy re-decodes the growing buffer every chunk to show early words; on a
        buffer that is already complete that is wasted work with no accuracy gain, since its final
        is one decode of the utterance anyway. So: Silero VAD finds the speech (silence is never
        decoded, nothing is hallucinated on it), regions are grouped into pieces of at most one
        Whisper window, and each piece is decoded once on the engine's scheduler thread (at final
        priority, fairly with live streams), with the recognizer's hallucination guards.
        """
        engine = await self.load_engine()
        frames = buffer if isinstance(buffer, list) else [buffer]
        converter = _To16kMono()
        parts = [converter.push(f) for f in frames] + [converter.flush()]
        audio = np.concatenate([to_float32(p) for p in parts])
        pieces = await asyncio.to_thread(_speech_pieces, engine, audio)
        fixed = self._resolve_language(language) or engine.settings.language
        votes = LanguageVote(fixed, engine.settings.languages)
        words: list[Word] = []
        for start, end in pieces:
            job = DecodeJob(
                kind="final",
                audio=audio[start:end],
                start_sample=start,
                end_sample=end,
                prompt=join_words(words)[-PROMPT_CHARS:],  # condition on the text so far
                language=votes.for_decode(final=True, seconds=(end - start) / SAMPLE_RATE),
            )
            hyp = await engine.scheduler.run(
                lambda job=job: redecode.decode_job(engine.decoder, job, votes), final=True
            )
            votes.add(hyp.language_probs, (end - start) / SAMPLE_RATE)
            if (hyp.no_speech_prob > 0.6 and hyp.avg_logprob < -1.0) or hyp.avg_logprob < -1.5:
                continue  # the recognizer's guard: silence or noise, not speech
            offset = start / SAMPLE_RATE
            words += strip_repetitions(
                [Word(w.text, w.start + offset, w.end + offset, w.probability) for w in hyp.words]
            )
        confidence = float(np.mean([w.probability for w in words])) if words else 0.0
        lang = votes.current or ""
        return stt.SpeechEvent(
            type=stt.SpeechEventType.FINAL_TRANSCRIPT,
            request_id=utils.shortuuid("whisper-"),
            alternatives=[_speech_data(join_words(words), lang, words, 0.0, confidence)],
        )

    async def aclose(self) -> None:
        for stream in list(self._streams):
            await stream.aclose()
        if self._owns_engine and self._engine is not None:
            await asyncio.to_thread(self._engine.close)


def _speech_pieces(engine: SpeechEngine, audio: np.ndarray) -> list[tuple[int, int]]:
    """Speech regions of ``audio`` (samples), grouped into pieces of at most ``MAX_PIECE_SECONDS``."""
    settings = engine.settings
    vad = VadStream(
        engine.vad_model, threshold=settings.vad_threshold, min_silence_ms=settings.vad_min_silence_ms
    )
    regions: list[tuple[int, int]] = []
    start = None
    for ev in [*vad.process(audio), *vad.flush()]:
        if ev.kind == "start":
            start = ev.sample
        elif start is not None:
            regions.append((start, min(ev.sample, len(audio))))
            start = None
    limit = int(MAX_PIECE_SECONDS * SAMPLE_RATE)
    pieces: list[tuple[int, int]] = []
    for s, e in regions:
        while e - s > limit:  # one region longer than a window: cut it (rare: nobody talks 28 s)
            pieces.append((s, s + limit))
            s += limit
        if pieces and e - pieces[-1][0] <= limit:
            pieces[-1] = (pieces[-1][0], e)
        else:
            pieces.append((s, e))
    return pieces


class WhisperRecognizeStream(stt.RecognizeStream):
    """One audio input (e.g. a participant's microphone) → interim and final SpeechEvents.

    Frames of any sample rate / channel count are converted to 16 kHz mono and pushed to an engine
    ``RecognizerStream``. ``flush()`` ends that recognizer stream (its last utterance is finalised)
    and the next audio starts a fresh one on the same time line.
    """

    def __init__(self, *, stt: WhisperSTT, language: str | None, conn_options: APIConnectOptions) -> None:
        super().__init__(stt=stt, conn_options=conn_options)  # no sample_rate: we resample here
        self._whisper = stt
        self._language = language
        self._id = utils.shortuuid("whisper-")
        self._unreported = 0  # samples not yet in a RECOGNITION_USAGE event

    async def _run(self) -> None:
        engine = await self._whisper.load_engine()
        converter = _To16kMono()
        fed = 0  # 16 kHz samples given to earlier recognizer streams of this input
        index = 0
        input_open = True
        while input_open:
            rec = engine.create_stream(stream_id=f"{self._id}-{index}", language=self._language)
            forward = asyncio.create_task(self._forward(rec, fed / SAMPLE_RATE))
            pushed = 0
            try:
                input_open = False
                async for item in self._input_ch:
                    flushing = isinstance(item, self._FlushSentinel)
                    pcm = converter.flush() if flushing else converter.push(item)
                    if pcm.size:
                        rec.push(pcm)
                        pushed += pcm.size
                        self._unreported += pcm.size
                    if flushing:
                        input_open = True
                        break
                await rec.end()
                await forward
            finally:
                await rec.aclose()
                if not forward.done():
                    forward.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await forward
            fed += pushed
            index += 1
            if input_open and self._input_ch.closed and self._input_ch.empty():
                break  # end_input(): its flush was the last item
        if self._unreported:
            self._report_usage("")

    async def _forward(self, rec: RecognizerStream, offset: float) -> None:
        in_speech = False
        async for ev in rec:
            if not in_speech:
                in_speech = True
                self._send(stt.SpeechEventType.START_OF_SPEECH, ev.segment_id)
            data = self._data(ev, offset)
            if ev.kind == "interim":
                self._send(stt.SpeechEventType.INTERIM_TRANSCRIPT, ev.segment_id, data)
                continue
            self._send(stt.SpeechEventType.FINAL_TRANSCRIPT, ev.segment_id, data)
            self._report_usage(ev.segment_id)
            self._send(stt.SpeechEventType.END_OF_SPEECH, ev.segment_id)
            in_speech = False
        if in_speech:  # interims whose final decode found nothing to commit
            self._send(stt.SpeechEventType.END_OF_SPEECH, "")

    def _report_usage(self, request_id: str) -> None:
        if not self._unreported:
            return
        usage = stt.RecognitionUsage(audio_duration=self._unreported / SAMPLE_RATE)
        self._unreported = 0
        self._event_ch.send_nowait(
            stt.SpeechEvent(
                type=stt.SpeechEventType.RECOGNITION_USAGE, request_id=request_id, recognition_usage=usage
            )
        )

    def _data(self, ev: TranscriptEvent, offset: float) -> stt.SpeechData:
        language = ev.language or self._language or ""
        return _speech_data(ev.text, language, ev.words, offset + self.start_time_offset, ev.confidence)

    def _send(self, kind: stt.SpeechEventType, request_id: str, data: stt.SpeechData | None = None) -> None:
        self._event_ch.send_nowait(
            stt.SpeechEvent(type=kind, request_id=request_id, alternatives=[data] if data else [])
        )
