"""Benchmark: streaming speech recognition versus offline and VAD-segmented final-only baselines.

Same model for every system (default: multilingual Whisper ``base``, int8 on CPU), real speech:

- **offline**: ``WhisperModel.transcribe`` on the whole file (VAD filter, beam 5, word timestamps):
  the accuracy ceiling; WER and real-time factor.
- **vad-final**: what livekit-agents' ``StreamAdapter`` does with a non-streaming STT: Silero VAD
  segments (our ``VadStream`` over 20 ms frames), each decoded once when the VAD closes it, on one
  decoder and a simulated real-time clock (a segment's decode starts when the VAD closed it or when
  the decoder frees up). No interim text: a word first appears with its segment's final.
- **streaming**: our engine (``simulate_stream``: LocalAgreement policy, decodes advance the
  simulated clock by their real wall time): WER of the finals, interim and final word latency,
  end of utterance -> final, real-time factor, CPU seconds per audio second.
- **concurrency**: N ``RecognizerStream``s of one ``SpeechEngine`` in an asyncio loop, each fed the
  meeting recording (rotated, so the speakers do not pause together) in 20 ms frames at real-time
  pace, N = 1, 2, 3, 4, 6, 8...; stops at the first N that does not keep up.
- **monologue** (full mode only): 10 minutes of speech without a pause through ``simulate_stream``:
  RSS growth and the longest buffer the recognizer decoded.

Word latency = time the word was emitted (first interim / final) minus the word's end in the audio,
both on the stream's audio clock. "EOU -> final": for each reference utterance, when the last of
its words became final, minus the utterance's reference end.

    .venv/bin/python bench/asr_bench.py                     # full, about 15-20 min on 2 cores
    .venv/bin/python bench/asr_bench.py --quick             # about 3-4 min
    .venv/bin/python bench/asr_bench.py --model tiny.en --out artifacts/bench-tiny

Prints Markdown tables on stdout (progress on stderr) and writes ``results.json`` and
``latency_cdf.png`` into ``--out`` (default ``artifacts/bench``).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import math
import os
import platform
import resource
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import itertools

from agent.asr import redecode
from agent.asr.contracts import DecodeJob, Hypothesis
from agent.asr.decoder import WhisperDecoder
from agent.asr.engine import SpeechEngine
from agent.asr.events import TranscriptEvent, Word
from agent.asr.settings import AsrSettings
from agent.asr.simulate import simulate_stream
from agent.asr.vad import SileroModel, VadStream
from agent.audio.decode import load_audio
from agent.audio.wav import write_wav
from agent.timebase import SAMPLE_RATE

FRAME = SAMPLE_RATE // 50  # 20 ms, as WebRTC delivers
KEEP_UP_FINAL_P95 = 3.0  # s: a stream keeps up while its final word latency p95 stays under this
KEEP_UP_MAX_FINAL_LAG = 5.0  # s: ... and no final arrives later than this after its last word
KEEP_UP_MAX_FEED_LAG = 0.5  # s: the event loop itself must keep feeding audio on time
STREAM_COUNTS = (1, 2, 3, 4, 6, 8, 12, 16)

# Targets of issue 3 (2-core machine, multilingual base int8, one stream).
TARGET_INTERIM_P50 = 0.8
TARGET_INTERIM_P95 = 1.5
TARGET_EOU_FINAL = 1.0
TARGET_WER_GAP = 0.01


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------------
# Recordings
# --------------------------------------------------------------------------------------------------
@dataclass
class Clip:
    """A benchmark recording: audio, reference text and reference utterance spans (seconds)."""

    name: str
    audio: np.ndarray
    reference: str
    language: str = "en"
    utterances: list[tuple[float, float, str]] = field(default_factory=list)  # start, end, text
    description: str = ""

    @property
    def duration(self) -> float:
        return len(self.audio) / SAMPLE_RATE

    def cut_points(self, min_gap: float = 0.4) -> list[int]:
        """Sample positions in the middle of the pauses between utterances (for rotations)."""
        spans = sorted(self.utterances)
        cuts = [0]
        reach = 0.0
        for (_, e0, _), (s1, _, _) in itertools.pairwise(spans):
            reach = max(reach, e0)
            if s1 - reach >= min_gap:
                cuts.append(int((reach + s1) / 2 * SAMPLE_RATE))
        return cuts


def pyannote_clip() -> Clip:
    from agent.samples import pyannote_sample

    sample = pyannote_sample()
    utts = sorted(sample.utterances, key=lambda u: u.start)
    return Clip(
        name="pyannote-call",
        audio=load_audio(sample.wav),
        reference=sample.reference_text(),
        language="en",
        utterances=[(u.start, u.end, u.text) for u in utts],
        description="pyannote.audio sample: 30 s real English phone call, 2 speakers, STM reference",
    )


def meeting_clip(workdir: Path, repeats: int, gap: float = 1.5, noise_floor: float = 0.002) -> Clip:
    from agent.samples import build_meeting

    rec = build_meeting(
        workdir / f"meeting-x{repeats}.wav", repeats=repeats, gap=gap, noise_floor=noise_floor
    )
    return Clip(
        name=f"meeting-x{repeats}",
        audio=load_audio(rec.wav),
        reference=rec.reference_text(),
        language="en",
        utterances=[(u.start, u.end, u.text) for u in rec.utterances],
        description=(
            f"build_meeting: the call's 13 utterances x{repeats}, {gap} s gaps with noise RMS {noise_floor}"
        ),
    )


def french_clip(workdir: Path, gap: float = 1.2) -> Clip:
    """espeak-ng French sentences separated by pauses (synthetic: no real French with a reference)."""
    from agent.samples import synth_speech
    from agent.samples.compose import MONOLOGUE_TEXT

    pieces: list[np.ndarray] = []
    spans: list[tuple[float, float, str]] = []
    cursor = 0
    for sentence in MONOLOGUE_TEXT["fr"]:
        audio = load_audio(synth_speech(sentence, "fr"))
        spans.append((cursor / SAMPLE_RATE, (cursor + len(audio)) / SAMPLE_RATE, sentence))
        pieces += [audio, np.zeros(int(gap * SAMPLE_RATE), dtype=np.float32)]
        cursor += len(audio) + int(gap * SAMPLE_RATE)
    audio = np.concatenate(pieces).astype(np.float32)
    write_wav(workdir / "espeak-fr.wav", audio)
    return Clip(
        name="espeak-fr",
        audio=audio,
        reference=" ".join(MONOLOGUE_TEXT["fr"]),
        language="fr",
        utterances=spans,
        description="espeak-ng French (120 wpm), 7 sentences, 1.2 s pauses (synthetic voice)",
    )


def window_clip(clip: Clip, start: float, end: float) -> Clip:
    """A part of a clip with the reference utterances that lie wholly inside it (for smoke tests)."""
    a, b = int(start * SAMPLE_RATE), int(end * SAMPLE_RATE)
    spans = [(s - start, e - start, t) for s, e, t in clip.utterances if s >= start and e <= end]
    return dataclasses.replace(
        clip, name=f"{clip.name}[{start:g}-{end:g}]", audio=clip.audio[a:b].copy(),
        reference=" ".join(t for _, _, t in spans), utterances=spans,
    )  # fmt: skip


# --------------------------------------------------------------------------------------------------
# Statistics
# --------------------------------------------------------------------------------------------------
def summary(values: Sequence[float]) -> dict[str, float | int | None]:
    """n, p50, p95, mean, max of a list of seconds (None when empty)."""
    arr = np.asarray([v for v in values if v is not None and math.isfinite(v)], dtype=float)
    if arr.size == 0:
        return {"n": 0, "p50": None, "p95": None, "mean": None, "max": None}
    return {
        "n": int(arr.size),
        "p50": float(np.percentile(arr, 50)),
        "p95": float(np.percentile(arr, 95)),
        "mean": float(arr.mean()),
        "max": float(arr.max()),
    }


def wer(clip: Clip, hypothesis: str) -> float:
    from agent.samples import word_error_rate

    return word_error_rate(clip.reference, hypothesis, clip.language)


def eou_latencies(
    utterances: Sequence[tuple[float, float, str]], words: Sequence[tuple[Word, float]]
) -> list[float]:
    """Per reference utterance: when its last word (by word midpoint) became final, minus its end."""
    out = []
    for start, end, _ in utterances:
        times = [t for w, t in words if start <= (w.start + w.end) / 2 <= end]
        if times:
            out.append(max(times) - end)
    return out


class CountingDecoder:
    """Observes ``simulate_stream``'s decodes: counts them, their time and buffer lengths."""

    def __init__(self, decoder: WhisperDecoder, on_job: Callable[[DecodeJob], None] | None = None) -> None:
        self.decoder = decoder
        self.decodes = 0
        self.finals = 0
        self.decode_seconds = 0.0
        self.decoded_audio_seconds = 0.0
        self.max_buffer_seconds = 0.0
        self.on_job = on_job

    def decode_job(self, job: DecodeJob, languages: Any) -> Hypothesis:
        hyp = redecode.decode_job(self.decoder, job, languages)
        seconds = len(job.audio) / SAMPLE_RATE
        self.decodes += 1
        self.finals += job.kind == "final"
        self.decode_seconds += hyp.seconds
        self.decoded_audio_seconds += seconds
        self.max_buffer_seconds = max(self.max_buffer_seconds, seconds)
        if self.on_job:
            self.on_job(job)
        return hyp


