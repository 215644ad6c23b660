"""Extractive summary for when no LLM is available: the most representative sentences.

Deliberately simple and deterministic (no model, no randomness): a sentence scores the mean of its
content words' frequencies over the whole meeting; the top ones are shown in meeting order. Ties
break on position so the same transcript always gives the same summary.
"""

from __future__ import annotations

import math
import re
from collections import Counter

from agent.transcript.segment import Segment

_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")
_WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*", re.UNICODE)
STOPWORDS = frozenset(
    """
    a about above after again all also am an and any are as at be because been before being both
    but by can could did do does doing done down during each even few for from further get got had
    has have having he her here hers him his how i if in into is it its itself just know like me
    more most my no nor not now of off oh ok okay on once only or other our ours out over own really
    right said same say she should so some such than that the their theirs them then there these
    they thing things think this those through to too um uh under until up us very was we well were
    what when where which while who whom why will with would yeah yes you your yours going want
    alors au aussi aux avec avoir bah ben bien c ça ce cela ces cet cette chez comme d dans de des
    donc du elle elles en est et être eu euh fait faire il ils j je l la le les leur leurs lui m ma
    mais me même mes moi mon n ne ni nos notre nous on ont ou où oui par pas peu plus pour qu quand
    que quel quelle qui s sa sans se ses si son sont sur ta te tes toi ton tous tout très tu un une
    vos votre vous voilà y à été était va vais faut peut voir
    """.split()
)


def extractive_summary(segments: list[Segment], max_sentences: int = 5) -> list[tuple[str, str]]:
    """Return up to ``max_sentences`` (speaker name, sentence) pairs in meeting order."""
    sentences: list[tuple[int, str, str, list[str]]] = []
    for segment in segments:
        for sentence in _SENTENCE_END.split(segment.text.strip()):
            sentence = " ".join(sentence.split())
            words = [w.lower() for w in _WORD.findall(sentence)]
            content = [w for w in words if w not in STOPWORDS and len(w) > 2]
            if len(words) >= 4 and content:
                sentences.append((len(sentences), segment.speaker_name, sentence, content))
    if not sentences:
        return []
    frequency = Counter(w for *_, content in sentences for w in content)
    scored = sorted(
        sentences,
        key=lambda s: (-sum(frequency[w] for w in s[3]) / math.sqrt(len(s[3]) + 1), s[0]),
    )
    chosen = sorted(scored[:max_sentences], key=lambda s: s[0])
    return [(speaker, sentence) for _, speaker, sentence, _ in chosen]
