"""The streaming policy's pure parts: LocalAgreement, overlap removal, repetition guard.

Kept free of models and clocks so they are unit-tested exhaustively.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from difflib import SequenceMatcher

from agent.asr.events import Word

_PUNCT = re.compile(r"[^\w']+", re.UNICODE)
SENTENCE_END = (".", "?", "!", "…", "。", "？", "！")


def norm(word: str) -> str:
    """Compare words without case, accents' composition or punctuation."""
    return _PUNCT.sub("", unicodedata.normalize("NFKC", word).lower())


def common_prefix(previous: Sequence[Word], current: Sequence[Word]) -> int:
    """Length of the longest prefix on which two consecutive hypotheses agree (LocalAgreement-2)."""
    n = 0
    for a, b in zip(previous, current, strict=False):
        if norm(a.text) != norm(b.text) or not norm(b.text):
            break
        n += 1
    return n


def drop_overlap(
    committed: Sequence[Word], hypothesis: list[Word], committed_end: float, slack: float = 0.15
) -> list[Word]:
    """Remove from a hypothesis the words that re-transcribe audio already committed.

    Words ending before the committed end are dropped by time; then up to five words repeating
    the committed tail are dropped by text, because timestamps near the boundary are fuzzy, but
    only when they start within ``slack`` of the committed end: a word said again later
    ("Hello? - Hello?") is speech, not an echo.
    """
    hyp = [w for w in hypothesis if w.end > committed_end + 0.05 or w.start >= committed_end - 0.05]
    if not committed or not hyp:
        return hyp
    if hyp[0].start >= committed_end + slack:
        return hyp
    tail = [norm(w.text) for w in committed[-5:]]
    for n in range(min(5, len(tail), len(hyp)), 0, -1):
        if tail[-n:] == [norm(w.text) for w in hyp[:n]]:
            return hyp[n:]
    # A boundary word cut in half is re-heard slightly differently ("there" -> "here").
    if similar(tail[-1], norm(hyp[0].text)) and hyp[0].start < committed_end:
        return hyp[1:]
    return hyp


def past_committed(
    committed: Sequence[Word], words: list[Word], committed_end: float, tolerance: float = 0.4
) -> list[Word]:
    """The words of a decode that heard the committed ones again (a final), after them.

    Aligned by text first: when the committed words' last one is found in the decode about where
    it was heard, the cut is right after it, so a word said twice ("Hello. Hello.") is kept even
    when its timestamps touch the committed end. Otherwise (the decode heard the committed tail
    differently) by time.
    """
    if not committed:
        return list(words)
    a = [norm(w.text) for w in committed]
    b = [norm(w.text) for w in words]
    for block in reversed(SequenceMatcher(None, a, b, autojunk=False).get_matching_blocks()):
        if block.size and block.a + block.size == len(a):
            last = words[block.b + block.size - 1]
            if abs(last.end - committed_end) <= tolerance:
                return words[block.b + block.size :]
            break
    return [w for w in words if w.end > committed_end + 0.05]


def merge_by_confidence(
    committed: Sequence[Word], final: Sequence[Word], keep_dropped: float = 0.7
) -> list[Word]:
    """The committed words, each stretch the final heard differently decided by confidence.

    Where the final replaced agreed words, the side with the higher mean word probability wins;
    words the final added are kept when it is at least even about them; agreed words the final
    dropped stay only when they were confident (interims also agree on a hallucinated "I hate it").
    """
    a = [norm(w.text) for w in committed]
    b = [norm(w.text) for w in final]
    out: list[Word] = []
    for tag, i1, i2, j1, j2 in SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        old, new = list(committed[i1:i2]), list(final[j1:j2])
        if tag == "equal":
            out += new
        elif tag == "replace":
            out += new if _confidence(new) >= _confidence(old) else old
        elif tag == "insert":
            out += new if _confidence(new) >= 0.5 else []
        else:  # delete
            out += old if _confidence(old) >= keep_dropped else []
    return out


def _confidence(words: Sequence[Word]) -> float:
    return sum(w.probability for w in words) / len(words) if words else 0.0


def similar(a: str, b: str, ratio: float = 0.75) -> bool:
    return bool(a) and bool(b) and SequenceMatcher(None, a, b).ratio() >= ratio


def strip_repetitions(words: list[Word], max_repeats: int = 2, longest: int = 10) -> list[Word]:
    """Cut the loop a decoder falls into at the end of a window ("and and and and...").

    An n-gram (n <= ``longest``) repeated more than ``max_repeats`` times in a row is kept once.
    Whole sentences loop too: in a two-speaker bench room the captions read "This is Diane in
    New Jersey." five times in a row, where it was said once.
    """
    out = list(words)
    changed = True
    while changed:
        changed = False
        texts = [norm(w.text) for w in out]
        for n in range(1, longest + 1):
            for i in range(0, len(texts) - n * (max_repeats + 1) + 1):
                gram = texts[i : i + n]
                if not all(gram):
                    continue
                reps = 1
                while texts[i + reps * n : i + (reps + 1) * n] == gram:
                    reps += 1
                if reps > max_repeats:
                    del out[i + n : i + reps * n]
                    changed = True
                    break
            if changed:
                break
    return out


def echoes_prompt(prompt: str, words: Sequence[Word], n: int = 3) -> bool:
    """Whether a decode starts by writing its prompt (the previous final) again.

    Whisper sometimes continues its prompt instead of transcribing the audio: a French room read
    "Merci d'être venue! Merci d'être venue! Merci d'être" and lost the sentence said next. A
    hypothesis whose first ``n`` words are ``n`` consecutive words of the prompt is suspect; the
    decoder then decodes it again without the prompt, which keeps a phrase really said twice.
    """
    said = [t for t in (norm(w) for w in prompt.split()) if t]
    head = [t for t in (norm(w.text) for w in words) if t][:n]
    if len(head) < n or len(said) < n:
        return False
    return any(said[i : i + n] == head for i in range(len(said) - n + 1))


def last_sentence_end(words: Sequence[Word]) -> int:
    """Index just past the last word that ends a sentence, or 0."""
    for i in range(len(words) - 1, -1, -1):
        if words[i].text.rstrip().endswith(SENTENCE_END):
            return i + 1
    return 0


def join_words(words: Sequence[Word]) -> str:
    """Whisper words carry their leading space; join and tidy."""
    return "".join(w.text for w in words).strip()


def trim_tail(words: list[Word], voice_end: float) -> list[Word]:
    """Clean the end of an utterance, where Whisper invents text in the trailing silence: very
    unsure words, words squeezed to no duration after the voice stopped, and a phrase of three
    or more words said again right away ("... not much difference. Well, there is not much ...").
    """
    out = list(words)
    while out:
        last = out[-1]
        squeezed = last.end - last.start < 0.03 and last.start > voice_end - 0.3
        if last.probability < 0.3 or squeezed:
            out.pop()
            continue
        break
    texts = [norm(w.text) for w in out]
    for n in range(len(texts) // 2, 2, -1):
        for i in range(len(texts) - 2 * n, -1, -1):
            if texts[i : i + n] == texts[i + n : i + 2 * n] and i + 2 * n >= len(texts) - 1:
                return out[: i + n]
    return out