def _usage_cpu() -> float:
    return time.process_time()


# --------------------------------------------------------------------------------------------------
# (a) offline
# --------------------------------------------------------------------------------------------------
def run_offline(
    decoder: WhisperDecoder, clip: Clip, *, beam_size: int = 5, language: str | None = None
) -> dict:
    """Whole-file ``transcribe`` with the decoder's loaded model (full 30 s windows, VAD filter)."""
    model = decoder.model
    model._local.frames = None  # no window trimming: plain faster-whisper
    if not decoder.multilingual:
        language = "en"
    wall0, cpu0 = time.perf_counter(), _usage_cpu()
    segments, info = model.transcribe(
        clip.audio, language=language, beam_size=beam_size, vad_filter=True, word_timestamps=True
    )
    segments = list(segments)
    wall, cpu = time.perf_counter() - wall0, _usage_cpu() - cpu0
    text = " ".join(s.text.strip() for s in segments)
    return {
        "system": "offline",
        "wer": wer(clip, text),
        "rtf": wall / clip.duration,
        "cpu_per_audio_s": cpu / clip.duration,
        "wall_s": wall,
        "language": info.language,
        "beam_size": beam_size,
        "text": text,
    }


# --------------------------------------------------------------------------------------------------
# (b) VAD-segmented, final-only (livekit-agents StreamAdapter)
# --------------------------------------------------------------------------------------------------
def vad_segments(
    vad_model: SileroModel, audio: np.ndarray, settings: AsrSettings
) -> list[tuple[int, int, float]]:
    """(start sample, end sample, time the VAD closed it) for every speech region, 20 ms frames."""
    vad = VadStream(vad_model, threshold=settings.vad_threshold, min_silence_ms=settings.vad_min_silence_ms)
    out: list[tuple[int, int, float]] = []
    start: int | None = None
    for pos in range(0, len(audio), FRAME):
        chunk = audio[pos : pos + FRAME]
        now = (pos + len(chunk)) / SAMPLE_RATE
        for ev in vad.process(chunk):
            if ev.kind == "start":
                start = ev.sample
            elif start is not None:
                out.append((start, min(ev.sample, len(audio)), now))
                start = None
    for ev in vad.flush():
        if ev.kind == "end" and start is not None:
            out.append((start, min(ev.sample, len(audio)), len(audio) / SAMPLE_RATE))
    return out


