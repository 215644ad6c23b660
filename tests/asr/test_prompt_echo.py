"""A final that repeats its prompt or loops is decoded again without the prompt.

Why: Whisper conditioned on the previous final sometimes writes it again instead of the audio. A
French room read "Merci d'être venue! Merci d'être venue! Merci d'être" and never showed the
sentence said next (tests/e2e/test_languages_room.py failed on it); decoded without the prompt,
the same audio gives its own words.
"""

from __future__ import annotations

import numpy as np

from agent.asr import redecode
from agent.asr.agreement import echoes_prompt
from agent.asr.contracts import DecodeJob, Hypothesis
from agent.asr.decoder import WhisperDecoder
from agent.asr.events import Word
from agent.asr.language import LanguageVote
from agent.asr.settings import AsrSettings


def words(text: str) -> list[Word]:
    return [Word(f" {t}", 0.3 * i, 0.3 * i + 0.25, 0.9) for i, t in enumerate(text.split())]


def test_a_hypothesis_that_starts_with_the_prompt_echoes_it() -> None:
    prompt = "Bonjour à tous! Merci d'être venue!"
    assert echoes_prompt(prompt, words("Merci d'être venue! Merci d'être"))
    assert echoes_prompt(prompt, words("merci, D'ÊTRE venue. Nous allons"))  # case, punctuation
    # Its own words, even sharing some with the prompt, or too few to tell: not an echo.
    assert not echoes_prompt(prompt, words("Nous allons parler du budget"))
    assert not echoes_prompt(prompt, words("Bonjour Merci venue"))
    assert not echoes_prompt(prompt, words("Merci d'être"))
    assert not echoes_prompt("", words("Merci d'être venue"))


class _Stub:
    """redecode.decode_job over a fake decode that answers by prompt."""

    def __init__(self, answers: dict[str, str]) -> None:
        self.decoder = WhisperDecoder.__new__(WhisperDecoder)
        self.decoder.settings = AsrSettings()
        self.decoder.multilingual = True
        self.decoder.decode = self._decode  # type: ignore[method-assign]
        self.answers = answers
        self.prompts: list[str] = []

    def _decode(self, audio, *, language, prompt="", window_min_seconds=None, beam_size=None):  # type: ignore[no-untyped-def]
        self.prompts.append(prompt)
        return Hypothesis(words(self.answers[prompt]), language or "fr", 0.9, None, 0.0, -0.2, 1.0, 0.5)


def job(kind: str, prompt: str) -> DecodeJob:
    return DecodeJob(kind, np.zeros(32000, np.float32), 0, 32000, prompt, "fr")  # type: ignore[arg-type]


def test_an_echoing_final_is_decoded_again_without_its_prompt() -> None:
    prompt = "Merci d'être venue!"
    stub = _Stub({prompt: "Merci d'être venue! Merci d'être", "": "Nous allons parler du budget"})
    hyp = redecode.decode_job(stub.decoder, job("final", prompt), LanguageVote())
    assert stub.prompts == [prompt, ""]
    assert [w.text.strip() for w in hyp.words] == "Nous allons parler du budget".split()
    assert hyp.seconds == 1.0  # both decodes are the decoder's time


def test_a_looping_final_is_decoded_again_without_its_prompt() -> None:
    prompt = "Merci d'être venu!"
    looping = "N'oublions pas d'être venu d'être venu d'être venu d'être venu"
    stub = _Stub({prompt: looping, "": "On va parler du budget"})
    hyp = redecode.decode_job(stub.decoder, job("final", prompt), LanguageVote())
    assert stub.prompts == [prompt, ""] and hyp.words[0].text == " On"


def test_other_decodes_are_decoded_once() -> None:
    prompt = "Merci d'être venue!"
    stub = _Stub({prompt: "Nous allons parler du budget", "": "unused"})
    redecode.decode_job(stub.decoder, job("final", prompt), LanguageVote())
    assert stub.prompts == [prompt]
    # Interims are left alone (their final settles the text), so is a final without a prompt.
    stub = _Stub({prompt: "Merci d'être venue! Merci", "": "Merci d'être venue! Merci"})
    redecode.decode_job(stub.decoder, job("interim", prompt), LanguageVote())
    redecode.decode_job(stub.decoder, job("final", ""), LanguageVote())
    assert stub.prompts == [prompt, ""]
