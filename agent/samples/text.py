"""Text normalisation for word error rate, so that WER measures words, not punctuation or case.

The same transform is applied to reference and hypothesis. English contractions are expanded
("didn't" -> "did not") because Whisper and human transcribers choose differently; other
languages only split on apostrophes ("l'homme" -> "l homme"), which is consistent on both sides.
"""

from __future__ import annotations

import jiwer

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


def normalize_for_wer(text: str, language: str = "en") -> str:
    """Lower-case, contraction-expanded (English), punctuation-free, single-spaced text."""
    transform = _ENGLISH if language.startswith("en") else _OTHER
    return str(transform(text))


def word_error_rate(reference: str, hypothesis: str, language: str = "en") -> float:
    """WER after ``normalize_for_wer`` on both sides; an empty reference counts insertions."""
    ref = normalize_for_wer(reference, language)
    hyp = normalize_for_wer(hypothesis, language)
    if not ref:
        return float(len(hyp.split()))
    if not hyp:
        return 1.0
    return float(jiwer.wer(ref, hyp))