def run_vad_baseline(
    decoder: WhisperDecoder, vad_model: SileroModel, clip: Clip, settings: AsrSettings
) -> dict:
    """Each VAD segment decoded once when it closes, one decoder, simulated real-time clock.

    The decode call is the engine's (same model, beam and trimmed encoder window), so the
    difference with the streaming system is the policy, not the decoder settings."""
    wall0, cpu0 = time.perf_counter(), _usage_cpu()
    segments = vad_segments(vad_model, clip.audio, settings)
    free_at = 0.0
    decode_seconds = 0.0
    words: list[tuple[Word, float]] = []  # (word on the audio clock, time it was emitted)
    texts: list[str] = []
    segment_lat: list[float] = []
    for s, e, closed in segments:
        if e - s < int(0.1 * SAMPLE_RATE):
            continue
        hyp = decoder.decode(clip.audio[s:e], language=settings.language if decoder.multilingual else "en")
        decode_seconds += hyp.seconds
        done = max(free_at, closed) + hyp.seconds
        free_at = done
        offset, limit = s / SAMPLE_RATE, e / SAMPLE_RATE
        seg_words = [
            dataclasses.replace(w, start=w.start + offset, end=min(w.end + offset, limit),
                                first_seen=done, committed_at=done)
            for w in hyp.words if w.text.strip()
        ]  # fmt: skip
        if seg_words:
            texts.append("".join(w.text for w in seg_words).strip())
            words += [(w, done) for w in seg_words]
            segment_lat.append(done - seg_words[-1].end)
    wall, cpu = time.perf_counter() - wall0, _usage_cpu() - cpu0
    final_lat = [t - w.end for w, t in words]
    return {
        "system": "vad-final",
        "wer": wer(clip, " ".join(texts)),
        "segments": len(segments),
        "interim_latency": summary(final_lat),  # no interims: a word first shows with its final
        "final_latency": summary(final_lat),
        "eou_final_latency": summary(eou_latencies(clip.utterances, words)),
        "segment_final_latency": summary(segment_lat),
        "rtf": wall / clip.duration,
        "decode_share": decode_seconds / clip.duration,
        "cpu_per_audio_s": cpu / clip.duration,
        "wall_s": wall,
        "text": " ".join(texts),
        "_interim_values": final_lat,
        "_final_values": final_lat,
    }


