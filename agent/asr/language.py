"""Language choice for a stream that was not told its language: a vote with a prior.

Whisper's language detection on one short utterance is unreliable (a 0.5 s "Hello?" can come out
as Korean; "Fail again. Fail better." came out as Dutch). Each decode that detected adds its
probabilities weighted by the seconds of audio behind them; the language is *settled* once enough
audio agrees, and then used for every decode, so it does not flip between sentences.

- ``prior``: the room's established language (what its other speakers settled on). Until the
  speaker's own speech says
  otherwise, interims are decoded in it instead of a fresh 99-way detection, and it weighs
  ``PRIOR_SECONDS`` of confident speech in every choice: a short reply's detection adds to the
  vote, but its text stays in the prior until the speaker's replies outweigh it together.
- ``default``: the operator's first ``WHISPER_LANGUAGES`` entry, a weaker tie-breaker that does
  not force interims: with a strong French default, an English speaker's first sentence in a
  "fr,en" room was written in French (a translation), and Visio's view kept those words.
- Finals long enough to judge keep detecting, also after settling (every ``RECHECK_SECONDS``
  final): a settled language that the speaker's later speech contradicts (its share falls under
  ``SETTLE_SHARE`` against another language's) is replaced. The first seconds of a meeting ("Hello?
  Hello?" on a phone line) therefore never decide it for good.
- ``candidates`` (``WHISPER_LANGUAGES``, e.g. "fr,en") restricts what may be chosen at all.
- ``fixed`` (a configured language, the participant's attribute) is never revised.
"""

from __future__ import annotations

from collections import defaultdict

SETTLE_SECONDS = 3.0
SETTLE_SHARE = 0.7
USE_BEST_AFTER_SECONDS = 1.0
DETECT_MIN_SECONDS = 1.5  # a final over less audio than this uses the best guess too
RECHECK_SECONDS = 4.0  # once settled, finals this long still detect (to catch a wrong settle)
PRIOR_SECONDS = 1.0  # the room's language weighs like this much confident speech: a French
# speaker's first 1.4 s "Bonjour le monde" (0.97) in an English room must come out in French
DEFAULT_SECONDS = 0.75  # the operator's default (first of WHISPER_LANGUAGES): a tie-breaker


class LanguageVote:
    def __init__(
        self, fixed: str | None = None, candidates: tuple[str, ...] = (), prior: str | None = None
    ) -> None:
        self.fixed = fixed
        self.candidates = candidates
        self.settled: str | None = None
        self.prior: str | None = None  # the room's established language (strong)
        self.default = candidates[0] if candidates else None  # the operator's (weak)
        self.set_prior(prior)
        self._scores: dict[str, float] = defaultdict(float)
        self._evidence = 0.0

    def set_prior(self, prior: str | None) -> None:
        """The room's established language (one outside ``candidates`` is ignored)."""
        self.prior = prior if prior is not None and self.allowed(prior) else None

    def add(self, probabilities: list[tuple[str, float]] | None, seconds: float) -> None:
        if self.fixed or not probabilities:
            return
        self._weigh(self._scores, probabilities, seconds)
        self._evidence += seconds
        if self._evidence >= SETTLE_SECONDS:
            self.settled = self._choice(self._scores, with_prior=False)

    def _choice(self, scores: dict[str, float], *, with_prior: bool = True) -> str | None:
        """The settled language unless another one now holds ``SETTLE_SHARE`` of the evidence;
        unsettled: the top language (the prior counted), settling only at ``SETTLE_SHARE``."""
        if with_prior and (self.prior or self.default):
            scores = defaultdict(float, scores)
            if self.prior:
                scores[self.prior] += PRIOR_SECONDS
            else:
                scores[self.default] += DEFAULT_SECONDS  # type: ignore[index]
        top = _top(scores)
        if top is None:
            return self.settled
        share = scores[top] / (sum(scores.values()) or 1.0)
        if self.settled is not None and top != self.settled and share < SETTLE_SHARE:
            return self.settled
        if not with_prior and share < SETTLE_SHARE:
            return self.settled  # not (yet) enough agreement to settle or re-settle
        return top

    def best_with(self, probabilities: list[tuple[str, float]] | None, seconds: float) -> str | None:
        """The language a decode's text should be in, were this detection added: one odd
        utterance does not come out in another language than the vote's."""
        if self.fixed:
            return self.fixed
        scores = defaultdict(float, self._scores)
        self._weigh(scores, probabilities or [], seconds)
        return self._choice(scores)

    def best(self) -> str | None:
        if self.settled:
            return self.settled
        return self._choice(self._scores)

    def _weigh(
        self, scores: dict[str, float], probabilities: list[tuple[str, float]], seconds: float
    ) -> None:
        # A confused detection (its top language far from sure) says little: each counts by its
        # own confidence too. Real speech is detected at 0.87-0.98 from 0.9 s on; espeak's French
        # at 0.3-0.5 with English close behind, which outvoted the operator's French default.
        confidence = max((p for _lang, p in probabilities), default=0.0)
        for lang, p in probabilities:
            if not self.candidates or lang in self.candidates:
                scores[lang] += p * confidence * seconds

    def for_decode(self, *, final: bool = False, seconds: float = 0.0) -> str | None:
        """The language to force on the next decode, or None to let Whisper detect."""
        if self.fixed:
            return self.fixed
        if self.settled:
            return None if final and seconds >= RECHECK_SECONDS else self.settled
        if final and (seconds >= DETECT_MIN_SECONDS or self.prior or self.default):
            return None  # detect: with a prior, even a short reply is evidence (the prior guards its text)
        if self._evidence >= USE_BEST_AFTER_SECONDS or self.prior:
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
    def language(self) -> str | None:
        """The language decided for this stream (given or settled), None while voting."""
        return self.fixed or self.settled

    @property
    def current(self) -> str:
        return self.fixed or self.best() or ""


def _top(scores: dict[str, float]) -> str | None:
    return max(scores.items(), key=lambda kv: kv[1])[0] if scores else None
