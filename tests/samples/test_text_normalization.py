"""The WER convention shared by tests and benchmarks."""

from __future__ import annotations

import pytest

from agent.samples import normalize_for_wer, word_error_rate


@pytest.mark.parametrize(
    ("text", "lang", "expected"),
    [
        ("Well, there isn't THAT much difference!", "en", "well there is not that much difference"),
        ("I’m in New-Jersey   now.", "en", "i am in new jersey now"),
        ("L'équipe a terminé, aujourd'hui !", "fr", "l équipe a terminé aujourd hui"),
        ("", "en", ""),
        # Whisper writes digits where a speaker (and a reference) says words.
        ("1, 2, 3, 10.", "en", "one two three ten"),
        ("Un, 2, 71 !", "fr", "un deux soixante et onze"),
        ("Room 21b, 3rd floor", "en", "room 21b 3rd floor"),  # not whole numbers: left alone
        ("3 x", "zz", "3 x"),  # a language num2words lacks
    ],
)
def test_normalize(text: str, lang: str, expected: str) -> None:
    assert normalize_for_wer(text, lang) == expected


def test_word_error_rate() -> None:
    assert word_error_rate("Hello, world.", "hello world") == 0.0
    assert word_error_rate("I didn't know", "I did not know") == 0.0
    assert word_error_rate("one two three four", "one two four") == pytest.approx(0.25)
    assert word_error_rate("one two", "") == 1.0
    assert word_error_rate("", "ghost words") == 2.0
