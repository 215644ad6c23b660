"""The batched decoder: several streams' jobs in one model call per step (GPU throughput).

It is rebuilt from faster-whisper's own pieces (features, prompts, suppressed tokens, timestamp
rules, scores, word timing), so it mirrors one faster-whisper release: ``FASTER_WHISPER_VERSION``,
pinned by a test. A new faster-whisper needs this file re-read against it before the pin moves.
Which language an item is written in is the caller's policy (``choose_language``), not ours.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from types import SimpleNamespace
from typing import Any

import numpy as np
from faster_whisper import WhisperModel
from faster_whisper.tokenizer import Tokenizer
from faster_whisper.transcribe import Segment, get_compression_ratio, get_suppressed_tokens
from faster_whisper.transcribe import Word as FwWord

from agent.asr.contracts import DecodeJob, Hypothesis
from agent.asr.decoder import (
    APPEND_PUNCTUATIONS,
    FRAMES_PER_SECOND,
    MAX_INITIAL_TIMESTAMP,
    PREPEND_PUNCTUATIONS,
    WhisperDecoder,
    _hypothesis,
    token_budget,
)
from agent.logs import get_logger
from agent.timebase import SAMPLE_RATE

logger = get_logger(__name__)

FASTER_WHISPER_VERSION = "1.2.1"

# (item index, detected language, detected probabilities) -> the language to write in, or None
LanguageChoice = Callable[[int, str, list[tuple[str, float]]], str | None]


class BatchDecoder:
    """The batched path beside one ``WhisperDecoder`` (same model, same settings)."""

    def __init__(self, decoder: WhisperDecoder) -> None:
        self.decoder = decoder
        self.model = decoder.model
        self.settings = decoder.settings
        self.multilingual = decoder.multilingual
        self._tokenizers: dict[str, Tokenizer] = {}  # one per language
        self._suppress: tuple[int, ...] | None = None

    def decode(
        self, jobs: Sequence[DecodeJob], *, beam: int, choose_language: LanguageChoice
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
        All jobs must be of one kind: they share one beam size. Each hypothesis's
        ``seconds`` is its share of the batch's wall time (they add up to the time the decoder was
        busy).
        """
        if not jobs:
            return []
        kinds = {job.kind for job in jobs}
        if len(kinds) > 1:
            raise ValueError(f"a batch must hold one kind of job, got {sorted(kinds)}")
        started = time.perf_counter()
        fw = self.model

        features, content = self._features([job.audio for job in jobs])
        # The plain encode: the window override is unset on this thread, the batch is trimmed.
        encoder_output = WhisperModel.encode(fw, features)
        languages = self._languages(jobs, encoder_output, choose_language)
        tokenizers = [self._tokenizer(lang) for lang, _, _ in languages]
        prompts = self._prompts([job.prompt for job in jobs], tokenizers)
        budgets = [token_budget(len(job.audio) / SAMPLE_RATE) for job in jobs]
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
        return hyps

    def _features(self, audios: list[np.ndarray]) -> tuple[np.ndarray, list[int]]:
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

    def _prompts(self, contexts: list[str], tokenizers: list[Tokenizer]) -> list[list[int]]:
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

    def _languages(
        self, jobs: Sequence[DecodeJob], encoder_output: Any, choose_language: LanguageChoice
    ) -> list[tuple[str, float, list[tuple[str, float]] | None]]:
        """(language, probability, detected probabilities) per item: forced where the job says
        so, detected on the (windowed) encoder output otherwise, then ``choose_language`` (the
        engine's policy: the stream's vote, the allowed languages) may overrule the detection."""
        detected = None
        if self.multilingual and any(job.language is None for job in jobs):
            detected = self.model.model.detect_language(encoder_output)
        out: list[tuple[str, float, list[tuple[str, float]] | None]] = []
        for i, job in enumerate(jobs):
            if not self.multilingual:
                out.append(("en", 1.0, None))
            elif job.language is not None or detected is None:
                out.append((job.language or "en", 1.0, None))
            else:
                probs = [(token[2:-2], float(p)) for token, p in detected[i]]
                lang, prob = probs[0]
                forced = choose_language(i, lang, probs)
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
    not copied, so batched word times are computed exactly like ``WhisperDecoder.decode``'s."""

    add_word_timestamps = WhisperModel.add_word_timestamps
    find_alignment = WhisperModel.find_alignment

    def __init__(self, whisper: WhisperModel, alignment: Any) -> None:
        self.frames_per_second = whisper.frames_per_second
        self.tokens_per_second = whisper.tokens_per_second
        self.model = SimpleNamespace(align=lambda *_args, **_kwargs: [alignment])


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
