"""Language choice for a stream that was not told its language: vote, then stick.

Whisper's language detection on one short utterance is unreliable (a 0.5 s "Hello?" can come out
as Korean). Each decode that detected adds its probabilities weighted by the seconds of audio behind
them; the language is settled once enough audio agrees, and then never flips mid-meeting.
Until then interims use the best guess so far (their text must not jump between languages), while
the final decode of each utterance long enough to judge keeps detecting: otherwise the first second
of a meeting ("Hello? Hello?" on a phone line) would decide the language for good.
``candidates`` (``WHISPER_LANGUAGES``, e.g. "fr,en") restricts what may be chosen at all.
"""

from __future__ import annotations

from collections import defaultdict

SETTLE_SECONDS = 3.0
SETTLE_SHARE = 0.7
USE_BEST_AFTER_SECONDS = 1.0
DETECT_MIN_SECONDS = 1.5  # a final over less audio than this uses the best guess too


class LanguageVote:
    def __init__(self, fixed: str | None = None, candidates: tuple[str, ...] = ()) -> None:
        self.fixed = fixed
        self.candidates = candidates
        self._scores: dict[str, float] = defaultdict(float)
        self._evidence = 0.0

    def add(self, probabilities: list[tuple[str, float]] | None, seconds: float) -> None:
        if self.fixed or not probabilities:
            return
        self._weigh(self._scores, probabilities, seconds)
        self._evidence += seconds
        best = self.best()
        if best and self._evidence >= SETTLE_SECONDS:
            total = sum(self._scores.values()) or 1.0
            if self._scores[best] / total >= SETTLE_SHARE:
                self.fixed = best

    def best_with(self, probabilities: list[tuple[str, float]] | None, seconds: float) -> str | None:
        """The best language if this detection were added: the language a decode's text should
        be in, so one odd utterance does not come out in another language than the vote's."""
        if self.fixed:
            return self.fixed
        scores = defaultdict(float, self._scores)
        self._weigh(scores, probabilities or [], seconds)
        return _top(scores)

    def best(self) -> str | None:
        return _top(self._scores)

    def _weigh(
        self, scores: dict[str, float], probabilities: list[tuple[str, float]], seconds: float
    ) -> None:
        for lang, p in probabilities:
            if not self.candidates or lang in self.candidates:
                scores[lang] += p * seconds

    def for_decode(self, *, final: bool = False, seconds: float = 0.0) -> str | None:
        """The language to force on the next decode, or None to let Whisper detect."""
        if self.fixed:
            return self.fixed
        if final and seconds >= DETECT_MIN_SECONDS:
            return None
        if self._evidence >= USE_BEST_AFTER_SECONDS:
            return self.best()
        return None

    def allowed(self, language: str) -> bool:
        return not self.candidates or language in self.candidates

    def best_allowed(self, probabilities: list[tuple[str, float]] | None) -> str | None:
        for lang, _p in sorted(probabilities or [], key=lambda kv: -kv[1]):
            if self.allowed(lang):
                return lang
        return self.candidates[0] if self.candidates else None

    @property
    def current(self) -> str:
        return self.fixed or self.best() or ""


def _top(scores: dict[str, float]) -> str | None:
    return max(scores.items(), key=lambda kv: kv[1])[0] if scores else None
