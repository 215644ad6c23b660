"""The re-decode policies: which language a stream's job is written in, and when a final is
decoded a second time. The decoders only decode; the engine (and the offline paths) call these.

- Language: when Whisper detected the language, the text must be in the language the stream's
  vote chooses with this detection added (one odd utterance does not come out in Arabic in an
  English meeting), and in one the operator allows (``WHISPER_LANGUAGES``); otherwise the job is
  decoded again in that language (the batched path sets it before decoding instead).
- Prompt echo: a final whose decode starts by repeating its prompt, or loops, is decoded again
  without the prompt (see ``unechoed``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from agent import metrics
from agent.asr.agreement import echoes_prompt, strip_repetitions
from agent.asr.batched import BatchDecoder
from agent.asr.contracts import DecodeJob, Hypothesis
from agent.asr.decoder import WhisperDecoder
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
    return hyp


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
    return [unechoed(decoder, job, hyp, beam) for job, hyp in zip(jobs, hyps, strict=True)]


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
