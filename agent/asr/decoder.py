"""faster-whisper behind one call: decode a short buffer into timed words.

The main speed lever for streaming: Whisper pads every window to 30 s, so a 3 s buffer costs as
much to encode as 30 s. We trim the mel features to the buffer (never below
``window_min_seconds``, which keeps accuracy: very short windows make the decoder loop) before the
encoder runs; the decoder then attends to a proportionally shorter sequence too.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from faster_whisper import WhisperModel

from agent.asr.events import Word
from agent.asr.language import LanguageVote
from agent.asr.models import is_local_model, resolve_whisper_model
from agent.asr.settings import AsrSettings

if TYPE_CHECKING:
    from agent.asr.recognizer import DecodeJob

logger = logging.getLogger("greffier.asr")
# faster-whisper logs every call at INFO ("Processing audio with duration..."): too chatty live.
logging.getLogger("faster_whisper").setLevel(logging.WARNING)

SAMPLE_RATE = 16000
FRAMES_PER_SECOND = 100


@dataclass(frozen=True)
class Hypothesis:
    words: list[Word]  # times relative to the start of the decoded buffer
    language: str
    language_probability: float
    language_probs: list[tuple[str, float]] | None  # when Whisper detected the language
    no_speech_prob: float
    avg_logprob: float
    compression_ratio: float
    seconds: float  # wall time the decode took


class _WindowedWhisper(WhisperModel):
    """WhisperModel whose encoder sees only the frames of the current window."""

    _local = threading.local()

    def encode(self, features: np.ndarray):  # type: ignore[no-untyped-def]
        frames = getattr(self._local, "frames", None)
        if frames is not None and features.shape[-1] > frames:
            features = np.ascontiguousarray(features[..., :frames])
        return super().encode(features)


def _resolve_device(device: str) -> str:
    if device != "auto":
        return device
    try:
        import ctranslate2

        return "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"
    except Exception:  # pragma: no cover - depends on the machine
        return "cpu"


class WhisperDecoder:
    """One loaded model; ``decode`` is called from the scheduler's thread only."""

    def __init__(self, settings: AsrSettings) -> None:
        self.settings = settings
        resolved = resolve_whisper_model(settings.model)
        self.device = _resolve_device(settings.device)
        compute = settings.compute_type
        if compute == "default":
            compute = "int8" if self.device == "cpu" else "float16"
        self.compute_type = compute
        threads = settings.cpu_threads or min(4, os.cpu_count() or 1)
        started = time.perf_counter()
        self.model = _WindowedWhisper(
            resolved,
            device=self.device,
            compute_type=compute,
            cpu_threads=threads,
            local_files_only=is_local_model(resolved),
        )
        self.multilingual = self.model.model.is_multilingual
        logger.info(
            "speech model %s loaded on %s (%s) in %.1fs",
            settings.model,
            self.device,
            compute,
            time.perf_counter() - started,
        )

    def decode(
        self,
        audio: np.ndarray,
        *,
        language: str | None,
        prompt: str = "",
        window_min_seconds: float | None = None,
        beam_size: int | None = None,
    ) -> Hypothesis:
        settings = self.settings
        seconds = len(audio) / SAMPLE_RATE
        min_window = settings.window_min_seconds if window_min_seconds is None else window_min_seconds
        if min_window > 0:
            self.model._local.frames = int(max(min_window, seconds + 0.5) * FRAMES_PER_SECOND)
        else:
            self.model._local.frames = None
        if not self.multilingual:
            language = "en"
        started = time.perf_counter()
        initial = " ".join(p for p in (settings.initial_prompt, prompt) if p).strip() or None
        try:
            segments, info = self._transcribe(
                audio, language, initial, seconds, word_timestamps=True, beam_size=beam_size
            )
        except IndexError:
            # faster-whisper's word alignment can fail on odd windows: keep the text and spread
            # the words over their segment rather than lose the whole hypothesis.
            logger.warning("word alignment failed; decoding without word timestamps")
            segments, info = self._transcribe(audio, language, initial, seconds, word_timestamps=False)
        finally:
            self.model._local.frames = None
        words = [w for s in segments for w in _segment_words(s)]
        no_speech = max((s.no_speech_prob for s in segments), default=1.0)
        logprob = float(np.mean([s.avg_logprob for s in segments])) if segments else -10.0
        ratio = max((s.compression_ratio for s in segments), default=0.0)
        return Hypothesis(
            words=words,
            language=info.language,
            language_probability=float(info.language_probability),
            language_probs=[(lang, float(p)) for lang, p in info.all_language_probs or ()] or None,
            no_speech_prob=float(no_speech),
            avg_logprob=logprob,
            compression_ratio=float(ratio),
            seconds=time.perf_counter() - started,
        )

    def _transcribe(
        self,
        audio: np.ndarray,
        language: str | None,
        prompt: str | None,
        seconds: float,
        *,
        word_timestamps: bool,
        beam_size: int | None = None,
    ) -> tuple[list[Any], Any]:
        segments, info = self.model.transcribe(
            audio,
            language=language,
            beam_size=beam_size or self.settings.beam_size,
            temperature=0.0,
            word_timestamps=word_timestamps,
            condition_on_previous_text=False,
            initial_prompt=prompt,
            hotwords=self.settings.hotwords or None,
            vad_filter=False,
            compression_ratio_threshold=None,
            no_speech_threshold=None,
            # A loop cannot run longer than speech could: ~6 tokens a second plus margin.
            max_new_tokens=int(10 + 6 * seconds),
        )
        return list(segments), info

    def decode_job(self, job: DecodeJob, languages: LanguageVote) -> Hypothesis:
        """Decode a stream's job; if Whisper detected a language the operator ruled out
        (``WHISPER_LANGUAGES``), decode again in the most likely allowed one."""
        if not self.multilingual:
            languages.fixed = "en"
        # Finals are decoded once per utterance: a wider beam is affordable there.
        beam = self.settings.final_beam_size if job.kind == "final" else None
        hyp = self.decode(job.audio, language=job.language, prompt=job.prompt, beam_size=beam)
        if job.language is None and not languages.allowed(hyp.language):
            forced = languages.best_allowed(hyp.language_probs)
            if forced:
                again = self.decode(job.audio, language=forced, prompt=job.prompt, beam_size=beam)
                hyp = dataclasses.replace(
                    again, language_probs=hyp.language_probs, seconds=hyp.seconds + again.seconds
                )
        return hyp


def _segment_words(segment: Any) -> list[Word]:
    if segment.words:
        return [Word(w.word, float(w.start), float(w.end), float(w.probability)) for w in segment.words]
    tokens = segment.text.split()
    if not tokens:
        return []
    step = (segment.end - segment.start) / len(tokens)
    return [
        Word(f" {t}", segment.start + i * step, segment.start + (i + 1) * step, 0.5)
        for i, t in enumerate(tokens)
    ]
