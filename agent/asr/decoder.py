"""faster-whisper behind one call: decode a short buffer into timed words.

The main speed lever for streaming: Whisper pads every window to 30 s, so a 3 s buffer costs as
much to encode as 30 s. We trim the mel features to the buffer (never below
``window_min_seconds``, which keeps accuracy: very short windows make the decoder loop) before the
encoder runs; the decoder then attends to a proportionally shorter sequence too.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

import numpy as np
from faster_whisper import WhisperModel
from faster_whisper.tokenizer import Tokenizer
from faster_whisper.transcribe import Segment, get_compression_ratio, get_suppressed_tokens
from faster_whisper.transcribe import Word as FwWord

from agent import metrics
from agent.asr.agreement import echoes_prompt, strip_repetitions
from agent.asr.contracts import DecodeJob, Hypothesis
from agent.asr.events import Word
from agent.asr.language import LanguageVote
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
        self._tokenizers: dict[str, Tokenizer] = {}  # the batched path's, one per language
        self._suppress: tuple[int, ...] | None = None
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

    def decode_job(self, job: DecodeJob, languages: LanguageVote, *, hurry: bool = False) -> Hypothesis:
        """Decode a stream's job. When Whisper detected the language, the text must be in the
        language the stream's vote would choose with this detection added (one odd utterance
        does not come out in Arabic in an English meeting) and one the operator allows
        (``WHISPER_LANGUAGES``): otherwise decode again in that language."""
        if not self.multilingual:
            languages.fixed = "en"
        beam = self.beam_for(job.kind, hurry=hurry)
        hyp = self.decode(job.audio, language=job.language, prompt=job.prompt, beam_size=beam)
        hyp = self._unechoed(job, hyp, beam)
        if job.language is None:
            forced = languages.best_with(hyp.language_probs, len(job.audio) / SAMPLE_RATE)
            if forced is None and not languages.allowed(hyp.language):
                forced = languages.best_allowed(hyp.language_probs)
            if forced and forced != hyp.language:
                again = self.decode(job.audio, language=forced, prompt=job.prompt, beam_size=beam)
                hyp = dataclasses.replace(
                    again, language_probs=hyp.language_probs, seconds=hyp.seconds + again.seconds
                )
        return hyp

    def _unechoed(self, job: DecodeJob, hyp: Hypothesis, beam: int) -> Hypothesis:
        """A final decoded with a prompt that starts by repeating it (``echoes_prompt``) or falls
        into a loop (``strip_repetitions`` would cut it) is decoded again without the prompt:
        one more decode, only then. The prompt is what such decodes lean on: "Merci d'être
        venu!" as prompt gave "N'oublions pas d'être venu d'être venu d'être venu..." for "Nous
        allons parler du budget". Interims are left alone: their final settles the text."""
        if job.kind != "final" or not job.prompt:
            return hyp
        if not echoes_prompt(job.prompt, hyp.words) and len(strip_repetitions(hyp.words)) == len(hyp.words):
            return hyp
        metrics.prompt_echoes.inc()
        again = self.decode(job.audio, language=job.language or hyp.language, prompt="", beam_size=beam)
        return dataclasses.replace(
            again,
            language=hyp.language,
            language_probability=hyp.language_probability,
            language_probs=hyp.language_probs,
            seconds=hyp.seconds + again.seconds,
        )

    # -- batched path ----------------------------------------------------------------------------
    def decode_batch(
        self, jobs: Sequence[tuple[DecodeJob, LanguageVote]], *, hurry: bool = False
    ) -> list[Hypothesis]:
        """Decode several streams' jobs with one model call per step for the whole batch: one
        encode, one language detection, one generate, one word alignment per language.

        Why: on a GPU one decode of a few seconds of audio leaves the device mostly idle, and N
        streams decoded together cost little more than one. On a CPU the cores are already busy
        with one decode, so ``decode_job`` stays the default there.

        Each item gets what ``decode_job`` would give it, from the same faster-whisper pieces
        (features, prompt, suppressed tokens, timestamp rules, scores, word timing, language
        choice), with these differences, each one forced by batching or deliberate:
        - all items are encoded over the batch's longest window (an item's own audio, then the
          zero padding ``decode`` uses too): identical while every buffer is shorter than
          ``window_min_seconds`` - 0.5 s;
        - CTranslate2 needs <|startoftranscript|> at one index in every prompt, so the streams'
          previous texts are cut to the batch's shortest (see ``_batch_prompts``);
        - one pass per item: ``decode`` gets about half the token budget it asks for (see
          ``_max_length``) and, when its output ends without a closing timestamp, decodes the
          rest in another window; the batch asks for the full budget (10 + 6 tokens per second,
          each item cut back to its own) and keeps an unfinished tail from its single pass;
        - a detected language that ``WHISPER_LANGUAGES`` rules out is replaced before decoding,
          not decoded a second time.
        All jobs must be of one kind: they share one beam size (``beam_for``). Each hypothesis's
        ``seconds`` is its share of the batch's wall time (they add up to the time the decoder was
        busy).
        """
        if not jobs:
            return []
        kinds = {job.kind for job, _ in jobs}
        if len(kinds) > 1:
            raise ValueError(f"a batch must hold one kind of job, got {sorted(kinds)}")
        started = time.perf_counter()
        fw = self.model
        beam = self.beam_for(kinds.pop(), hurry=hurry)

        features, content = self._batch_features([job.audio for job, _ in jobs])
        # The plain encode: the window override is unset on this thread, the batch is trimmed.
        encoder_output = WhisperModel.encode(fw, features)
        languages = self._batch_languages(jobs, encoder_output)
        tokenizers = [self._tokenizer(lang) for lang, _, _ in languages]
        prompts = self._batch_prompts([job.prompt for job, _ in jobs], tokenizers)
        budgets = [token_budget(len(job.audio) / SAMPLE_RATE) for job, _ in jobs]
        results = fw.model.generate(
            encoder_output,
            prompts,
            beam_size=beam,
            patience=1.0,
            length_penalty=1.0,
            repetition_penalty=1.0,
            no_repeat_ngram_size=0,
            max_length=_max_length(max(budgets), len(prompts[0]), fw.max_length),
            return_scores=True,
            return_no_speech_prob=True,
            suppress_blank=True,
            suppress_tokens=self._suppressed_tokens(tokenizers[0]),
            max_initial_timestamp_index=round(MAX_INITIAL_TIMESTAMP / fw.time_precision),
        )
        # The batch shares one max_length: cut each item back to its own budget (exact for greedy
        # decoding), so a looping item stops where it would have stopped alone.
        outputs = [r.sequences_ids[0][:budget] for r, budget in zip(results, budgets, strict=True)]
        pieces = [
            _split_at_timestamps(tokens, tok, fw.time_precision, frames / FRAMES_PER_SECOND)
            for tokens, tok, frames in zip(outputs, tokenizers, content, strict=True)
        ]
        self._add_word_timestamps(pieces, tokenizers, encoder_output, content)

        share = (time.perf_counter() - started) / len(jobs)
        hyps: list[Hypothesis] = []
        for result, tokens, tok, subs, (lang, prob, probs) in zip(
            results, outputs, tokenizers, pieces, languages, strict=True
        ):
            # As faster-whisper recovers it from CTranslate2's length-normalised score (that of
            # the whole output: a cut one has no score of its own).
            length = len(result.sequences_ids[0])
            avg_logprob = result.scores[0] * length / (length + 1)
            ratio = get_compression_ratio(tok.decode(tokens).strip())
            segments = [
                Segment(
                    id=n,
                    seek=0,
                    start=sub["start"],
                    end=sub["end"],
                    text=text,
                    tokens=sub["tokens"],
                    avg_logprob=avg_logprob,
                    compression_ratio=ratio,
                    no_speech_prob=result.no_speech_prob,
                    words=[FwWord(**w) for w in sub["words"]] if sub.get("words") is not None else None,
                    temperature=0.0,
                )
                for n, (sub, text) in enumerate(((sub, tok.decode(sub["tokens"])) for sub in subs), 1)
                if sub["start"] != sub["end"] and text.strip()
            ]
            hyps.append(
                _hypothesis(
                    segments, language=lang, language_probability=prob, language_probs=probs, seconds=share
                )
            )
        return [self._unechoed(job, hyp, beam) for (job, _), hyp in zip(jobs, hyps, strict=True)]

    def _batch_features(self, audios: list[np.ndarray]) -> tuple[np.ndarray, list[int]]:
        """Mel features of every buffer over one window (the longest item's, sized as ``decode``
        sizes it), each item's content frames then zeros, as ``transcribe`` pads; and the
        number of content frames per item (word alignment ignores the padding)."""
        extractor = self.model.feature_extractor
        nb_max = extractor.nb_max_frames
        mels = [extractor(audio) for audio in audios]
        min_window = self.settings.window_min_seconds
        if min_window > 0:
            longest = max(len(audio) for audio in audios) / SAMPLE_RATE
            window = min(nb_max, int(max(min_window, longest + 0.5) * FRAMES_PER_SECOND))
        else:
            window = nb_max
        features = np.zeros((len(audios), mels[0].shape[0], window), dtype=np.float32)
        content: list[int] = []
        for i, mel in enumerate(mels):
            frames = min(mel.shape[-1] - 1, window)  # transcribe() drops the last frame too
            features[i, :, :frames] = mel[:, :frames]
            content.append(frames)
        return features, content

    def _batch_prompts(self, contexts: list[str], tokenizers: list[Tokenizer]) -> list[list[int]]:
        """Each item's prompt as faster-whisper builds it (<|startofprev|>, hotwords, previous
        text, then <|startoftranscript|>, language, task), with every stream's previous text cut
        from the left to the batch's shortest.

        Why cut: CTranslate2 wants <|startoftranscript|> at one index in every prompt of a batch.
        Padding the shorter previous texts instead derailed the decoder in our trials (spaces made
        it loop, dots made it write dots); a shorter context is one Whisper knows (it cuts a too
        long one itself). A stream without previous text (its first utterance) thus takes it away
        from the whole batch. The operator's WHISPER_INITIAL_PROMPT and hotwords, the same for
        every stream, are kept whole.
        """
        initial = self.settings.initial_prompt
        hotwords = self.settings.hotwords or None
        shared = tokenizers[0].encode(" " + initial.strip()) if initial.strip() else []
        own: list[list[int]] = []
        for context, tok in zip(contexts, tokenizers, strict=True):
            text = " ".join(p for p in (initial, context) if p).strip()  # exactly as decode()
            tokens = tok.encode(" " + text) if text else []
            own.append(tokens[len(shared) :] if tokens[: len(shared)] == shared else tokens)
        keep = min(len(t) for t in own)
        return [
            self.model.get_prompt(tok, [*shared, *t[len(t) - keep :]], hotwords=hotwords)
            for tok, t in zip(tokenizers, own, strict=True)
        ]

    def _batch_languages(
        self, jobs: Sequence[tuple[DecodeJob, LanguageVote]], encoder_output: Any
    ) -> list[tuple[str, float, list[tuple[str, float]] | None]]:
        """(language, probability, detected probabilities) per item, as ``decode_job`` would pick
        them: forced where the job says so, detected on the (windowed) encoder output otherwise,
        and a detection the operator ruled out replaced by the most likely allowed language."""
        detected = None
        if self.multilingual and any(job.language is None for job, _ in jobs):
            detected = self.model.model.detect_language(encoder_output)
        out: list[tuple[str, float, list[tuple[str, float]] | None]] = []
        for i, (job, votes) in enumerate(jobs):
            if not self.multilingual:
                votes.fixed = "en"
                out.append(("en", 1.0, None))
            elif job.language is not None or detected is None:
                out.append((job.language or "en", 1.0, None))
            else:
                probs = [(token[2:-2], float(p)) for token, p in detected[i]]
                lang, prob = probs[0]
                # As decode_job: the vote's choice with this detection added, an allowed one.
                forced = votes.best_with(probs, len(job.audio) / SAMPLE_RATE)
                if forced is None and not votes.allowed(lang):
                    forced = votes.best_allowed(probs)
                if forced and forced != lang:
                    lang, prob = forced, 1.0  # decoded as told, as decode_job's second decode
                out.append((lang, prob, probs))
        return out

    def _tokenizer(self, language: str) -> Tokenizer:
        if language not in self._tokenizers:
            self._tokenizers[language] = Tokenizer(
                self.model.hf_tokenizer, self.multilingual, task="transcribe", language=language
            )
        return self._tokenizers[language]

    def _suppressed_tokens(self, tokenizer: Tokenizer) -> tuple[int, ...]:
        # transcribe()'s default [-1]: the same ids whatever the language (special and non-speech).
        if self._suppress is None:
            self._suppress = tuple(get_suppressed_tokens(tokenizer, [-1]) or ())
        return self._suppress

    def _add_word_timestamps(
        self,
        pieces: list[list[dict[str, Any]]],
        tokenizers: list[Tokenizer],
        encoder_output: Any,
        content: list[int],
    ) -> None:
        """Word timings for every item with one ``align`` call per start sequence (language).

        ``align`` takes one start sequence for the whole batch, so items of other languages get
        an empty text there and are aligned in their own language's call. An item whose
        alignment fails keeps its text: its words are spread over their segment instead.
        """
        text_tokens = [
            [t for sub in subs for t in sub["tokens"] if t < tok.eot]
            for subs, tok in zip(pieces, tokenizers, strict=True)
        ]
        groups: dict[tuple[int, ...], list[int]] = {}
        for i, tok in enumerate(tokenizers):
            if text_tokens[i]:
                groups.setdefault(tuple(tok.sot_sequence), []).append(i)
        for start_sequence, members in groups.items():
            batch_tokens = [tokens if i in members else [] for i, tokens in enumerate(text_tokens)]
            try:
                alignments = self.model.model.align(
                    encoder_output, list(start_sequence), batch_tokens, content, median_filter_width=7
                )
            except (RuntimeError, ValueError, IndexError):
                logger.warning("batched word alignment failed; spreading words over segments", exc_info=True)
                continue
            for i in members:
                timed = [dict(sub) for sub in pieces[i]]
                try:
                    _AlignedWhisper(self.model, alignments[i]).add_word_timestamps(
                        [timed],
                        tokenizers[i],
                        encoder_output,
                        content[i],
                        PREPEND_PUNCTUATIONS,
                        APPEND_PUNCTUATIONS,
                        0.0,
                    )
                except (IndexError, ValueError):
                    # As in decode(): odd windows can break faster-whisper's word alignment.
                    logger.warning("word alignment failed for one batch item; spreading its words")
                    continue
                pieces[i][:] = timed