# --------------------------------------------------------------------------------------------------
# (c) streaming engine (simulated real-time clock)
# --------------------------------------------------------------------------------------------------
def run_streaming(
    decoder: WhisperDecoder,
    vad_model: SileroModel,
    clip: Clip,
    settings: AsrSettings,
    *,
    progress: Callable[[float], None] | None = None,
    on_job: Callable[[DecodeJob], None] | None = None,
    cost: Callable[[DecodeJob, Any], float] | None = None,
) -> dict:
    counting = CountingDecoder(decoder, on_job)
    wall0, cpu0 = time.perf_counter(), _usage_cpu()
    events = simulate_stream(
        clip.audio, decoder, vad_model, settings, progress=progress, decode=counting.decode_job, cost=cost
    )
    wall, cpu = time.perf_counter() - wall0, _usage_cpu() - cpu0
    finals = [e for e in events if e.is_final]
    text = " ".join(e.text for e in finals)
    words = [w for e in finals for w in e.words]
    interim = [w.first_seen - w.end for w in words if w.first_seen is not None]
    final = [w.committed_at - w.end for w in words if w.committed_at is not None]
    timed = [(w, e.emitted_at) for e in finals for w in e.words]  # when the final event came
    seg_lat = [e.emitted_at - e.end for e in finals]
    return {
        "system": "streaming",
        "wer": wer(clip, text),
        "interim_events": sum(1 for e in events if not e.is_final),
        "final_events": len(finals),
        "interim_latency": summary(interim),
        "final_latency": summary(final),
        "eou_final_latency": summary(eou_latencies(clip.utterances, timed)),
        "segment_final_latency": summary(seg_lat),
        "rtf": wall / clip.duration,
        "decode_share": counting.decode_seconds / clip.duration,
        "cpu_per_audio_s": cpu / clip.duration,
        "decodes": counting.decodes,
        "final_decodes": counting.finals,
        "decodes_per_audio_s": counting.decodes / clip.duration,
        "mean_decode_s": counting.decode_seconds / max(1, counting.decodes),
        "decoded_audio_per_audio_s": counting.decoded_audio_seconds / clip.duration,
        "max_buffer_s": counting.max_buffer_seconds,
        "wall_s": wall,
        "language": finals[-1].language if finals else None,
        "text": text,
        "_interim_values": interim,
        "_final_values": final,
    }


# --------------------------------------------------------------------------------------------------
# (d) concurrent streams through one SpeechEngine, real time
# --------------------------------------------------------------------------------------------------
def stream_feeds(clip: Clip, n: int, seconds: float) -> list[np.ndarray]:
    """N versions of the clip rotated to start at different pauses, each about ``seconds`` long and
    ending in a pause (so no stream is cut mid-utterance)."""
    audio = clip.audio
    length = len(audio)
    cuts = clip.cut_points()
    need = int(seconds * SAMPLE_RATE)
    reps = max(1, math.ceil(need / length) + 1)
    feeds = []
    for i in range(n):
        want = int(i * length / n)
        off = min(cuts, key=lambda c: abs(c - want))
        rotated = np.concatenate([audio[off:], audio[:off]])
        tiled = np.tile(rotated, reps)
        rcuts = sorted({(c - off) % length + r * length for c in cuts for r in range(reps)} | {reps * length})
        end = next(c for c in rcuts if c >= need)
        feeds.append(tiled[:end].copy())
    return feeds


async def _run_concurrency_async(engine: SpeechEngine, feeds: list[np.ndarray]) -> dict:
    loop = asyncio.get_running_loop()
    streams = [engine.create_stream(stream_id=f"bench{i}") for i in range(len(feeds))]
    received: list[list[tuple[float, TranscriptEvent]]] = [[] for _ in feeds]
    feed_lag = [0.0 for _ in feeds]
    util_samples: list[tuple[float, float, int]] = []
    t0 = loop.time() + 0.05
    decodes0 = engine.scheduler.decodes
    cpu0 = _usage_cpu()

    async def feed(i: int) -> None:
        pcm = feeds[i]
        for k in range(0, len(pcm), FRAME):
            due = t0 + (k + FRAME) / SAMPLE_RATE
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            else:
                feed_lag[i] = max(feed_lag[i], -delay)
            streams[i].push(pcm[k : k + FRAME])

    async def consume(i: int) -> None:
        async for ev in streams[i]:
            received[i].append((loop.time() - t0, ev))

    async def sample_load() -> None:
        while True:
            await asyncio.sleep(1.0)
            util_samples.append((loop.time() - t0, engine.scheduler.utilisation(), engine.scheduler.depth))

    consumers = [asyncio.create_task(consume(i)) for i in range(len(feeds))]
    sampler = asyncio.create_task(sample_load())
    await asyncio.gather(*(feed(i) for i in range(len(feeds))))
    fed_at = loop.time()
    chunk_at_end = [s.recognizer.chunk_seconds for s in streams]
    await asyncio.gather(*(s.end() for s in streams))
    drain = loop.time() - fed_at
    sampler.cancel()
    await asyncio.gather(*consumers, return_exceptions=True)
    for s in streams:
        await s.aclose()
    cpu = _usage_cpu() - cpu0
    return {
        "received": received,
        "feed_lag": feed_lag,
        "util_samples": util_samples,
        "drain_s": drain,
        "decodes": engine.scheduler.decodes - decodes0,
        "cpu_s": cpu,
        "chunk_at_end": chunk_at_end,
    }


