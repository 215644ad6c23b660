"""Text normalisation for word error rate, so that WER measures words, not punctuation or case.

The same transform is applied to reference and hypothesis. English contractions are expanded
("didn't" -> "did not") because Whisper and human transcribers choose differently; other
languages only split on apostrophes ("l'homme" -> "l homme"), which is consistent on both sides.
Whole numbers are spelled out in the text's language (num2words): Whisper writes "1, 2, 3" where
a reference says "one two three", and that is not an error a reader would see.
"""

from __future__ import annotations

import re

import jiwer
from num2words import num2words

_COMMON = [
    jiwer.SubstituteRegexes({r"[-‐–—/]": " "}),  # hyphens, dashes, slashes separate words
    jiwer.RemovePunctuation(),
    jiwer.RemoveMultipleSpaces(),
    jiwer.Strip(),
]
_ENGLISH = jiwer.Compose(
    [
        jiwer.ToLowerCase(),
        jiwer.SubstituteRegexes({"’": "'"}),
        jiwer.ExpandCommonEnglishContractions(),
        *_COMMON,
    ]
)
_OTHER = jiwer.Compose([jiwer.ToLowerCase(), jiwer.SubstituteRegexes({"['’]": " "}), *_COMMON])


_NUMBER = re.compile(r"(?<![\w.,])\d+(?![\w]|[.,]\d)")


def spell_numbers(text: str, language: str = "en") -> str:
    """Whole numbers as words ("10" -> "ten", "dix"); others (1.5, 3rd) are left as written."""
    lang = language.split("-")[0].lower()

    def spell(match: re.Match[str]) -> str:
        try:
            return str(num2words(int(match.group()), lang=lang))
        except (NotImplementedError, OverflowError):  # a language num2words lacks
            return match.group()

    return _NUMBER.sub(spell, text)


def normalize_for_wer(text: str, language: str = "en") -> str:
    """Lower-case, contraction-expanded (English), number-spelled, punctuation-free text."""
    transform = _ENGLISH if language.startswith("en") else _OTHER
    return str(transform(spell_numbers(text, language)))


def word_error_rate(reference: str, hypothesis: str, language: str = "en") -> float:
    """WER after ``normalize_for_wer`` on both sides; an empty reference counts insertions."""
    ref = normalize_for_wer(reference, language)
    hyp = normalize_for_wer(hypothesis, language)
    if not ref:
        return float(len(hyp.split()))
    if not hyp:
        return 1.0
    return float(jiwer.wer(ref, hyp))
