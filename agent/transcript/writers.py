"""Writers of a file's transcript: plain text, JSON (with streaming word timings), WebVTT, SRT.

Offline and streaming transcripts share them, so their outputs compare line for line.
"""

from __future__ import annotations

import json
from typing import Any

from agent.formats import Cue, to_srt, to_webvtt
from agent.timebase import Word
from agent.transcript.document import Transcript

FORMATS = ("text", "json", "vtt", "srt")
# Scripts written without spaces between words: cue text is joined without separators.
_NO_SPACE_LANGUAGES = {"zh", "ja", "th", "lo", "my", "yue", "bo"}


def _r(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(float(value), digits)


def to_text(transcript: Transcript) -> str:
    """One line per segment: what a human wants to read or grep."""
    lines = [s.text.strip() for s in transcript.segments if s.text.strip()]
    return "\n".join(lines) + ("\n" if lines else "")


def to_json_dict(transcript: Transcript) -> dict[str, Any]:
    segments = []
    for index, seg in enumerate(transcript.segments):
        words = []
        for w in seg.words:
            word: dict[str, Any] = {
                "start": _r(w.start),
                "end": _r(w.end),
                "text": w.text.strip(),
                "probability": _r(w.probability, 4),
            }
            if w.first_seen is not None:
                word["first_seen"] = _r(w.first_seen)
            if w.committed_at is not None:  # "final_at" in the JSON: when it was committed
                word["final_at"] = _r(w.committed_at)
            words.append(word)
        item: dict[str, Any] = {
            "id": index,
            "start": _r(seg.start),
            "end": _r(seg.end),
            "text": seg.text.strip(),
            "words": words,
        }
        if seg.speaker is not None:
            item["speaker"] = seg.speaker
        segments.append(item)
    return {
        "source": transcript.source,
        "mode": transcript.mode,
        "model": transcript.model,
        "language": transcript.language,
        "language_probability": _r(transcript.language_probability, 4),
        "duration": _r(transcript.duration),
        "text": transcript.text,
        "segments": segments,
        "stats": transcript.stats,
    }


def to_json(transcript: Transcript) -> str:
    return json.dumps(to_json_dict(transcript), ensure_ascii=False, indent=2) + "\n"


_SENTENCE_END = (".", "?", "!", "。", "？", "！")
_CLAUSE_END = (*_SENTENCE_END, ",", ";", ":", "，", "、")


def _clause_cut(group: list[Word]) -> int:
    """Where to split an over-long cue: after the last punctuated word in its last two thirds."""
    for i in range(len(group), max(1, len(group) // 3), -1):
        if group[i - 1].text.strip().endswith(_CLAUSE_END):
            return i
    return len(group)


def to_cues(
    transcript: Transcript, max_chars: int = 84, max_duration: float = 7.0, max_pause: float = 1.0
) -> list[Cue]:
    """Caption-sized cues re-flowed from the words, not Whisper's segments.

    Whisper segments run up to 30 s and often end mid-sentence ("... At" / "least, you know");
    subtitles read best as at most two lines of 42 characters, shown at most 7 s, broken at
    sentence ends, clause punctuation, pauses and speaker changes. Segments without word
    timestamps are kept whole.
    """
    joiner = "" if (transcript.language or "") in _NO_SPACE_LANGUAGES else " "
    cues: list[Cue] = []

    def text_of(words: list[Word]) -> str:
        return joiner.join(w.text.strip() for w in words).strip()

    def flush(words: list[Word], speaker: str | None) -> None:
        if words:
            cues.append(Cue(words[0].start, words[-1].end, text_of(words), speaker))

    group: list[Word] = []
    speaker: str | None = None
    for seg in transcript.segments:
        if not seg.text.strip():
            continue
        if not seg.words or seg.speaker != speaker:
            flush(group, speaker)
            group, speaker = [], seg.speaker
        if not seg.words:
            cues.append(Cue(seg.start, seg.end, seg.text.strip(), seg.speaker))
            continue
        for word in seg.words:
            if not word.text.strip():
                continue
            if group:
                current = text_of(group)
                pause = word.start - group[-1].end > max_pause
                sentence = current.endswith(_SENTENCE_END) and len(current) >= max_chars // 2
                too_long = (
                    len(text_of([*group, word])) > max_chars or word.end - group[0].start > max_duration
                )
                if pause or sentence:
                    flush(group, speaker)
                    group = []
                elif too_long:
                    cut = _clause_cut(group)
                    flush(group[:cut], speaker)
                    group = group[cut:]
            group.append(word)
    flush(group, speaker)
    return cues


def render(transcript: Transcript, fmt: str) -> str:
    """The transcript in one of ``FORMATS``."""
    if fmt == "text":
        return to_text(transcript)
    if fmt == "json":
        return to_json(transcript)
    if fmt == "vtt":
        return to_webvtt(to_cues(transcript))
    if fmt == "srt":
        return to_srt(to_cues(transcript))
    raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