def run_concurrency(engine: SpeechEngine, clip: Clip, n: int, seconds: float) -> dict:
    """N streams at real-time pace; latencies on each stream's audio clock and on the wall clock."""
    feeds = stream_feeds(clip, n, seconds)
    raw = asyncio.run(_run_concurrency_async(engine, feeds))
    interim: list[float] = []
    final: list[float] = []
    final_wall: list[float] = []
    event_lag: list[float] = []
    texts_per_stream = []
    for stream_events in raw["received"]:
        finals = [(t, e) for t, e in stream_events if e.is_final]
        texts_per_stream.append(" ".join(e.text for _, e in finals))
        for t, e in finals:
            event_lag.append(t - e.end)
            for w in e.words:
                if w.first_seen is not None:
                    interim.append(w.first_seen - w.end)
                if w.committed_at is not None:
                    final.append(w.committed_at - w.end)
                final_wall.append(t - w.end)
    audio_seconds = sum(len(f) for f in feeds) / SAMPLE_RATE
    utils = [u for t, u, _ in raw["util_samples"] if t >= 5.0] or [u for _, u, _ in raw["util_samples"]]
    depths = [d for _, _, d in raw["util_samples"]]
    final_s = summary(final)
    final_wall_s = summary(final_wall)
    max_lag = max(event_lag, default=0.0)
    max_feed_lag = max(raw["feed_lag"], default=0.0)
    reasons = []
    if final_s["p95"] is not None and final_s["p95"] >= KEEP_UP_FINAL_P95:
        reasons.append(f"final p95 {final_s['p95']:.2f}s >= {KEEP_UP_FINAL_P95}s")
    if max_lag > KEEP_UP_MAX_FINAL_LAG:
        reasons.append(f"a final arrived {max_lag:.2f}s after its last word > {KEEP_UP_MAX_FINAL_LAG}s")
    if max_feed_lag > KEEP_UP_MAX_FEED_LAG:
        reasons.append(f"audio feed fell {max_feed_lag:.2f}s behind (event loop starved)")
    if final_s["n"] == 0:
        reasons.append("no final text")
    return {
        "streams": n,
        "seconds_per_stream": audio_seconds / n,
        "keeps_up": not reasons,
        "why_not": reasons,
        "interim_latency": summary(interim),
        "final_latency": final_s,
        "final_event_latency_wall": final_wall_s,
        "max_final_event_lag_s": max_lag,
        "max_feed_lag_s": max_feed_lag,
        "utilisation_mean": float(np.mean(utils)) if utils else None,
        "utilisation_max": float(np.max(utils)) if utils else None,
        "queue_depth_max": max(depths, default=0),
        "chunk_seconds_at_end": raw["chunk_at_end"],
        "drain_s": raw["drain_s"],
        "decodes": raw["decodes"],
        "cpu_per_audio_s_per_stream": raw["cpu_s"] / audio_seconds if audio_seconds else None,
        "final_events": sum(1 for s in raw["received"] for _, e in s if e.is_final),
        "texts": texts_per_stream,
    }


# --------------------------------------------------------------------------------------------------
# (e) memory on a long monologue
# --------------------------------------------------------------------------------------------------
def _rss_bytes() -> int | None:
    try:
        import psutil

        return int(psutil.Process().memory_info().rss)
    except Exception:  # pragma: no cover - psutil missing
        try:
            with open("/proc/self/statm") as fh:
                return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except OSError:
            return None


