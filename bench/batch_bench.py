"""Batched decoding benchmark: N streams' decodes in one batched call versus one after another.

    .venv/bin/python bench/batch_bench.py [--model base] [--device auto] [--sizes 1,2,4,8]

What the scheduler does when ``ASR_BATCH_SIZE`` > 1: the decodes queued by different streams at
the same moment (each a few seconds of real speech, its own prompt and language) go through the
encoder and the decoder as one batch. For each N this runs N interim-style (beam 1) and N
final-style (beam ``--final-beam``) decodes both ways on real speech (pyannote's call, one clip per
stream) and reports the wall time. "Streams at 0.5 s" is how many streams one decoder can serve
if each needs one interim decode per 0.5 s chunk: the largest N whose batched interim decode takes
at most 0.5 s (an estimate from decode cost alone: no VAD, no network). Prints a Markdown table
and writes JSON.

``--audio FILE.npy`` (16 kHz float32) replaces the pyannote call, e.g. on a machine without it.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

from agent.asr import redecode
from agent.asr.batched import BatchDecoder
from agent.asr.contracts import DecodeJob
from agent.asr.decoder import WhisperDecoder
from agent.asr.language import LanguageVote
from agent.asr.settings import AsrSettings
from agent.timebase import SAMPLE_RATE

CHUNK_SECONDS = 0.5


def speech(path: str | None) -> np.ndarray:
    if path:
        return np.load(path).astype(np.float32)
    from agent.audio.decode import load_audio
    from agent.samples import pyannote_sample

    return load_audio(pyannote_sample().wav)


def jobs_for(audio: np.ndarray, n: int, seconds: float, kind: str) -> list[tuple[DecodeJob, LanguageVote]]:
    """N buffers of ``seconds`` each, from different places in the recording (different streams)."""
    span = int(seconds * SAMPLE_RATE)
    step = max(1, (len(audio) - span) // max(1, n))
    out = []
    for i in range(n):
        start = (i * step) % max(1, len(audio) - span)
        clip = audio[start : start + span]
        job = DecodeJob(
            kind=kind,  # type: ignore[arg-type]
            audio=clip,
            start_sample=0,
            end_sample=len(clip),
            prompt="",
            language="en",
            voice_end=len(clip),
        )
        out.append((job, LanguageVote("en")))
    return out


def text_of(hyp) -> str:  # type: ignore[no-untyped-def]
    return " ".join(w.text.strip() for w in hyp.words)


def timed(fn, repeats: int) -> float:  # type: ignore[no-untyped-def]
    fn()  # warm-up: CUDA kernels, allocator
    samples = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t)
    return statistics.median(samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="base")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--compute-type", default="default")
    parser.add_argument("--sizes", default="1,2,4,8")
    parser.add_argument("--seconds", type=float, default=5.0, help="audio per decode")
    parser.add_argument("--final-beam", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--audio", default=None)
    parser.add_argument("--out", default="artifacts/bench-batch")
    args = parser.parse_args()

    settings = AsrSettings(
        model=args.model, device=args.device, compute_type=args.compute_type, final_beam_size=args.final_beam
    )
    decoder = WhisperDecoder(settings)
    batch = BatchDecoder(decoder)
    audio = speech(args.audio)
    rows = []
    for n in [int(x) for x in args.sizes.split(",")]:
        row: dict[str, float | int] = {"streams": n}
        for kind in ("interim", "final"):
            jobs = jobs_for(audio, n, args.seconds, kind)
            single = timed(lambda jobs=jobs: [redecode.decode_job(decoder, j, v) for j, v in jobs], args.repeats)
            batched = timed(lambda jobs=jobs: redecode.decode_batch(batch, jobs), args.repeats)
            row[f"{kind}_single"] = single
            row[f"{kind}_batched"] = batched
            # Same words either way? (padding to a common window may change a word here and there)
            one = [text_of(redecode.decode_job(decoder, j, v)) for j, v in jobs]
            many = [text_of(h) for h in redecode.decode_batch(batch, jobs)]
            row[f"{kind}_same_text"] = sum(a == b for a, b in zip(one, many, strict=True)) / n
        rows.append(row)
        print(
            f"N={n}: interim {row['interim_single']:.3f}s one by one, {row['interim_batched']:.3f}s batched",
            file=sys.stderr,
        )
    served = max((int(r["streams"]) for r in rows if r["interim_batched"] <= CHUNK_SECONDS), default=0)
    served_single = max(
        (int(r["streams"]) for r in rows if r["interim_single"] <= CHUNK_SECONDS), default=0
    )
    print(
        f"\nWhisper `{args.model}` on {decoder.device} ({decoder.compute_type}), {args.seconds:.0f} s of"
        f" speech per decode, median of {args.repeats}\n"
    )
    print(
        "| streams | interim: one by one s | interim: batched s | speed-up"
        f" | final (beam {args.final_beam}): one by one s | final: batched s | speed-up | same text |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['streams']} | {r['interim_single']:.3f} | {r['interim_batched']:.3f}"
            f" | {r['interim_single'] / r['interim_batched']:.1f}x | {r['final_single']:.3f}"
            f" | {r['final_batched']:.3f} | {r['final_single'] / r['final_batched']:.1f}x"
            f" | {100 * (r['interim_same_text'] + r['final_same_text']) / 2:.0f} % |"
        )
    print(
        f"\nStreams one decoder serves at a {CHUNK_SECONDS} s chunk (interim decode within the chunk):"
        f" {served} batched, {served_single} one by one (largest N tried: {rows[-1]['streams']})"
    )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "batch_bench.json").write_text(
        json.dumps({"device": decoder.device, "compute_type": decoder.compute_type, "rows": rows}, indent=1)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
