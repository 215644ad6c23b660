"""The transcript writers shared by the offline and streaming paths, on hand-built transcripts."""

from __future__ import annotations

import dataclasses
import json

from agent.timebase import Word
from agent.transcript.document import Transcript
from agent.transcript.segment import Segment
from agent.transcript.writers import render, to_cues


def words_for(text: str, start: float, step: float = 0.4) -> tuple[Word, ...]:
    return tuple(
        Word(w, start + i * step, start + i * step + step * 0.8, 0.9) for i, w in enumerate(text.split())
    )


def segment(text: str, start: float, speaker: str = "") -> Segment:
    words = words_for(text, start)
    return Segment(start=start, end=words[-1].end, text=text, words=words, speaker_name=speaker)


def test_text_is_one_line_per_segment() -> None:
    tr = Transcript([segment("Hello there.", 0.0), segment("Second line.", 3.0)])
    assert render(tr, "text") == "Hello there.\nSecond line.\n"
    assert render(Transcript([]), "text") == ""


def test_json_keeps_stream_timings_only_when_set() -> None:
    seg = segment("one two", 1.0)
    first_word = dataclasses.replace(seg.words[0], first_seen=1.55, committed_at=2.1)
    seg = dataclasses.replace(seg, words=(first_word, *seg.words[1:]))
    data = json.loads(render(Transcript([seg], language="en", mode="stream"), "json"))
    first, second = data["segments"][0]["words"]
    assert (first["first_seen"], first["final_at"]) == (1.55, 2.1)
    assert "first_seen" not in second and "final_at" not in second
    assert data["mode"] == "stream" and data["text"] == "one two"


def test_long_segment_is_split_into_caption_cues() -> None:
    text = (
        "This is a long sentence that keeps going, and it goes on and on without stopping"
        " for a very long time because Whisper segments can last thirty seconds."
    )
    cues = to_cues(Transcript([segment(text, 0.0)]))
    assert len(cues) >= 3
    assert all(len(c.text) <= 84 and c.end - c.start <= 7.0 for c in cues)
    assert " ".join(c.text for c in cues) == text
    assert cues[0].text.endswith(",")  # broken after the clause, not mid-phrase


def test_cues_flow_across_segments_and_break_on_speaker_and_pause() -> None:
    tr = Transcript(
        [
            segment("Well there is not", 0.0, "A"),
            segment("much difference.", 1.6, "A"),
            segment("I agree.", 2.6, "B"),
            segment("Later on.", 10.0, "B"),
        ]
    )
    cues = to_cues(tr)
    assert [(c.text, c.speaker) for c in cues] == [
        ("Well there is not much difference.", "A"),
        ("I agree.", "B"),
        ("Later on.", "B"),
    ]


def test_segments_without_words_stay_whole_and_cjk_has_no_spaces() -> None:
    tr = Transcript([Segment(start=0.0, end=2.0, text="No words here.")])
    assert render(tr, "srt") == "1\n00:00:00,000 --> 00:00:02,000\nNo words here.\n"
    ja = Transcript([segment("今日は いい 天気", 0.0)], language="ja")
    assert to_cues(ja)[0].text == "今日はいい天気"


def test_vtt_escapes_text() -> None:
    out = render(Transcript([segment("a <b> & c", 0.0)]), "vtt")
    assert "a &lt;b&gt; &amp; c" in out
