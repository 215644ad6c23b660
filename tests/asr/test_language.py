"""The language vote: a wrong guess on the first second must not decide the whole meeting."""

from __future__ import annotations

from agent.asr import redecode
from agent.asr.language import LanguageVote


def test_an_early_wrong_guess_is_overturned_by_long_finals() -> None:
    vote = LanguageVote()
    assert vote.for_decode() is None  # nothing heard: Whisper detects
    vote.add([("ar", 0.9), ("en", 0.1)], 1.2)  # "Hello? Hello?" on a phone line
    assert vote.for_decode() == "ar"  # interims use the best guess: no language jumps
    assert vote.for_decode(final=True, seconds=0.8) == "ar"  # too short to judge
    assert vote.for_decode(final=True, seconds=3.0) is None  # a real sentence: detect again
    vote.add([("en", 0.95), ("ar", 0.05)], 3.0)
    assert vote.settled == "en" and vote.fixed is None
    assert vote.for_decode() == "en" and vote.for_decode(final=True, seconds=3.0) == "en"
    assert vote.for_decode(final=True, seconds=9.0) is None  # long finals keep checking


def test_settled_holds_against_odd_sentences_not_against_the_speaker() -> None:
    vote = LanguageVote()
    vote.add([("fr", 0.97), ("en", 0.03)], 4.0)
    assert vote.settled == "fr"
    vote.add([("fr", 0.97), ("en", 0.03)], 16.0)
    vote.add([("en", 1.0)], 5.0)  # one English quote in a French speech: still French
    assert vote.settled == "fr" and vote.current == "fr"
    assert vote.best_with([("en", 1.0)], 5.0) == "fr"
    vote = LanguageVote()
    vote.add([("pt", 0.8), ("fr", 0.2)], 4.0)  # a wrong settle on the first sentences...
    assert vote.settled == "pt"
    vote.add([("fr", 0.95), ("pt", 0.05)], 30.0)  # ...which the speaker's speech contradicts
    assert vote.settled == "fr" and vote.current == "fr"


def test_a_prior_keeps_short_replies_in_the_rooms_language() -> None:
    # "Fail again. Fail better." alone was detected as Dutch: with the room's English as a
    # prior, each short reply is decoded in English, and together they still count.
    vote = LanguageVote(prior="en")
    assert vote.for_decode() == "en"  # interims: the prior, no 99-way detection
    assert vote.for_decode(final=True, seconds=0.8) is None  # detect, for the evidence
    assert vote.best_with([("nl", 0.6), ("en", 0.3)], 0.8) == "en"
    vote.add([("nl", 0.6), ("en", 0.3)], 0.8)
    assert vote.current == "en"
    # A speaker who really speaks another language takes over with their first real sentence.
    vote = LanguageVote(prior="fr")
    assert vote.best_with([("en", 0.97), ("fr", 0.02)], 2.5) == "en"
    # Also with a short one, when it is clear: "Bonjour le monde" (1.4 s) in an English room.
    assert LanguageVote(prior="en").best_with([("fr", 0.97), ("en", 0.01)], 1.4) == "fr"


def test_the_first_candidate_is_a_weak_default() -> None:
    vote = LanguageVote(candidates=("fr", "en"))
    assert vote.default == "fr" and vote.prior is None and vote.for_decode() is None
    # An English speaker's first sentence stays English (not translated into the default), also
    # a short one: base detects real English at 0.87-0.98 from 0.9 s on (the pyannote call)...
    assert vote.best_with([("en", 0.6), ("fr", 0.01)], 2.5) == "en"
    assert vote.best_with([("en", 0.93), ("fr", 0.01)], 1.0) == "en"
    # ...an unclear short reply goes to the default.
    assert vote.best_with([("pt", 0.7), ("fr", 0.2), ("en", 0.05)], 2.0) == "fr"


