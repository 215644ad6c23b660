"""Benchmark: where streaming loses words on conversation, cause by cause, against the offline pass.

Issue 18: greffier's streaming finals read a few WER points worse than one offline pass on the
only real conversation we have. This script runs an English conversation set (the packaged real
call, and conversations composed from its utterances: clean turn-taking, quick turns under the
VAD's 500 ms, overlapping turns as one shared microphone hears them, plus neural-TTS read speech)
through the streaming engine on a simulated real-time clock (``simulate_stream``), once per
*variant*: each variant changes one thing that may cost accuracy (the final's policy, greedy
finals, prompt conditioning, the encoder window, VAD boundaries, segment cuts). It prints one table
per clip and one pooled over the set, with the number of reference words so one word's weight is
visible, and the offline pass (faster-whisper ``transcribe``, VAD filter, beam 5) as the target.

    .venv/bin/python bench/conversation_bench.py [--variants default,redecode] [--repeats 2]

Not part of CI. The ``no-prompt`` variant patches the recogniser's prompt for the run (an
experiment, not a setting); every other variant is a real setting.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from asr_bench import Clip, machine_info, meeting_clip, pyannote_clip, run_offline, run_streaming

from agent.asr.engine import SpeechEngine
from agent.asr.recognizer import StreamingRecognizer
from agent.asr.settings import AsrSettings
from agent.audio.decode import load_audio
from agent.samples import pyannote_sample, utterance_clips
from agent.samples.text import normalize_for_wer
from agent.samples.tts_clips import tts_clips
from agent.timebase import SAMPLE_RATE


# --------------------------------------------------------------------------------------------------
# The conversation set
# --------------------------------------------------------------------------------------------------
def _lay_out(pieces: list[tuple[str, np.ndarray]], gaps: list[float], name: str, description: str) -> Clip:
    """Utterances one after another; a negative gap overlaps the next one (mixed, as one mic)."""
    starts: list[int] = []
    cursor = 0
    for i, (_, audio) in enumerate(pieces):
        starts.append(max(0, cursor))
        cursor = starts[-1] + len(audio) + round((gaps[i] if i < len(gaps) else 0.0) * SAMPLE_RATE)
    total = max(s + len(a) for s, (_, a) in zip(starts, pieces, strict=True)) + SAMPLE_RATE
    mix = np.zeros(total, dtype=np.float32)
    spans = []
    for s, (text, audio) in zip(starts, pieces, strict=True):
        mix[s : s + len(audio)] += audio
        spans.append((s / SAMPLE_RATE, (s + len(audio)) / SAMPLE_RATE, text))
    np.clip(mix, -1.0, 1.0, out=mix)
    return Clip(
        name=name,
        audio=mix,
        reference=" ".join(t for _, _, t in spans),
        utterances=spans,
        description=description,
    )


def call_pieces() -> list[tuple[str, np.ndarray]]:
    return [(u.text, a) for u, a in utterance_clips(pyannote_sample())]


def quick_turns_clip() -> Clip:
    pieces = call_pieces()
    rng = np.random.default_rng(18)
    gaps = list(rng.uniform(0.2, 0.45, len(pieces)))
    return _lay_out(pieces, gaps, "quick-turns", "the call's 13 utterances, 0.2-0.45 s gaps (under the VAD's 500 ms)")


def overlaps_clip() -> Clip:
    pieces = call_pieces()
    gaps = [-0.4 if i % 3 == 2 else 0.6 for i in range(len(pieces))]
    return _lay_out(pieces, gaps, "overlaps", "the call's utterances, every third turn starting 0.4 s before the last ends")


def tts_clip() -> Clip:
    pieces = [(c.text, load_audio(c.wav)) for c in tts_clips("en")]
    return _lay_out(pieces, [0.6] * len(pieces), "tts-en", "pytest-audioeval's 3 English neural-TTS clips, 0.6 s gaps")


def conversation_set(workdir: Path) -> list[Clip]:
    return [pyannote_clip(), meeting_clip(workdir, repeats=1), quick_turns_clip(), overlaps_clip(), tts_clip()]


# --------------------------------------------------------------------------------------------------
# Variants: one possible cause each
# --------------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Variant:
    name: str
    cause: str
    change: Callable[[AsrSettings], AsrSettings] = lambda s: s
    patch: Callable[[], Any] | None = None  # a context manager factory


@contextmanager
def _no_prompt() -> Iterator[None]:
    original = StreamingRecognizer._prompt
    StreamingRecognizer._prompt = lambda self: ""  # type: ignore[method-assign]
    try:
        yield
    finally:
        StreamingRecognizer._prompt = original  # type: ignore[method-assign]


VARIANTS = [
    Variant("default", "as shipped (the final re-decodes the utterance, beam 5, prompt, 10 s window)"),
    Variant(
        "keep",
        "the final keeps the words interims agreed on, adds what follows (ASR_FINAL_POLICY=keep)",
        lambda s: dataclasses.replace(s, final_policy="keep"),
    ),
    Variant(
        "merge",
        "the final and the agreed words merged by word confidence (ASR_FINAL_POLICY=merge)",
        lambda s: dataclasses.replace(s, final_policy="merge"),
    ),
    Variant("greedy-final", "greedy finals, as under load (WHISPER_FINAL_BEAM_SIZE=1)",
            lambda s: dataclasses.replace(s, final_beam_size=1)),
    Variant("no-prompt", "no conditioning on the previous finals (patched)", patch=_no_prompt),
    Variant("window-30s", "Whisper's full 30 s encoder window (ASR_WINDOW_MIN_SECONDS=0)",
            lambda s: dataclasses.replace(s, window_min_seconds=0.0)),
    Variant("vad-300ms", "utterances end after 300 ms of silence (VAD_MIN_SILENCE_MS=300)",
            lambda s: dataclasses.replace(s, vad_min_silence_ms=300)),
    Variant("long-buffer", "fewer cuts in continuous speech (ASR_TRIM_SECONDS=12, MAX_BUFFER=24)",
            lambda s: dataclasses.replace(s, trim_seconds=12.0, max_buffer_seconds=24.0)),
    *(
        Variant(f"context-{n}s", f"the final decode hears the stream's last {n} s of speech first, "
                f"its words told apart by text (ASR_FINAL_CONTEXT_SECONDS={n})",
                lambda s, n=n: dataclasses.replace(s, final_context_seconds=float(n)))
        for n in (4, 8, 15)
    ),
    *(
        Variant(f"context-{n}s-time", f"as context-{n}s, its words told apart by timestamps "
                f"(ASR_FINAL_CONTEXT_ALIGN=time)",
                lambda s, n=n: dataclasses.replace(s, final_context_seconds=float(n), final_context_align="time"))
        for n in (4, 8, 15)
    ),
]


# --------------------------------------------------------------------------------------------------
# Runs and tables
# --------------------------------------------------------------------------------------------------
def ref_words(clip: Clip) -> int:
    return len(normalize_for_wer(clip.reference, clip.language).split())


def pooled(rows: list[dict[str, Any]]) -> float:
    """Errors over the whole set / reference words of the whole set."""
    words = sum(r["ref_words"] for r in rows)
    return sum(r["wer"] * r["ref_words"] for r in rows) / max(1, words)


# Seconds one decode of Whisper base (int8, one thread) takes here: a greedy interim about 0.4 s
# in a 10 s window (README, "Under load"), growing with the window; a beam-5 final about 2.5
# greedy decodes. Decodes advance the simulated clock by this instead of their wall time, so a run gets the
# same interims on a loaded machine as on an idle one and variants differ only by their change.
# Repeat N runs with the costs scaled by SCALES[N]: other interim timings, the same model.
SCALES = (1.0, 0.8, 1.25, 0.65, 1.5)


def decode_cost(settings: AsrSettings, scale: float = 1.0) -> Callable[[Any, Any], float]:
    def cost(job: Any, hyp: Any) -> float:
        seconds = len(job.audio) / SAMPLE_RATE  # a final's left context included
        greedy = 0.10 + 0.03 * max(seconds, settings.window_min_seconds or 30.0)  # the encoder's window
        wide = job.kind == "final" and not job.loaded and settings.final_beam_size > 1
        return scale * greedy * (2.5 if wide else 1.0)

    return cost


def run_variant(
    engine: SpeechEngine, clips: list[Clip], base: AsrSettings, variant: Variant, measured: bool,
    scale: float = 1.0,
) -> list[dict[str, Any]]:
    settings = variant.change(base)
    rows = []
    cost = None if measured else decode_cost(settings, scale)
    with variant.patch() if variant.patch else _nothing():
        for clip in clips:
            r = run_streaming(
                engine.decoder, engine.vad_model, clip, dataclasses.replace(settings, language="en"), cost=cost
            )
            rows.append({
                "clip": clip.name,
                "variant": variant.name,
                "ref_words": ref_words(clip),
                "wer": r["wer"],
                "shown_p50": r["interim_latency"].get("p50"),
                "shown_p95": r["interim_latency"].get("p95"),
                "committed_p50": r["final_latency"].get("p50"),
                "cpu_per_audio_s": r["cpu_per_audio_s"],
                "text": r["text"],
            })
            print(f"  {variant.name:<13} {clip.name:<14} WER {r['wer']:.1%}", file=sys.stderr, flush=True)
    return rows


@contextmanager
def _nothing() -> Iterator[None]:
    yield


def _f(v: float | None, pct: bool = False) -> str:
    if v is None:
        return "–"
    return f"{v:.1%}" if pct else f"{v:.2f}"


def tables(clips: list[Clip], offline: list[dict[str, Any]], runs: dict[str, list[list[dict[str, Any]]]]) -> str:
    lines = ["| clip | ref words | offline | " + " | ".join(runs) + " |",
             "|---|---:|---:|" + "---:|" * len(runs)]
    for i, clip in enumerate(clips):
        cells = []
        for reps in runs.values():
            values = [rep[i]["wer"] for rep in reps]
            cell = _f(statistics.mean(values), True)
            if len(values) > 1:
                cell += f" ({min(values):.0%}–{max(values):.0%})"
            cells.append(cell)
        lines.append(f"| {clip.name} | {ref_words(clip)} | {_f(offline[i]['wer'], True)} | " + " | ".join(cells) + " |")
    total = sum(ref_words(c) for c in clips)
    cells = []
    for reps in runs.values():
        values = [pooled(rep) for rep in reps]
        cell = _f(statistics.mean(values), True)
        if len(values) > 1:
            cell += f" ({min(values):.1%}–{max(values):.1%})"
        cells.append(cell)
    lines.append(f"| **pooled** | {total} | {_f(pooled(offline), True)} | " + " | ".join(cells) + " |")
    lines += ["", "| variant | cause | pooled WER | vs offline (points) | shown p50 / p95 s | committed p50 s |",
              "|---|---|---:|---:|---:|---:|"]
    causes = {v.name: v.cause for v in VARIANTS}
    off = pooled(offline)
    for name, reps in runs.items():
        w = statistics.mean(pooled(rep) for rep in reps)
        rows = [r for rep in reps for r in rep]
        p50 = statistics.median([r["shown_p50"] for r in rows if r["shown_p50"] is not None])
        p95 = statistics.median([r["shown_p95"] for r in rows if r["shown_p95"] is not None])
        c50 = statistics.median([r["committed_p50"] for r in rows if r["committed_p50"] is not None])
        lines.append(f"| {name} | {causes[name]} | {w:.1%} | {100 * (w - off):+.1f} | {p50:.2f} / {p95:.2f} | {c50:.2f} |")
    lines.append("")
    lines.append("Latency cells: the median over clips of each clip's p50 / p95 (seconds after the word's end).")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variants", default=",".join(v.name for v in VARIANTS))
    parser.add_argument("--repeats", type=int, default=1,
                        help="runs per variant, each with the decode costs scaled (other interims)")
    parser.add_argument("--clips", default="", help="comma list of clip names (default: all)")
    parser.add_argument("--out", default="artifacts/bench/conversation")
    parser.add_argument("--measured-clock", action="store_true",
                        help="decodes take their wall time (as asr_bench), not the fixed cost model")
    args = parser.parse_args(argv)
    chosen = [v for v in VARIANTS if v.name in args.variants.split(",")]
    unknown = set(args.variants.split(",")) - {v.name for v in VARIANTS}
    if unknown:
        print(f"--variants: unknown {sorted(unknown)}; expected some of {[v.name for v in VARIANTS]}", file=sys.stderr)
        return 2
    out = Path(args.out)
    (out / "audio").mkdir(parents=True, exist_ok=True)
    clips = conversation_set(out / "audio")
    if args.clips:
        clips = [c for c in clips if c.name in args.clips.split(",")]
    base = dataclasses.replace(AsrSettings.from_env(), model="base")
    print(f"load average {os.getloadavg()}; loading base", file=sys.stderr)
    engine = SpeechEngine(base)
    started = time.perf_counter()
    offline = []
    for clip in clips:
        r = run_offline(engine.decoder, clip, language="en")
        offline.append({"clip": clip.name, "ref_words": ref_words(clip), "wer": r["wer"], "text": r["text"]})
    runs: dict[str, list[list[dict[str, Any]]]] = {v.name: [] for v in chosen}
    for rep in range(args.repeats):
        for variant in chosen:  # interleaved, so a load change hits every variant alike
            scale = SCALES[rep % len(SCALES)]
            runs[variant.name].append(run_variant(engine, clips, base, variant, args.measured_clock, scale))
    table = tables(clips, offline, runs)
    clock = "decodes at their wall time" if args.measured_clock else "decodes at the fixed cost model"
    print(f"\nWhisper base int8 on {machine_info()['cpu_count']} cores, {clock}, {args.repeats} run(s) per variant,"
          f" {time.perf_counter() - started:.0f} s; load average at the end {os.getloadavg()[0]:.2f}\n")
    print("\n".join(f"- {c.name}: {c.description}" for c in clips) + "\n")
    print(table)
    (out / "results.json").write_text(json.dumps({"offline": offline, "runs": runs}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
