"""The caption benchmark's word latency: when was each final word first on screen.

Why: the benchmark's headline ("words on screen p95 < 3 s") rests on matching a final's words to
the interim captions that showed them before. Matching by position made one word inserted early
in a sentence count every later word as unseen until the final (one speaker then read 3.3 s p95
instead of 1.3 s).
"""

from __future__ import annotations

from bench.captions_bench import decoder_use, final_words, lag_growth, word_latencies


def caption(at: float, final: bool, *words: str, segment: str = "s0", who: str = "a") -> dict:  # type: ignore[type-arg]
    return {
        "speaker": {"identity": who},
        "segment_id": segment,
        "final": final,
        "_received_at": at,
        "words": [{"text": f" {w}", "end": float(i)} for i, w in enumerate(words)],
    }


def test_a_word_inserted_by_the_final_does_not_unsee_the_words_after_it() -> None:
    messages = [
        caption(10.0, False, "hello", "word"),
        caption(11.0, False, "Hello,", "world", "how"),
        caption(12.0, True, "Oh,", "hello", "world", "how", "are"),
        caption(10.5, False, "not", "me", who="b"),  # another speaker's captions are ignored
    ]
    interim, final, by_final = word_latencies(messages, "a")
    # oh: only in the final; hello: since 10.0; world, how: since 11.0; are: only in the final.
    assert interim == [12.0 - 0, 10.0 - 1, 11.0 - 2, 11.0 - 3, 12.0 - 4]
    assert final == [12.0 - i for i in range(5)]
    assert by_final == 2


def test_segments_are_matched_separately() -> None:
    messages = [
        caption(1.0, False, "yes", segment="s0"),
        caption(2.0, True, "no", segment="s0"),
        caption(3.0, True, "yes", segment="s1"),  # said in the first segment's interim, not this one
    ]
    interim, _, by_final = word_latencies(messages, "a")
    assert interim == [2.0, 3.0] and by_final == 2


def test_decoder_use_from_two_scrapes() -> None:
    before = {
        "greffier_decode_seconds_sum{interim}": 1.0,
        "greffier_decode_seconds_count{interim}": 4.0,
        "greffier_decode_batch_size_sum{}": 4.0,
    }
    after = {
        "greffier_decode_seconds_sum{interim}": 7.0,
        "greffier_decode_seconds_count{interim}": 10.0,
        "greffier_decode_seconds_sum{final}": 2.0,
        "greffier_decode_seconds_count{final}": 2.0,
        "greffier_decode_batch_size_sum{}": 16.0,
        "greffier_asr_shed_finals_total{greedy}": 1.0,
        "greffier_asr_shed_finals_total{interim}": 3.0,
    }
    use = decoder_use(before, after, seconds=10.0)
    assert use["busy_share"] == 0.8 and use["interim_busy"] == 0.6 and use["final_busy"] == 0.2
    assert use["mean_batch"] == 12.0 / 8.0
    assert (use["finals_greedy"], use["finals_from_interim"]) == (1.0, 3.0)


def final_at(at: float, end: float, segment: str) -> dict:  # type: ignore[type-arg]
    return {
        "speaker": {"identity": "a"},
        "segment_id": segment,
        "final": True,
        "_received_at": at,
        "words": [{"text": " word", "end": end}],
    }


def test_lag_growth_tells_a_slow_stream_from_one_that_falls_behind() -> None:
    ends = [float(t) for t in range(40)]
    # Keeps up: 2.5 s late, give or take, from the first word to the last.
    steady = [final_at(e + 2.5 + (0.4 if i % 3 else -0.4), e, f"s{i}") for i, e in enumerate(ends)]
    # Falls behind: 0.3 s more late with every second spoken (decodes cost more than the audio).
    behind = [final_at(e + 0.5 + 0.3 * e, e, f"s{i}") for i, e in enumerate(ends)]
    assert abs(lag_growth(final_words(steady, "a")) or 1.0) < 0.02
    assert abs((lag_growth(final_words(behind, "a")) or 0.0) - 0.3) < 1e-6
    assert lag_growth(final_words(steady[:5], "a")) is None  # too few words to say


def test_a_word_is_on_a_visio_screen_with_the_first_segment_that_reaches_it() -> None:
    from agent.demo.visio import VisioSegment
    from bench.captions_bench import visio_latencies

    messages = [caption(20.0, True, "one", "two", "three", "four")]  # words end at 0, 1, 2, 3
    shown = [
        VisioSegment("a", "s0.1", "one two", 0.0, 1.0, 2.5),
        VisioSegment("b", "x.1", "other", 0.0, 5.0, 1.0),  # another speaker's segment
        VisioSegment("a", "s0.2", "three", 1.5, 2.0, 4.0),
    ]
    # "four" never reached a Visio screen: left out (the WER counts it).
    assert visio_latencies(messages, shown, "a") == [2.5 - 0, 2.5 - 1, 4.0 - 2]
