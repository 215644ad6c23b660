"""The re-decode policies: which language a stream's job is written in, and when a final is
decoded a second time. The decoders only decode; the engine (and the offline paths) call these.

- Language: when Whisper detected the language, the text must be in the language the stream's
  vote chooses with this detection added (one odd utterance does not come out in Arabic in an
  English meeting), and in one the operator allows (``WHISPER_LANGUAGES``); otherwise the job is
  decoded again in that language (the batched path sets it before decoding instead).
- Prompt echo: a final whose decode starts by repeating its prompt, or loops, is decoded again
  without the prompt (see ``unechoed``).
- Left context by text: a final decoded after its stream's earlier speech keeps the words after
  those that match the context's known text; when the decode does not reproduce that text (mixed
  voices), the utterance is decoded again alone (see ``uncontexted``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from difflib import SequenceMatcher

from agent import metrics
from agent.asr.agreement import echoes_prompt, norm, strip_repetitions
from agent.asr.batched import BatchDecoder
from agent.asr.contracts import DecodeJob, Hypothesis
from agent.asr.decoder import WhisperDecoder
from agent.asr.events import Word
from agent.asr.language import LanguageVote
from agent.timebase import SAMPLE_RATE


def language_for(
    votes: LanguageVote, detected: str, probs: list[tuple[str, float]] | None, seconds: float
) -> str | None:
    """The language to write a detected job in, when it is not the detected one (else None)."""
    forced = votes.best_with(probs, seconds)
    if forced is None and not votes.allowed(detected):
        forced = votes.best_allowed(probs)
    return forced if forced and forced != detected else None


def _english_only(decoder: WhisperDecoder, votes: LanguageVote) -> None:
    if not decoder.multilingual:
        votes.fixed = "en"  # an English-only model: nothing to vote on


def decode_job(
    decoder: WhisperDecoder, job: DecodeJob, votes: LanguageVote, *, hurry: bool = False
) -> Hypothesis:
    """One stream's job through the single decoder, with both policies applied."""
    _english_only(decoder, votes)
    beam = decoder.beam_for(job.kind, hurry=hurry)
    hyp = decoder.decode(job.audio, language=job.language, prompt=job.prompt, beam_size=beam)
    hyp = unechoed(decoder, job, hyp, beam)
    if job.language is None:
        forced = language_for(votes, hyp.language, hyp.language_probs, len(job.audio) / SAMPLE_RATE)
        if forced:
            again = decoder.decode(job.audio, language=forced, prompt=job.prompt, beam_size=beam)
            hyp = dataclasses.replace(
                again, language_probs=hyp.language_probs, seconds=hyp.seconds + again.seconds
            )
    return uncontexted(decoder, job, hyp, beam)


def decode_batch(
    batch: BatchDecoder, items: Sequence[tuple[DecodeJob, LanguageVote]], *, hurry: bool = False
) -> list[Hypothesis]:
    """Several streams' jobs (one kind) through the batched decoder, with both policies applied."""
    if not items:
        return []
    decoder = batch.decoder
    jobs = [job for job, _ in items]
    for _, votes in items:
        _english_only(decoder, votes)
    beam = decoder.beam_for(jobs[0].kind, hurry=hurry)

    def choose(i: int, detected: str, probs: list[tuple[str, float]]) -> str | None:
        job, votes = items[i]
        return language_for(votes, detected, probs, len(job.audio) / SAMPLE_RATE)

    hyps = batch.decode(jobs, beam=beam, choose_language=choose)
    return [
        uncontexted(decoder, job, unechoed(decoder, job, hyp, beam), beam)
        for job, hyp in zip(jobs, hyps, strict=True)
    ]


def unechoed(decoder: WhisperDecoder, job: DecodeJob, hyp: Hypothesis, beam: int) -> Hypothesis:
    """A final decoded with a prompt that starts by repeating it (``echoes_prompt``) or falls
    into a loop (``strip_repetitions`` would cut it) is decoded again without the prompt: one
    more decode, only then. The prompt is what such decodes lean on: "Merci d'être venu!" as
    prompt gave "N'oublions pas d'être venu d'être venu d'être venu..." for "Nous allons parler
    du budget". Interims are left alone: their final settles the text."""
    if job.kind != "final" or not job.prompt:
        return hyp
    if not echoes_prompt(job.prompt, hyp.words) and len(strip_repetitions(hyp.words)) == len(hyp.words):
        return hyp
    metrics.prompt_echoes.inc()
    again = decoder.decode(job.audio, language=job.language or hyp.language, prompt="", beam_size=beam)
    return dataclasses.replace(
        again,
        language=hyp.language,
        language_probability=hyp.language_probability,
        language_probs=hyp.language_probs,
        seconds=hyp.seconds + again.seconds,
    )


# Share of the context's words the decode must reproduce for its words after them to be trusted.
CONTEXT_MATCH = 0.7
CONTEXT_SLACK = 1.0  # seconds past the cut a context word may be placed at (Whisper's timing)


def own_words(context_text: str, words: Sequence[Word], cut: float) -> list[Word] | None:
    """The words of a decode that follow its left context (times relative to the decoded audio,
    ``cut`` the context's length), or None when the decode does not reproduce the context.

    The context's words are found by text (``SequenceMatcher`` over normalised words), not by
    their timestamps: Whisper places some of them after the cut. A match that starts more than
    ``CONTEXT_SLACK`` after the cut is the speaker saying the same words again, not context."""
    known = [w for w in (norm(t) for t in context_text.split()) if w]
    heard = [norm(w.text) for w in words]
    if not known:
        return list(words)
    matcher = SequenceMatcher(None, known, heard, autojunk=False)
    blocks = [b for b in matcher.get_matching_blocks() if b.size and words[b.b].start < cut + CONTEXT_SLACK]
    if sum(b.size for b in blocks) < CONTEXT_MATCH * len(known):
        return None
    after = max(b.b + b.size for b in blocks)
    own = [w for w in words[after:] if w.end > cut and norm(w.text)]
    return [dataclasses.replace(w, start=max(w.start, cut), end=max(w.end, cut)) for w in own]


def uncontexted(decoder: WhisperDecoder, job: DecodeJob, hyp: Hypothesis, beam: int) -> Hypothesis:
    """A final decoded after its left context, told apart by text (``job.context_text``): only
    its own words, their times kept; or, when the decode does not reproduce the context (one
    more decode, only then), the utterance decoded alone with the prompt it would have had."""
    if job.kind != "final" or not job.context_samples or not job.context_text:
        return hyp
    cut = job.context_samples / SAMPLE_RATE
    own = own_words(job.context_text, hyp.words, cut)
    if own is not None:
        return dataclasses.replace(hyp, words=own)
    metrics.context_fallbacks.inc()
    alone = decoder.decode(
        job.audio[job.context_samples :], language=job.language or hyp.language,
        prompt=job.plain_prompt, beam_size=beam,
    )  # fmt: skip
    moved = [dataclasses.replace(w, start=w.start + cut, end=w.end + cut) for w in alone.words]
    return dataclasses.replace(
        alone, words=moved, language=hyp.language, language_probability=hyp.language_probability,
        language_probs=hyp.language_probs, seconds=hyp.seconds + alone.seconds,
    )  # fmt: skip