class _AlignedWhisper:
    """Stands in for ``WhisperModel`` inside faster-whisper's own word-timing code
    (``add_word_timestamps`` -> ``find_alignment`` -> ``model.align``), serving one item's result
    of the batched ``align`` call: its punctuation merging and long-word heuristics are reused,
    not copied, so batched word times are computed exactly like ``decode``'s."""

    add_word_timestamps = WhisperModel.add_word_timestamps
    find_alignment = WhisperModel.find_alignment

    def __init__(self, whisper: WhisperModel, alignment: Any) -> None:
        self.frames_per_second = whisper.frames_per_second
        self.tokens_per_second = whisper.tokens_per_second
        self.model = SimpleNamespace(align=lambda *_args, **_kwargs: [alignment])


def token_budget(seconds: float) -> int:
    """Tokens a decode of ``seconds`` may write: a loop cannot run longer than speech could
    (~6 tokens a second plus margin)."""
    return int(10 + 6 * seconds)


def _max_length(budget: int, prompt_length: int, model_max: int) -> int:
    """The max_length that lets CTranslate2 generate ``budget`` tokens after the prompt.

    CTranslate2 generates at most min(max_length / 2, max_length - start step), the start step
    being the prompt length - 1 (0 for a one-token prompt). faster-whisper passes prompt +
    max_new_tokens, which the first term halves for short prompts: ``decode`` gets about half
    the budget it asks for, hits it on longer utterances and finishes them in extra windows.
    The batch decodes once, so it asks for the budget it means.
    """
    start = prompt_length - 1 if prompt_length > 1 else 0
    return min(model_max, max(2 * budget, budget + start))