def test_confused_detections_do_not_outvote_the_default() -> None:
    # Measured on espeak-ng French with base: the candidates close together, the top under 0.5.
    # Weighed like confident ones, such detections summed to English over a French speaker's
    # sentence and replies; weighed by their confidence, the operator's default still decides.
    vote = LanguageVote(candidates=("fr", "en"))
    for probs, seconds in [
        ([("pt", 0.08), ("fr", 0.08), ("en", 0.06)], 1.6),
        ([("en", 0.34), ("fr", 0.25)], 5.4),
        ([("en", 0.30), ("fr", 0.21)], 1.7),
    ]:
        vote.add(probs, seconds)
    assert vote.settled is None
    assert vote.best_with([("en", 0.44), ("fr", 0.23)], 1.3) == "fr"
    # A confident English sentence still wins at once.
    assert vote.best_with([("en", 0.95), ("fr", 0.01)], 2.0) == "en"
    assert LanguageVote(candidates=("fr", "en"), prior="de").best_with([], 0.0) == "fr"


def test_candidates_restrict_the_choice() -> None:
    vote = LanguageVote(candidates=("fr", "en"))
    vote.add([("ar", 0.6), ("fr", 0.3), ("en", 0.1)], 4.0)
    assert vote.best() == "fr" and vote.allowed("fr") and not vote.allowed("ar")
    assert vote.best_allowed([("ar", 0.6), ("en", 0.3)]) == "en"


def test_a_given_language_is_never_detected() -> None:
    vote = LanguageVote("de")
    vote.add([("en", 1.0)], 10.0)
    assert vote.for_decode(final=True, seconds=10.0) == "de"


def test_an_odd_utterance_follows_the_vote() -> None:
    vote = LanguageVote()
    vote.add([("en", 0.9), ("ar", 0.1)], 2.5)
    # A 1.6 s utterance detected as Arabic at 0.6 does not outweigh 2.5 s of English.
    assert vote.best_with([("ar", 0.6), ("en", 0.4)], 1.6) == "en"
    # A long, confident one does.
    assert vote.best_with([("ar", 0.99), ("en", 0.01)], 8.0) == "ar"
    assert LanguageVote().best_with([("fr", 0.8)], 1.0) == "fr"


class _StubDecoder:
    """redecode.decode_job over a fake decode: which languages were decoded, in order."""

    def __init__(self, detected: list[tuple[str, float]]) -> None:
        from agent.asr.decoder import WhisperDecoder
        from agent.asr.settings import AsrSettings

        self.decoder = WhisperDecoder.__new__(WhisperDecoder)
        self.decoder.settings = AsrSettings()
        self.decoder.multilingual = True
        self.decoder.decode = self._decode  # type: ignore[method-assign]
        self.detected = detected
        self.calls: list[str | None] = []

    def _decode(self, audio, *, language, prompt="", window_min_seconds=None, beam_size=None):  # type: ignore[no-untyped-def]
        from agent.asr.contracts import Hypothesis

        self.calls.append(language)
        probs = None if language else self.detected
        return Hypothesis([], language or self.detected[0][0], 0.9, probs, 0.0, -0.2, 1.0, 0.1)


def test_decode_job_writes_in_the_votes_language() -> None:
    import numpy as np

    from agent.asr.contracts import DecodeJob

    job = DecodeJob("final", np.zeros(32000, np.float32), 0, 32000, "", None)
    vote = LanguageVote()
    vote.add([("en", 0.95)], 6.0)
    vote.settled = None  # still voting, English well ahead
    stub = _StubDecoder([("ar", 0.55), ("en", 0.45)])
    hyp = redecode.decode_job(stub.decoder, job, vote)
    assert stub.calls == [None, "en"] and hyp.language == "en"
    assert hyp.language_probs == [("ar", 0.55), ("en", 0.45)]  # the detection still counts as evidence
    # A first utterance has nothing to outvote: its detection stands, one decode.
    stub = _StubDecoder([("fr", 0.8), ("en", 0.2)])
    assert redecode.decode_job(stub.decoder, job, LanguageVote()).language == "fr" and stub.calls == [None]
    # A ruled-out language is replaced by the likeliest allowed one.
    stub = _StubDecoder([("ar", 0.7), ("fr", 0.2), ("en", 0.1)])
    assert redecode.decode_job(stub.decoder, job, LanguageVote(candidates=("fr", "en"))).language == "fr"
