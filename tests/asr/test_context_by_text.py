"""A final decoded after its stream's earlier speech keeps only its own words, found by text.

Why: given the previous finals' audio as left context, Whisper transcribes it again and places
some of those words after the cut, so timestamps alone kept "Hello. Hello. Hello." from the
context; on mixed voices it transcribes the context into something else. Matching the decode
against the context's known text drops the first; decoding the utterance alone when the match
fails avoids the second (bench/conversation_bench.py, issue 18).
"""

from __future__ import annotations

import numpy as np

from agent import metrics
from agent.asr import redecode
from agent.asr.agreement import norm
from agent.asr.contracts import DecodeJob, Hypothesis
from agent.asr.decoder import WhisperDecoder
from agent.asr.events import Word
from agent.asr.language import LanguageVote
from agent.asr.settings import AsrSettings
from agent.timebase import SAMPLE_RATE


def timed(*spans: tuple[str, float]) -> list[Word]:
    """Words of each text starting at its time, 0.3 s apart."""
    out = []
    for text, start in spans:
        for i, t in enumerate(text.split()):
            out.append(Word(f" {t}", start + 0.3 * i, start + 0.3 * i + 0.25, 0.9))
    return out


def texts(words: list[Word]) -> list[str]:
    return [norm(w.text) for w in words]


def test_the_contexts_words_are_dropped_by_text_even_when_placed_after_the_cut() -> None:
    # The context (2.0 s) said "we met in Chicago"; Whisper put "Chicago" at 2.1 s.
    heard = timed(("We met in", 0.2), ("Chicago.", 2.1), ("Where are you from?", 2.5))
    own = redecode.own_words("We met in Chicago.", heard, cut=2.0)
    assert own is not None and texts(own) == ["where", "are", "you", "from"]
    assert all(w.start >= 2.0 for w in own)
    # Case and punctuation do not matter; a word of the context misheard is tolerated.
    heard = timed(("we met on", 0.2), ("chicago", 1.2), ("Hello again", 2.2))
    assert texts(redecode.own_words("We met in Chicago.", heard, cut=2.0) or []) == ["hello", "again"]


def test_the_speaker_saying_the_contexts_words_again_keeps_them() -> None:
    heard = timed(("Hello.", 0.1), ("Hello, hello.", 3.5))
    own = redecode.own_words("Hello.", heard, cut=1.0)
    assert own is not None and texts(own) == ["hello", "hello"]


def test_a_decode_that_does_not_reproduce_the_context_is_not_trusted() -> None:
    heard = timed(("Why are we originally from", 0.2), ("Chicago?", 2.4))
    assert redecode.own_words("I didn't know you were there.", heard, cut=2.0) is None
    assert texts(redecode.own_words("", heard, cut=0.0) or []) == texts(heard)  # no context: all


class _Stub:
    """redecode.decode_job over a fake decoder: with context it hears ``with_context``, alone
    (the job's own audio) ``alone``."""

    def __init__(self, with_context: list[Word], alone: list[Word]) -> None:
        self.decoder = WhisperDecoder.__new__(WhisperDecoder)
        self.decoder.settings = AsrSettings()
        self.decoder.multilingual = True
        self.decoder.decode = self._decode  # type: ignore[method-assign]
        self.answers = (with_context, alone)
        self.calls: list[tuple[int, str]] = []

    def _decode(self, audio, *, language, prompt="", window_min_seconds=None, beam_size=None):  # type: ignore[no-untyped-def]
        self.calls.append((len(audio), prompt))
        words = self.answers[0] if len(self.calls) == 1 else self.answers[1]
        return Hypothesis(words, language or "en", 0.9, None, 0.0, -0.2, 1.0, 0.5)


def final(context_s: float, context_text: str) -> DecodeJob:
    own = 2 * SAMPLE_RATE
    ctx = int(context_s * SAMPLE_RATE)
    return DecodeJob(
        "final", np.zeros(ctx + own, np.float32), 10 * SAMPLE_RATE, 10 * SAMPLE_RATE + own, "", "en",
        context_samples=ctx, context_text=context_text, plain_prompt="We met in Chicago.",
    )  # fmt: skip


def test_a_final_that_matches_its_context_is_decoded_once() -> None:
    stub = _Stub(timed(("We met in Chicago.", 0.1), ("Where are you from?", 2.2)), [])
    hyp = redecode.decode_job(stub.decoder, final(2.0, "We met in Chicago."), LanguageVote())
    assert len(stub.calls) == 1 and texts(hyp.words) == ["where", "are", "you", "from"]


def test_a_final_that_does_not_match_its_context_is_decoded_alone() -> None:
    before = metrics.context_fallbacks._value.get()
    garbled = timed(("Hello hello hello hello", 0.1), ("Chicago?", 2.2))
    stub = _Stub(garbled, timed(("Where are you from?", 0.1)))
    hyp = redecode.decode_job(stub.decoder, final(2.0, "We met in Chicago."), LanguageVote())
    # Once with the context, then the job's own audio with the prompt it would have had.
    assert stub.calls == [(4 * SAMPLE_RATE, ""), (2 * SAMPLE_RATE, "We met in Chicago.")]
    assert texts(hyp.words) == ["where", "are", "you", "from"]
    assert hyp.words[0].start == 2.1  # times in the decoded audio with context, as the job's
    assert hyp.seconds == 1.0 and metrics.context_fallbacks._value.get() == before + 1


def test_context_by_time_and_interims_are_left_alone() -> None:
    heard = timed(("We met in Chicago.", 0.1), ("Where are you from?", 2.2))
    stub = _Stub(heard, [])
    job = final(2.0, "")  # by time: the recogniser drops the words before the cut itself
    assert redecode.decode_job(stub.decoder, job, LanguageVote()).words == heard
    assert len(stub.calls) == 1