def _split_at_timestamps(
    tokens: list[int], tokenizer: Tokenizer, precision: float, duration: float
) -> list[dict[str, Any]]:
    """faster-whisper's ``_split_segments_by_timestamps`` for one window at offset 0, except that
    an unfinished tail (text after the last timestamp pair) is kept as a segment to the end of
    the audio: ``transcribe`` would decode it again in a second window, the batch decodes once."""
    begin = tokenizer.timestamp_begin
    single_ending = len(tokens) >= 2 and tokens[-2] < begin <= tokens[-1]
    pairs = [i for i in range(1, len(tokens)) if tokens[i] >= begin and tokens[i - 1] >= begin]
    if not pairs:
        timestamps = [t for t in tokens if t >= begin]
        end = duration
        if timestamps and timestamps[-1] != begin:
            end = (timestamps[-1] - begin) * precision
        return [{"seek": 0, "start": 0.0, "end": end, "tokens": tokens}]
    out: list[dict[str, Any]] = []
    last = 0
    for cut in [*pairs, len(tokens)] if single_ending else pairs:
        piece = tokens[last:cut]
        out.append(
            {
                "seek": 0,
                "start": (piece[0] - begin) * precision,
                "end": (piece[-1] - begin) * precision,
                "tokens": piece,
            }
        )
        last = cut
    tail = tokens[last:]
    if not single_ending and any(t < tokenizer.eot for t in tail):
        start = (tail[0] - begin) * precision if tail[0] >= begin else out[-1]["end"]
        out.append({"seek": 0, "start": start, "end": max(start, duration), "tokens": tail})
    return out


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