def run_monologue(decoder: WhisperDecoder, vad_model: SileroModel, clip: Clip, settings: AsrSettings) -> dict:
    rss: list[tuple[float, int]] = []
    buffers: list[tuple[float, float]] = []
    next_sample = [0.0]

    def progress(fed: float) -> None:
        if fed >= next_sample[0]:
            value = _rss_bytes()
            if value is not None:
                rss.append((fed, value))
            next_sample[0] = fed + 2.0
            if int(fed) % 60 == 0 and fed > 1:
                log(f"  monologue: {fed:.0f}/{clip.duration:.0f} s of audio")

    def on_job(job: DecodeJob) -> None:
        buffers.append((job.end_sample / SAMPLE_RATE, len(job.audio) / SAMPLE_RATE))

    rss_before = _rss_bytes()
    maxrss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    res = run_streaming(decoder, vad_model, clip, settings, progress=progress, on_job=on_job)
    maxrss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    after_first_minute = [v for t, v in rss if t >= 60.0]
    first_minute = after_first_minute[0] if after_first_minute else (rss[0][1] if rss else None)
    mib = 1 / (1024 * 1024)
    out = {
        "duration_s": clip.duration,
        "wer": res["wer"],
        "rtf": res["rtf"],
        "final_events": res["final_events"],
        "final_latency": res["final_latency"],
        "interim_latency": res["interim_latency"],
        "max_buffer_s": max((b for _, b in buffers), default=0.0),
        "buffer_p95_s": summary([b for _, b in buffers])["p95"],
        "rss_before_mib": rss_before * mib if rss_before else None,
        "rss_at_60s_mib": first_minute * mib if first_minute else None,
        "rss_max_mib": max(v for _, v in rss) * mib if rss else None,
        "rss_end_mib": rss[-1][1] * mib if rss else None,
        "rss_growth_after_60s_mib": (max(after_first_minute) - first_minute) * mib
        if after_first_minute
        else None,
        "ru_maxrss_growth_mib": (maxrss_after - maxrss_before) * mib,
        "rss_timeline_mib": [(round(t, 1), round(v * mib, 1)) for t, v in rss[:: max(1, len(rss) // 60)]],
        "buffer_timeline_s": [(round(t, 1), round(b, 2)) for t, b in buffers[:: max(1, len(buffers) // 120)]],
    }
    return out


def monologue_clip(workdir: Path, seconds: float) -> Clip:
    from agent.samples import build_monologue

    rec = build_monologue(workdir / f"monologue-{int(seconds)}s.wav", seconds=seconds)
    return Clip(
        name=f"monologue-{int(seconds)}s",
        audio=load_audio(rec.wav),
        reference=rec.reference_text(),
        language="en",
        utterances=[],
        description="build_monologue: the call's utterances back to back, pauses squeezed to <= 0.12 s",
    )


# --------------------------------------------------------------------------------------------------
# Reporting
# --------------------------------------------------------------------------------------------------
def _fmt(v: Any, digits: int = 2) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


def _pp(s: dict | None) -> str:
    if not s or not s.get("n"):
        return "–"
    return f"{s['p50']:.2f} / {s['p95']:.2f}"


def systems_table(results: dict) -> str:
    lines = [
        "| recording | system | WER % | interim p50 / p95 s | final p50 / p95 s | EOU→final p50 / p95 s"
        " | RTF | CPU s per audio s |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, data in results["recordings"].items():
        dur = data["duration_s"]
        for key in ("offline", "vad_final", "streaming", "streaming_lang_forced"):
            r = data.get(key)
            if r is None:
                continue
            interim = "none (final only)" if key == "vad_final" else _pp(r.get("interim_latency"))
            lines.append(
                f"| {name} ({dur:.0f} s) | {r['system']} | {100 * r['wer']:.1f} | "
                f"{interim if key != 'offline' else '–'} | {_pp(r.get('final_latency'))} | "
                f"{_pp(r.get('eou_final_latency'))} | {r['rtf']:.3f} | {r['cpu_per_audio_s']:.3f} |"
            )
    return "\n".join(lines)


def streaming_detail_table(results: dict) -> str:
    lines = [
        "| recording | decodes per audio s | mean decode s | decoded audio s per audio s | "
        "decoder busy (share of real time) | max buffer s | segment final p50 / p95 s |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, data in results["recordings"].items():
        for r in (data.get("streaming"), data.get("streaming_lang_forced")):
            if not r:
                continue
            lines.append(
                f"| {name} {r['system']} | {r['decodes_per_audio_s']:.2f} | {r['mean_decode_s']:.3f} | "
                f"{r['decoded_audio_per_audio_s']:.2f} | {r['decode_share']:.2f} | {r['max_buffer_s']:.1f} | "
                f"{_pp(r['segment_final_latency'])} |"
            )
    return "\n".join(lines)


def concurrency_table(results: dict) -> str:
    lines = [
        "| streams | keeps up | interim p50 / p95 s | final p50 / p95 s | final event (wall) p50 / p95 s |"
        " max final lag s | decoder utilisation mean / max | max queue | chunk s at end | CPU s per audio s"
        " per stream |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results.get("concurrency", []):
        um, ux = r["utilisation_mean"], r["utilisation_max"]
        chunks = r["chunk_seconds_at_end"]
        lines.append(
            f"| {r['streams']} | {'yes' if r['keeps_up'] else 'no: ' + '; '.join(r['why_not'])} | "
            f"{_pp(r['interim_latency'])} | {_pp(r['final_latency'])} | "
            f"{_pp(r['final_event_latency_wall'])} | "
            f"{r['max_final_event_lag_s']:.2f} | {_fmt(um)} / {_fmt(ux)} | {r['queue_depth_max']} | "
            f"{min(chunks):.2f}–{max(chunks):.2f} | {_fmt(r['cpu_per_audio_s_per_stream'], 3)} |"
        )
    return "\n".join(lines)


def monologue_table(m: dict) -> str:
    return "\n".join([
        "| audio s | WER % | RTF | finals | final p50 / p95 s | max buffer s | RSS before / at 60 s / max MiB"
        " | RSS growth after 60 s MiB |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
        f"| {m['duration_s']:.0f} | {100 * m['wer']:.1f} | {m['rtf']:.3f} | {m['final_events']} | "
        f"{_pp(m['final_latency'])} | {m['max_buffer_s']:.1f} | {_fmt(m['rss_before_mib'], 0)} / "
        f"{_fmt(m['rss_at_60s_mib'], 0)} / {_fmt(m['rss_max_mib'], 0)} | "
        f"{_fmt(m['rss_growth_after_60s_mib'], 1)} |",
    ])  # fmt: skip


def targets_lines(results: dict) -> list[str]:
    out = []
    for name, data in results["recordings"].items():
        o = data.get("offline")
        for key in ("streaming", "streaming_lang_forced"):
            if data.get(key):
                out.append(_target_line(f"{name} {data[key]['system']}", data[key], o))
    m = results.get("monologue")
    if m:
        out.append(
            f"- monologue {m['duration_s']:.0f} s: max buffer {m['max_buffer_s']:.1f} s,"
            f" RSS growth after the first minute {_fmt(m['rss_growth_after_60s_mib'], 1)} MiB"
        )
    return out


def _target_line(name: str, s: dict, o: dict | None) -> str:
    i50, i95 = s["interim_latency"]["p50"], s["interim_latency"]["p95"]
    eou = s["eou_final_latency"]["p50"]
    parts = []
    if i50 is not None:
        parts.append(f"interim p50 {i50:.2f}s {'ok' if i50 <= TARGET_INTERIM_P50 else 'MISS'} (<= 0.8)")
        parts.append(f"interim p95 {i95:.2f}s {'ok' if i95 <= TARGET_INTERIM_P95 else 'MISS'} (<= 1.5)")
    if eou is not None:
        parts.append(f"EOU→final p50 {eou:.2f}s {'ok' if eou <= TARGET_EOU_FINAL else 'MISS'} (<= 1.0)")
    if o:
        gap = s["wer"] - o["wer"]
        parts.append(f"WER gap {100 * gap:+.1f} pt {'ok' if gap <= TARGET_WER_GAP else 'MISS'} (<= +1)")
    return f"- {name}: " + "; ".join(parts)


def plot_cdf(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    recs = [(n, d) for n, d in results["recordings"].items() if d.get("streaming") or d.get("vad_final")]
    if not recs:
        return
    fig, axes = plt.subplots(1, len(recs), figsize=(5.2 * len(recs), 4), squeeze=False)
    for ax, (name, data) in zip(axes[0], recs, strict=False):
        curves = [
            (
                "streaming: interim (first seen)",
                data.get("streaming", {}).get("_interim_values"),
                "-",
                "tab:blue",
            ),
            ("streaming: final", data.get("streaming", {}).get("_final_values"), "-", "tab:orange"),
            (
                "streaming, language forced: interim",
                data.get("streaming_lang_forced", {}).get("_interim_values"),
                ":",
                "tab:blue",
            ),
            (
                "streaming, language forced: final",
                data.get("streaming_lang_forced", {}).get("_final_values"),
                ":",
                "tab:orange",
            ),
            (
                "VAD final-only (StreamAdapter)",
                data.get("vad_final", {}).get("_final_values"),
                "--",
                "tab:gray",
            ),
        ]
        for label, values, style, color in curves:
            if values:
                xs = np.sort(np.asarray(values))
                ax.step(
                    xs, np.arange(1, xs.size + 1) / xs.size, style, where="post", label=label, color=color
                )
        for x in (TARGET_INTERIM_P50, TARGET_INTERIM_P95, KEEP_UP_FINAL_P95):
            ax.axvline(x, color="k", lw=0.5, ls=":")
        ax.set_title(name)
        ax.set_xlabel("word latency: emitted − word end (s)")
        ax.set_xlim(left=min(0.0, ax.get_xlim()[0]))
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("fraction of words")
    axes[0][0].legend(loc="lower right", fontsize=8)
    fig.suptitle(
        f"Word latency CDF — Whisper {results['settings']['model']}, {results['machine']['cpu_count']} cores"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _public(obj: Any) -> Any:
    """JSON-friendly copy, raw latency lists kept under ``latencies``."""
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            if k == "_interim_values":
                out.setdefault("latencies", {})["interim"] = [round(x, 3) for x in v]
            elif k == "_final_values":
                out.setdefault("latencies", {})["final"] = [round(x, 3) for x in v]
            else:
                out[k] = _public(v)
        return out
    if isinstance(obj, list | tuple):
        return [_public(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


def machine_info() -> dict:
    info = {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "loadavg_start": list(os.getloadavg()),
    }
    try:
        import ctranslate2
        import faster_whisper

        info["faster_whisper"] = faster_whisper.__version__
        info["ctranslate2"] = ctranslate2.__version__
    except Exception:  # pragma: no cover
        pass
    return info


# --------------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="base", help="WHISPER_MODEL (default: multilingual base)")
    parser.add_argument("--language", default=None, help="force a language (default: detect, as deployed)")
    parser.add_argument("--quick", action="store_true", help="the pyannote call only, 20 s concurrency runs")
    parser.add_argument("--out", default="artifacts/bench", help="folder for results.json and the PNG")
    parser.add_argument(
        "--concurrency-seconds", type=float, default=None, help="per N (default 60, quick 20)"
    )
    parser.add_argument("--max-streams", type=int, default=16)
    parser.add_argument("--monologue-seconds", type=float, default=600.0)
    parser.add_argument(
        "--skip",
        default="",
        help="comma list of parts to skip: offline,vad,streaming,concurrency,monologue,french,meeting",
    )
    args = parser.parse_args(argv)
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    workdir = out / "audio"
    workdir.mkdir(exist_ok=True)

    settings = dataclasses.replace(AsrSettings.from_env(), model=args.model, language=args.language)
    started = time.perf_counter()
    results: dict[str, Any] = {
        "mode": "quick" if args.quick else "full",
        "machine": machine_info(),
        "settings": dataclasses.asdict(settings),
        "recordings": {},
    }
    log(f"load average {os.getloadavg()}; loading {args.model}")
    engine = SpeechEngine(settings)
    decoder, vad_model = engine.decoder, engine.vad_model
    results["settings"]["device"] = decoder.device
    results["settings"]["compute_type"] = decoder.compute_type
    results["settings"]["cpu_threads"] = settings.cpu_threads or min(4, os.cpu_count() or 1)

    clips = [pyannote_clip()]
    meeting = meeting_clip(workdir, repeats=1 if args.quick else 4)
    if not args.quick and "meeting" not in skip:
        clips.append(meeting)
    if not args.quick and "french" not in skip and decoder.multilingual:
        try:
            clips.append(french_clip(workdir))
        except Exception as exc:  # espeak-ng missing
            log(f"French recording skipped: {exc}")

    try:
        # warm-up: the first decode pays one-off allocations
        decoder.decode(clips[0].audio[: 3 * SAMPLE_RATE], language=settings.language)
        for clip in clips:
            data: dict[str, Any] = {"duration_s": clip.duration, "description": clip.description,
                                    "language": clip.language}  # fmt: skip
            results["recordings"][clip.name] = data
            if "offline" not in skip:
                log(f"{clip.name}: offline")
                data["offline"] = run_offline(decoder, clip, language=settings.language)
            if "vad" not in skip:
                log(f"{clip.name}: VAD final-only baseline")
                data["vad_final"] = run_vad_baseline(decoder, vad_model, clip, settings)
            if "streaming" not in skip:
                log(f"{clip.name}: streaming (simulated real-time clock)")
                data["streaming"] = run_streaming(decoder, vad_model, clip, settings)
                if settings.language is None and decoder.multilingual and clip.name == "pyannote-call":
                    # Diagnostic: the same stream told its language (separates language-vote errors
                    # from policy errors; cheap on the 30 s call).
                    log(f"{clip.name}: streaming, language forced to {clip.language}")
                    forced = dataclasses.replace(settings, language=clip.language)
                    data["streaming_lang_forced"] = run_streaming(decoder, vad_model, clip, forced)
                    data["streaming_lang_forced"]["system"] = f"streaming (language={clip.language})"

        if "concurrency" not in skip:
            seconds = args.concurrency_seconds or (20.0 if args.quick else 60.0)
            results["concurrency_recording"] = meeting.name
            results["concurrency"] = []
            for n in [c for c in STREAM_COUNTS if c <= args.max_streams]:
                log(f"concurrency: {n} stream(s) x {seconds:.0f} s at real-time pace")
                r = run_concurrency(engine, meeting, n, seconds)
                results["concurrency"].append(r)
                log(f"  keeps up: {r['keeps_up']} {r['why_not']}")
                if not r["keeps_up"]:
                    break
            kept = [r["streams"] for r in results["concurrency"] if r["keeps_up"]]
            results["max_realtime_streams"] = max(kept, default=0)

        if not args.quick and "monologue" not in skip:
            log(f"monologue: building {args.monologue_seconds:.0f} s")
            mono = monologue_clip(workdir, args.monologue_seconds)
            log("monologue: streaming")
            results["monologue"] = run_monologue(decoder, vad_model, mono, settings)
    finally:
        engine.close()

    results["machine"]["loadavg_end"] = list(os.getloadavg())
    results["total_seconds"] = time.perf_counter() - started
    (out / "results.json").write_text(json.dumps(_public(results), indent=1, ensure_ascii=False))
    plot_cdf(results, out / "latency_cdf.png")

    m = results["machine"]
    print(f"## Streaming ASR benchmark ({results['mode']})\n")
    print(
        f"Whisper `{settings.model}` ({decoder.device}, {decoder.compute_type}), {m['cpu_count']} cores, "
        f"load average {m['loadavg_start'][0]:.2f} at start, {m['loadavg_end'][0]:.2f} at end; "
        f"streaming beam {settings.beam_size}, chunk {settings.chunk_seconds} s; offline beam 5.\n"
    )
    print(systems_table(results))
    print()
    print(streaming_detail_table(results))
    if results.get("concurrency"):
        print(
            f"\n### Concurrent streams (one engine, {results['concurrency_recording']} rotated, real time)\n"
        )
        print(concurrency_table(results))
        print(f"\nLargest number of streams kept in real time: **{results['max_realtime_streams']}**")
    if results.get("monologue"):
        print("\n### Monologue without pauses (memory bound)\n")
        print(monologue_table(results["monologue"]))
    print("\n### Targets (issue 3)\n")
    print("\n".join(targets_lines(results)))
    print(f"\nResults: {out / 'results.json'}, plot: {out / 'latency_cdf.png'}; "
          f"ran {results['total_seconds']:.0f} s")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
