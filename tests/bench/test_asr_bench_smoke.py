"""Smoke test of bench/asr_bench.py: its core functions on a few seconds of real speech with tiny.en.

Checks the structure of the results only: timings depend on the machine and are never asserted.
"""

from __future__ import annotations

import importlib.util
import json
import math
import sys
from pathlib import Path

import pytest

from agent.asr.engine import SpeechEngine
from agent.asr.settings import AsrSettings
from agent.samples import SampleUnavailableError

BENCH = Path(__file__).resolve().parents[2] / "bench" / "asr_bench.py"


def _load_bench():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("asr_bench", BENCH)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["asr_bench"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def bench():  # type: ignore[no-untyped-def]
    return _load_bench()


@pytest.fixture(scope="module")
def clip(bench):  # type: ignore[no-untyped-def]
    try:
        full = bench.pyannote_clip()
    except SampleUnavailableError as exc:
        pytest.skip(str(exc))
    # "Oh, hello, I didn't know you were there." and its neighbours: a few seconds, several utterances.
    part = bench.window_clip(full, 6.0, 14.0)
    assert part.reference and part.utterances
    return part


@pytest.fixture(scope="module")
def engine():  # type: ignore[no-untyped-def]
    eng = SpeechEngine(AsrSettings(model="tiny.en", language="en"))
    yield eng
    eng.close()


def _is_summary(s: dict) -> bool:
    if set(s) != {"n", "p50", "p95", "mean", "max"}:
        return False
    return s["n"] == 0 or all(isinstance(s[k], float) and math.isfinite(s[k]) for k in ("p50", "p95"))


def test_systems_on_a_few_seconds(bench, clip, engine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    settings = engine.settings
    offline = bench.run_offline(engine.decoder, clip, beam_size=1)
    assert offline["system"] == "offline"
    assert 0.0 <= offline["wer"] and offline["rtf"] > 0 and offline["text"]

    segments = bench.vad_segments(engine.vad_model, clip.audio, settings)
    assert segments and all(s < e and closed >= e / bench.SAMPLE_RATE - 1e-6 for s, e, closed in segments)
    baseline = bench.run_vad_baseline(engine.decoder, engine.vad_model, clip, settings)
    assert baseline["system"] == "vad-final"
    for key in ("interim_latency", "final_latency", "eou_final_latency", "segment_final_latency"):
        assert _is_summary(baseline[key]), key
    assert baseline["final_latency"]["n"] > 0

    streaming = bench.run_streaming(engine.decoder, engine.vad_model, clip, settings)
    assert streaming["system"] == "streaming"
    assert streaming["final_events"] >= 1 and streaming["decodes"] >= 1
    for key in ("interim_latency", "final_latency", "eou_final_latency", "segment_final_latency"):
        assert _is_summary(streaming[key]), key
    assert streaming["final_latency"]["n"] > 0
    assert streaming["cpu_per_audio_s"] >= 0 and streaming["max_buffer_s"] > 0

    conc = bench.run_concurrency(engine, clip, 1, 3.0)
    assert conc["streams"] == 1 and isinstance(conc["keeps_up"], bool)
    assert _is_summary(conc["final_latency"]) and _is_summary(conc["interim_latency"])
    assert conc["utilisation_mean"] is None or 0.0 <= conc["utilisation_mean"] <= 1.0

    results = {
        "mode": "smoke",
        "machine": bench.machine_info(),
        "settings": {"model": settings.model},
        "recordings": {clip.name: {"duration_s": clip.duration, "offline": offline,
                                   "vad_final": baseline, "streaming": streaming}},
        "concurrency": [conc],
    }  # fmt: skip
    table = bench.systems_table(results)
    assert table.count("\n") == 4 and "streaming" in table and "vad-final" in table
    assert "| 1 |" in bench.concurrency_table(results)
    assert bench.targets_lines(results)
    png = tmp_path / "cdf.png"
    bench.plot_cdf(results, png)
    assert png.stat().st_size > 1000
    encoded = json.loads(json.dumps(bench._public(results)))
    assert "latencies" in encoded["recordings"][clip.name]["streaming"]


def test_stream_feeds_end_in_pauses(bench, clip) -> None:  # type: ignore[no-untyped-def]
    feeds = bench.stream_feeds(clip, 3, 5.0)
    assert len(feeds) == 3
    cuts = set(clip.cut_points())
    for feed in feeds:
        assert len(feed) >= 5.0 * bench.SAMPLE_RATE
    assert cuts and 0 in cuts


def test_summary_and_eou(bench) -> None:  # type: ignore[no-untyped-def]
    from agent.asr.events import Word

    assert bench.summary([])["n"] == 0
    s = bench.summary([1.0, 2.0, 3.0])
    assert s["n"] == 3 and s["p50"] == 2.0 and s["max"] == 3.0
    words = [(Word("a", 0.0, 0.5), 1.0), (Word("b", 0.5, 1.0), 2.5), (Word("c", 3.0, 3.5), 4.0)]
    assert bench.eou_latencies([(0.0, 1.0, "a b"), (3.0, 3.5, "c"), (5.0, 6.0, "d")], words) == [1.5, 0.5]
