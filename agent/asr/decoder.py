"""faster-whisper behind one call: decode a short buffer into timed words.

The main speed lever for streaming: Whisper pads every window to 30 s, so a 3 s buffer costs as
much to encode as 30 s. We trim the mel features to the buffer (never below
``window_min_seconds``, which keeps accuracy: very short windows make the decoder loop) before the
encoder runs; the decoder then attends to a proportionally shorter sequence too.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import numpy as np
from faster_whisper import WhisperModel

from agent.asr.contracts import Hypothesis
from agent.asr.events import Word
from agent.asr.models import is_local_model, resolve_whisper_model
from agent.asr.settings import AsrSettings
from agent.logs import get_logger
from agent.timebase import SAMPLE_RATE

logger = get_logger(__name__)
# faster-whisper logs every call at INFO ("Processing audio with duration..."): too chatty live.
logging.getLogger("faster_whisper").setLevel(logging.WARNING)

FRAMES_PER_SECOND = 100
# faster-whisper's transcribe() defaults, which decode() relies on, for the batched path.
PREPEND_PUNCTUATIONS = "\"'“¿([{-"
APPEND_PUNCTUATIONS = "\"'.。,，!！?？:：”)]}、"
MAX_INITIAL_TIMESTAMP = 1.0


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
        # Several scheduler threads may decode at once: one CTranslate2 worker each.
        self.workers = settings.workers_for(self.device)
        threads = settings.threads_per_worker(self.workers)
        started = time.perf_counter()
        self.model = _WindowedWhisper(
            resolved,
            device=self.device,
            compute_type=compute,
            cpu_threads=threads,
            num_workers=self.workers,
            local_files_only=is_local_model(resolved),
        )
        self.multilingual = self.model.model.is_multilingual
        logger.info(
            "speech model %s loaded on %s (%s, %d worker(s) x %d thread(s)) in %.1fs",
            settings.model,
            self.device,
            compute,
            self.workers,
            threads,
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
        return _hypothesis(
            segments,
            language=info.language,
            language_probability=float(info.language_probability),
            language_probs=[(lang, float(p)) for lang, p in info.all_language_probs or ()] or None,
            seconds=time.perf_counter() - started,
        )

    def translate(self, audio: np.ndarray, *, language: str | None) -> str:
        """Whisper's own translate task: the utterance's speech straight into English text.

        Greedy and windowed like an interim (it runs when the decoder is otherwise idle, so its
        cost is what a caption may have to wait behind); no prompt, no timestamps."""
        if not self.multilingual:
            raise RuntimeError("an English-only speech model cannot translate")
        seconds = len(audio) / SAMPLE_RATE
        min_window = self.settings.window_min_seconds
        self.model._local.frames = (
            int(max(min_window, seconds + 0.5) * FRAMES_PER_SECOND) if min_window > 0 else None
        )
        try:
            segments, _info = self.model.transcribe(
                audio,
                task="translate",
                language=language,
                beam_size=self.settings.beam_size,
                temperature=0.0,
                condition_on_previous_text=False,
                vad_filter=False,
                compression_ratio_threshold=None,
                no_speech_threshold=None,
                max_new_tokens=self._new_tokens(seconds, None),
            )
            return " ".join(s.text.strip() for s in segments).strip()
        finally:
            self.model._local.frames = None

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
            max_new_tokens=self._new_tokens(seconds, prompt),
        )
        return list(segments), info

    def _new_tokens(self, seconds: float, prompt: str | None) -> int:
        """The max_new_tokens that lets the decoder write ``seconds`` of speech, and no more.

        faster-whisper passes prompt + max_new_tokens as CTranslate2's max_length, which
        generates at most half of it (see ``_max_length``): asked for the budget itself, a long
        utterance was cut and finished in a second window that made up endings of its own.
        """
        budget = token_budget(seconds)
        fw = self.model
        text = " ".join(p for p in (prompt, self.settings.hotwords) if p)
        # <|startofprev|>, the sot sequence, <|notimestamps|>: a few tokens besides the text.
        prompt_tokens = 8 + (len(fw.hf_tokenizer.encode(" " + text).ids) if text else 0)
        return max(1, min(2 * budget, fw.max_length - prompt_tokens - 1))

    def beam_for(self, kind: str, *, hurry: bool = False) -> int:
        """Finals are decoded once per utterance: a wider beam is affordable there, unless
        other streams are waiting for the decoder (``hurry``)."""
        return self.settings.final_beam_size if kind == "final" and not hurry else self.settings.beam_size


def token_budget(seconds: float) -> int:
    """Tokens a decode of ``seconds`` may write: a loop cannot run longer than speech could
    (~6 tokens a second plus margin)."""
    return int(10 + 6 * seconds)


def _hypothesis(
    segments: list[Any],
    *,
    language: str,
    language_probability: float,
    language_probs: list[tuple[str, float]] | None,
    seconds: float,
) -> Hypothesis:
    """The one place segments become a ``Hypothesis``, so the single and batched paths agree."""
    words = [w for s in segments for w in _segment_words(s)]
    no_speech = max((s.no_speech_prob for s in segments), default=1.0)
    logprob = float(np.mean([s.avg_logprob for s in segments])) if segments else -10.0
    ratio = max((s.compression_ratio for s in segments), default=0.0)
    return Hypothesis(
        words=words,
        language=language,
        language_probability=language_probability,
        language_probs=language_probs,
        no_speech_prob=float(no_speech),
        avg_logprob=logprob,
        compression_ratio=float(ratio),
        seconds=seconds,
    )


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
