"""Benchmark: which words wait on continuous speech, and why (issue 18, item 4).

A ~44 s continuous English reading (the eight ``MONOLOGUE_TEXT["en"]`` sentences read by
espeak-ng back to back, each followed only by espeak's own ~0.39 s trailing silence, which is under
the VAD's 500 ms: one utterance from start to end; 125 reference words) goes through the streaming
policy on the simulated real-time clock of ``simulate_stream``, with the fixed decode-cost model of
``conversation_bench.decode_cost`` (a run gives the same interims on a loaded machine), language
given, Whisper ``base``.

Per reference word, as a caption client sees it (``peers_bench``'s method): **shown** = the first
time the word is in the text the client holds (finals + current interim), **committed** = the same
for finals + the interim's stable (agreed) prefix, minus the word's end from an offline decode
(beam 5, word timestamps). Every decode is logged (kind, early or not, audio heard, simulated start
and end, what the client held after it), and each word shown later than 1.5 s or committed later
than 1.0 s is classified by what happened between its end and that time (see ``classify_shown`` and
``classify_committed``).

    nice -n 19 .venv/bin/python bench/tail_bench.py                       # default only
    nice -n 19 .venv/bin/python bench/tail_bench.py --variants default,chunk-0.3,greedy-final
    nice -n 19 .venv/bin/python bench/tail_bench.py --variants all --json out.json

Not part of CI. ``no-early-final`` patches the recogniser for the run (an experiment, not a
setting); every other variant is a real setting. Decodes are cached by their exact inputs, so
variants share the decodes they have in common.
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import hashlib
import json
import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from asr_bench import Clip, summary, wer
from conversation_bench import decode_cost
from peers_bench import WordTimes, word_times

from agent.asr import redecode
from agent.asr.contracts import DecodeJob, Hypothesis
from agent.asr.decoder import WhisperDecoder
from agent.asr.recognizer import StreamingRecognizer
from agent.asr.settings import AsrSettings
from agent.asr.simulate import simulate_stream
from agent.asr.vad import SileroModel
from agent.audio.decode import load_audio
from agent.samples import normalize_for_wer, synth_speech
from agent.samples.compose import MONOLOGUE_TEXT
from agent.timebase import SAMPLE_RATE

SHOWN_LIMIT = 1.5
COMMITTED_LIMIT = 1.0


# --------------------------------------------------------------------------------------------------
# The clip and its word times
# --------------------------------------------------------------------------------------------------
def reading_clip(tail_silence: float = 1.0) -> Clip:
    """The eight English monologue sentences, espeak-ng, back to back (no pause added)."""
    pieces, spans, cursor = [], [], 0
    for sentence in MONOLOGUE_TEXT["en"]:
        audio = load_audio(synth_speech(sentence, "en"))
        spans.append((cursor / SAMPLE_RATE, (cursor + len(audio)) / SAMPLE_RATE, sentence))
        pieces.append(audio)
        cursor += len(audio)
    pieces.append(np.zeros(int(tail_silence * SAMPLE_RATE), dtype=np.float32))
    return Clip(
        name="espeak-en-continuous", audio=np.concatenate(pieces).astype(np.float32),
        reference=" ".join(MONOLOGUE_TEXT["en"]), language="en", utterances=spans,
        description="espeak-ng English, the 8 monologue sentences back to back (~0.39 s between them)",
    )  # fmt: skip


def offline_word_times(decoder: WhisperDecoder, clip: Clip) -> WordTimes:
    """Word ends from one offline pass (beam 5, VAD filter, 30 s windows, word timestamps)."""
    decoder.model._local.frames = None
    segments, _ = decoder.model.transcribe(
        clip.audio, language="en", beam_size=5, vad_filter=True, word_timestamps=True
    )
    return word_times(segments, "en")


# --------------------------------------------------------------------------------------------------
# Instrumented run
# --------------------------------------------------------------------------------------------------
@dataclasses.dataclass
class Decode:
    """One decode as the simulated stream saw it (seconds on the audio clock)."""

    index: int
    kind: str  # interim | final | early (a final decoded during a pause, used only if the end comes)
    start: float  # when it was asked (= the end of the audio it heard)
    done: float  # when its result was applied
    heard_from: float  # the buffer's start
    cost: float
    words: int  # words in the hypothesis
    cut: bool  # it closed a segment (a final, or an interim that trimmed the buffer)
    passes: int = 1  # model calls (2: decoded again in the voted language, or without an echoed prompt)
    committed: str = ""  # what the client held after it: finals + agreed prefix ...
    shown: str = ""  # ... and finals + the whole interim


class DecodeCache:
    """Decodes by their exact inputs: variants share the decodes they have in common."""

    def __init__(self, decoder: WhisperDecoder) -> None:
        self.decoder = decoder
        self.store: dict[tuple[Any, ...], tuple[Hypothesis, int]] = {}
        self.hits = self.misses = 0
        self.passes: dict[int, int] = {}  # id(job) -> model calls it took (a language or echo re-decode: 2)

    def __call__(self, job: DecodeJob, votes: Any) -> Hypothesis:
        key = (hashlib.sha1(job.audio.tobytes()).hexdigest(), job.kind, job.prompt, job.language,
               self.decoder.settings.window_min_seconds, self.decoder.beam_for(job.kind))  # fmt: skip
        if key not in self.store or job.language is None:  # detected: the result depends on the votes
            self.misses += 1
            calls = [0]
            plain = self.decoder.decode

            def counted(*a: Any, **kw: Any) -> Hypothesis:
                calls[0] += 1
                return plain(*a, **kw)

            self.decoder.decode = counted  # type: ignore[method-assign]
            try:
                hyp = redecode.decode_job(self.decoder, job, votes)
            finally:
                del self.decoder.decode
            self.store[key] = (hyp, calls[0])
        else:
            self.hits += 1
        hyp, self.passes[id(job)] = self.store[key]
        return hyp


def run(
    decoder: WhisperDecoder, vad: SileroModel, clip: Clip, settings: AsrSettings, cache: DecodeCache,
    scale: float = 1.0,
) -> tuple[list[Decode], list[Any]]:
    """Stream the clip; return every decode (with the client's view after it) and the events.
    A decode costs ``conversation_bench.decode_cost`` x ``scale`` per model call it made."""
    decodes: list[Decode] = []
    costs: dict[int, float] = {}
    passes: dict[int, int] = {}
    model = decode_cost(settings, scale)
    state = {"finals": [], "stable": "", "text": ""}
    original = StreamingRecognizer.apply

    def cost(job: DecodeJob, hyp: Hypothesis) -> float:
        passes[id(job)] = cache.passes.pop(id(job), 1)
        costs[id(job)] = model(job, hyp) * passes[id(job)]
        return costs[id(job)]

    def apply(self: StreamingRecognizer, job: DecodeJob, hyp: Hypothesis | None, now: float) -> list[Any]:
        buf_start = job.start_sample / SAMPLE_RATE
        events = original(self, job, hyp, now)
        for ev in events:
            if ev.kind == "final":
                state["finals"].append(ev.text.strip())
                state["stable"] = state["text"] = ""
            else:
                state["stable"] = "".join(w.text for w in ev.words[: ev.stable_words]).strip()
                state["text"] = ev.text.strip()
        done = " ".join(state["finals"])
        spent = costs.pop(id(job), 0.0)
        decodes.append(Decode(
            index=len(decodes), kind="early" if job.early else job.kind,
            start=round(job.end_sample / SAMPLE_RATE, 3), done=round(now, 3), heard_from=round(buf_start, 3),
            cost=round(spent, 3), words=len(hyp.words) if hyp is not None else 0,
            cut=any(ev.kind == "final" for ev in events), passes=passes.pop(id(job), 1),
            committed=f"{done} {state['stable']}".strip(), shown=f"{done} {state['text']}".strip(),
        ))  # fmt: skip
        return events

    StreamingRecognizer.apply = apply  # type: ignore[method-assign]
    try:
        events = simulate_stream(
            clip.audio, decoder, vad, settings, language=settings.language, decode=cache, cost=cost
        )
    finally:
        StreamingRecognizer.apply = original  # type: ignore[method-assign]
    return decodes, events


def first_index(ref: WordTimes, decodes: list[Decode], field: str) -> list[int | None]:
    """For each reference word, the first decode after which the client's text holds it
    (``peers_bench.first_times``' alignment; a match before the word began is ignored)."""
    first: list[int | None] = [None] * len(ref.tokens)
    matcher = difflib.SequenceMatcher(autojunk=False)
    matcher.set_seq2(ref.tokens)
    previous: list[str] | None = None
    for d in decodes:
        hyp = normalize_for_wer(getattr(d, field), "en").split()
        if hyp == previous or not hyp:
            continue
        previous = hyp
        matcher.set_seq1(hyp)
        for _, b, size in matcher.get_matching_blocks():
            for k in range(b, b + size):
                if first[k] is None and d.done >= ref.starts[k]:
                    first[k] = d.index
    return first


# --------------------------------------------------------------------------------------------------
# Why a word waited
# --------------------------------------------------------------------------------------------------
def _between(decodes: list[Decode], a: float, b: float) -> list[Decode]:
    return [d for d in decodes if d.done > a and d.start < b]


def classify_shown(end: float, shown: Decode, decodes: list[Decode]) -> str:
    """Why a word first showed more than ``SHOWN_LIMIT`` after its end (first cause that applies)."""
    during = _between(decodes, end, shown.done)
    heard = [d for d in during if d.kind != "early" and d.start >= end and d.index < shown.index]
    if any(d.passes > 1 for d in during):
        return "decoder busy with a second pass (language re-decode or prompt echo)"
    if any(d.kind == "early" for d in during):
        return "decoder busy with an early final (beam 5, in a sentence pause)"
    if shown.kind == "final":
        return "only the final showed it (end of stream)"
    if heard:
        if any(d.cut for d in heard) or shown.cut:
            return "a segment cut (trim) in between: the decode that heard it dropped it"
        return "heard but not in the hypothesis (tail word left out, misheard, then fixed)"
    if shown.cost > 0.6:
        return "one slow decode (long buffer)"
    return "chunk wait + decode cost"


def classify_committed(end: float, shown: Decode, committed: Decode, decodes: list[Decode]) -> str:
    """Why a word was committed more than ``COMMITTED_LIMIT`` after its end."""
    interims = [d for d in decodes if shown.index < d.index < committed.index and d.kind == "interim"]
    during = _between(decodes, end, committed.done)
    if any(d.passes > 1 for d in during):
        return "decoder busy with a second pass (language re-decode or prompt echo)"
    if any(d.kind == "early" for d in during):
        return "decoder busy with an early final (beam 5, in a sentence pause)"
    if committed.kind == "final":
        return "committed only by the end-of-stream final"
    if shown.done - end > SHOWN_LIMIT:
        return "shown late (see shown causes)"
    if not interims:
        return "LocalAgreement-2: the next decode agreed (one period after shown)"
    return f"hypotheses disagreed ({len(interims) + 1} decodes after shown)"


# --------------------------------------------------------------------------------------------------
# Variants
# --------------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Variant:
    name: str
    change: Callable[[AsrSettings], AsrSettings] = lambda s: s
    patch: Callable[[], Any] | None = None
    scale: float = 1.0  # decode costs x this (a slower or loaded machine)


@contextmanager
def _no_early_final() -> Iterator[None]:
    original = StreamingRecognizer._early_end
    StreamingRecognizer._early_end = lambda self: None  # type: ignore[method-assign]
    try:
        yield
    finally:
        StreamingRecognizer._early_end = original  # type: ignore[method-assign]


def _set(**kw: Any) -> Callable[[AsrSettings], AsrSettings]:
    return lambda s: dataclasses.replace(s, **kw)


VARIANTS = [
    Variant("default"),
    Variant("chunk-0.3", _set(chunk_seconds=0.3)),
    Variant("chunk-0.2", _set(chunk_seconds=0.2)),
    Variant("chunk-1.0", _set(chunk_seconds=1.0)),
    Variant("trim-3", _set(trim_seconds=3.0)),
    Variant("trim-12-max-24", _set(trim_seconds=12.0, max_buffer_seconds=24.0)),
    Variant("max-buffer-8", _set(max_buffer_seconds=8.0)),
    Variant("window-5", _set(window_min_seconds=5.0)),
    Variant("greedy-final", _set(final_beam_size=1)),
    Variant("vad-300ms", _set(vad_min_silence_ms=300)),
    Variant("final-keep", _set(final_policy="keep")),
    Variant("no-early-final", patch=_no_early_final),
    Variant("no-early-final+chunk-0.3", _set(chunk_seconds=0.3), patch=_no_early_final),
    Variant("detect", _set(language=None)),
    Variant("cost-x2", scale=2.0),
    Variant("cost-x2+greedy-final", _set(final_beam_size=1), scale=2.0),
    Variant("cost-x2+no-early-final", patch=_no_early_final, scale=2.0),
    Variant("cost-x2+detect", _set(language=None), scale=2.0),
]


@contextmanager
def _nothing() -> Iterator[None]:
    yield


def measure(
    decoder: WhisperDecoder, vad: SileroModel, clip: Clip, ref: WordTimes, base: AsrSettings,
    variant: Variant, cache: DecodeCache,
) -> dict[str, Any]:
    settings = variant.change(base)
    decoder.settings = settings  # the window and the beams the decoder reads
    with variant.patch() if variant.patch else _nothing():
        decodes, events = run(decoder, vad, clip, settings, cache, variant.scale)
    decoder.settings = base
    shown_i, committed_i = first_index(ref, decodes, "shown"), first_index(ref, decodes, "committed")
    words = []
    for k, token in enumerate(ref.tokens):
        end = ref.ends[k]
        s = decodes[shown_i[k]] if shown_i[k] is not None else None
        c = decodes[committed_i[k]] if committed_i[k] is not None else None
        row: dict[str, Any] = {"k": k, "word": token, "end": end,
                               "shown": None if s is None else round(s.done - end, 3),
                               "committed": None if c is None else round(c.done - end, 3)}  # fmt: skip
        if s is not None and s.done - end > SHOWN_LIMIT:
            row["shown_cause"] = classify_shown(end, s, decodes)
        if s is not None and c is not None and c.done - end > COMMITTED_LIMIT:
            row["committed_cause"] = classify_committed(end, s, c, decodes)
        words.append(row)
    finals = [e for e in events if e.is_final]
    text = " ".join(e.text for e in finals)
    own = [w for e in finals for w in e.words]
    return {
        "variant": variant.name,
        "wer": wer(clip, text),
        "shown": summary([w["shown"] for w in words if w["shown"] is not None]),
        "committed": summary([w["committed"] for w in words if w["committed"] is not None]),
        # The recogniser's own stamps on its final words (asr_bench's metric), for comparison.
        "own_shown": summary([w.first_seen - w.end for w in own if w.first_seen is not None]),
        "own_committed": summary([w.committed_at - w.end for w in own if w.committed_at is not None]),
        "never_shown": sum(w["shown"] is None for w in words),
        "shown_causes": dict(Counter(w["shown_cause"] for w in words if "shown_cause" in w)),
        "committed_causes": dict(Counter(w["committed_cause"] for w in words if "committed_cause" in w)),
        "decodes": Counter(d.kind for d in decodes),
        "second_passes": sum(d.passes > 1 for d in decodes),
        "cuts": [round(d.start, 2) for d in decodes if d.cut],
        "early_at": [round(d.start, 2) for d in decodes if d.kind == "early"],
        "text": text,
        "words": words,
        "timeline": [dataclasses.asdict(d) for d in decodes],
    }


def _pp(s: dict[str, Any]) -> str:
    return "–" if not s.get("n") else f"{s['p50']:.2f} / {s['p95']:.2f}"


def table(results: list[dict[str, Any]]) -> str:
    lines = ["| variant | shown p50 / p95 s | committed p50 / p95 s | WER | words shown > 1.5 s | "
             "committed > 1.0 s | decodes (interim / early / final) |",
             "|---|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
    for r in results:
        d = r["decodes"]
        lines.append(
            f"| {r['variant']} | {_pp(r['shown'])} | {_pp(r['committed'])} | {r['wer']:.1%} | "
            f"{sum(r['shown_causes'].values())} | {sum(r['committed_causes'].values())} | "
            f"{d.get('interim', 0)} / {d.get('early', 0)} / {d.get('final', 0)} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variants", default="default", help="comma list, or 'all'")
    parser.add_argument("--json", default="", help="write every result (per word, per decode) here")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads of the decoder")
    args = parser.parse_args(argv)
    names = [v.name for v in VARIANTS] if args.variants == "all" else args.variants.split(",")
    chosen = [v for v in VARIANTS if v.name in names]
    if len(chosen) != len(names):
        print(f"--variants: expected some of {[v.name for v in VARIANTS]}", file=sys.stderr)
        return 2
    base = dataclasses.replace(AsrSettings(), model="base", language="en", cpu_threads=args.threads,
                               decode_workers=1)  # fmt: skip
    decoder, vad = WhisperDecoder(base), SileroModel()
    clip = reading_clip()
    started = time.perf_counter()
    ref = offline_word_times(decoder, clip)
    offline_wer = wer(clip, ref.text)
    print(f"{clip.name}: {clip.duration:.1f} s, {len(normalize_for_wer(clip.reference, 'en').split())} "
          f"reference words; offline WER {offline_wer:.1%} ({len(ref.tokens)} timed words)", file=sys.stderr)
    cache = DecodeCache(decoder)
    results = []
    for variant in chosen:
        t0 = time.perf_counter()
        r = measure(decoder, vad, clip, ref, base, variant, cache)
        results.append(r)
        print(f"  {variant.name:<26} shown {_pp(r['shown'])}  committed {_pp(r['committed'])}  "
              f"WER {r['wer']:.1%}  ({time.perf_counter() - t0:.0f} s, cache {cache.hits}/{cache.misses})",
              file=sys.stderr, flush=True)
    print(f"\nWhisper base int8, {args.threads} thread(s), fixed decode-cost clock; "
          f"{time.perf_counter() - started:.0f} s; load {os.getloadavg()[0]:.2f}; offline WER {offline_wer:.1%}\n")
    print(table(results))
    for r in results:
        print(f"\n{r['variant']}: shown causes {r['shown_causes']}; committed causes {r['committed_causes']}")
    if args.json:
        Path(args.json).write_text(json.dumps({"offline": {"wer": offline_wer, "text": ref.text,
                                                           "tokens": ref.tokens, "ends": ref.ends},
                                               "results": results}, indent=1, default=str))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
