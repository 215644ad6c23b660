"""Batched decoding: several streams' decodes in one model call (ASR_BATCH_SIZE).

Why these tests: batching must not change what a stream gets (same words and times as its own
decode), must keep the scheduler's promises (finals first, no waiting for a batch to fill, kinds
never mixed, a failure isolated to its request), and must be off on a CPU unless asked for.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator, Sequence
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from agent.asr import redecode
from agent.asr.agreement import norm
from agent.asr.batched import BatchDecoder, _max_length, _split_at_timestamps
from agent.asr.contracts import DecodeJob, Hypothesis
from agent.asr.decoder import WhisperDecoder
from agent.asr.engine import SpeechEngine
from agent.asr.language import LanguageVote
from agent.asr.scheduler import DecodeScheduler
from agent.asr.settings import AsrSettings
from agent.audio.decode import load_audio
from agent.config import ConfigError
from agent.samples import pyannote_sample, utterance_clips
from agent.timebase import SAMPLE_RATE

# Utterances of pyannote's call whose own decode ends in its first window (no faster-whisper
# second pass over the tail, which the batch deliberately does not make): there both paths
# must agree word for word.
INTERIM_CLIPS = ((7, "en"), (9, None), (12, None))  # "And I'm Sheila in Texas...", ...
FINAL_CLIPS = ((7, None), (1, "en"))


@pytest.fixture(scope="module")
def clips() -> list[np.ndarray]:
    return [clip for _, clip in utterance_clips(pyannote_sample())]


@pytest.fixture(scope="module")
def base_decoder() -> WhisperDecoder:
    # The multilingual model: detection and forced languages both happen in one batch.
    return WhisperDecoder(AsrSettings(model="base", cpu_threads=2))


def make_job(audio: np.ndarray, kind: str, language: str | None, prompt: str = "") -> DecodeJob:
    return DecodeJob(
        kind=kind,  # type: ignore[arg-type]
        audio=audio,
        start_sample=0,
        end_sample=len(audio),
        prompt=prompt,
        language=language,
    )


def words_of(hyp: Hypothesis) -> list[str]:
    return [norm(w.text) for w in hyp.words if norm(w.text)]


# -- the batched decode -------------------------------------------------------------------------
@pytest.mark.parametrize(("kind", "chosen"), [("interim", INTERIM_CLIPS), ("final", FINAL_CLIPS)])
def test_batch_gives_each_stream_its_own_decode(
    base_decoder: WhisperDecoder,
    clips: list[np.ndarray],
    kind: str,
    chosen: tuple[tuple[int, str | None], ...],
) -> None:
    jobs = [make_job(clips[i], kind, language) for i, language in chosen]
    alone = [redecode.decode_job(base_decoder, job, LanguageVote()) for job in jobs]
    batched = redecode.decode_batch(BatchDecoder(base_decoder), [(job, LanguageVote()) for job in jobs])
    assert len(batched) == len(jobs)
    for job, one, many in zip(jobs, alone, batched, strict=True):
        assert words_of(many) == words_of(one)
        assert words_of(many), "real speech must give words"
        for a, b in zip(one.words, many.words, strict=True):
            assert abs(a.start - b.start) <= 0.3 and abs(a.end - b.end) <= 0.3, (a, b)
        # Times are relative to the job's own buffer, whatever the batch's window.
        assert 0.0 <= many.words[0].start and many.words[-1].end <= len(job.audio) / SAMPLE_RATE + 0.05
        assert many.language == one.language == "en"
        if job.language is None:
            assert many.language_probs and many.language_probs[0][0] == "en"
        else:
            assert many.language_probs is None and many.language_probability == 1.0
        assert many.avg_logprob == pytest.approx(one.avg_logprob, abs=0.05)
        assert many.no_speech_prob == pytest.approx(one.no_speech_prob, abs=0.05)
        assert many.seconds > 0


def test_batch_mixes_prompts_languages_and_candidates(
    base_decoder: WhisperDecoder, clips: list[np.ndarray]
) -> None:
    """Prompts of different lengths (CTranslate2 needs them aligned), several languages (one
    alignment call each) and a detection that WHISPER_LANGUAGES rules out, in one batch."""
    jobs = [
        (make_job(clips[7], "interim", "en", prompt="Hello? Hello?"), LanguageVote()),
        (make_job(clips[9], "interim", "fr"), LanguageVote()),
        (
            make_job(clips[12], "interim", None, prompt="This is Diane in New Jersey."),
            LanguageVote(None, ("fr", "de")),
        ),
    ]
    hyps = redecode.decode_batch(BatchDecoder(base_decoder), jobs)
    assert [h.language for h in hyps] == ["en", "fr", "fr"]
    assert "chicago" in words_of(hyps[0])
    # The detected "en" is ruled out: the likelier of fr and de was decoded instead, at once,
    # and what was detected is still reported for the stream's language vote.
    probs = dict(hyps[2].language_probs or [])
    assert max(probs, key=probs.get) == "en" and probs["fr"] > probs["de"]  # type: ignore[arg-type]
    assert hyps[2].language_probability == 1.0
    for hyp in hyps:
        assert hyp.words and all(w.end >= w.start >= 0.0 for w in hyp.words)


def test_batch_prompts_put_start_of_transcript_at_one_index(base_decoder: WhisperDecoder) -> None:
    batch = BatchDecoder(base_decoder)
    toks = [batch._tokenizer(lang) for lang in ("en", "fr", "en")]
    prompts = batch._prompts(["Okay.", "", "So what are we going to talk about today?"], toks)
    sot = toks[0].sot
    assert len({p.index(sot) for p in prompts}) == 1
    assert prompts[1] == base_decoder.model.get_prompt(toks[1], [])  # nothing to cut from
    prompts = batch._prompts(["Okay.", "Well, there isn't that much difference."], toks[:2])
    assert len({p.index(sot) for p in prompts}) == 1
    kept = len(toks[0].encode(" Okay."))
    assert prompts[0] == base_decoder.model.get_prompt(toks[0], toks[0].encode(" Okay."))
    # The longer previous text keeps its end: the words right before the audio.
    assert prompts[1][1 : 1 + kept] == toks[1].encode(" Well, there isn't that much difference.")[-kept:]


def test_a_batch_holds_one_kind(base_decoder: WhisperDecoder, clips: list[np.ndarray]) -> None:
    with pytest.raises(ValueError, match="one kind"):
        redecode.decode_batch(BatchDecoder(base_decoder),
            [
                (make_job(clips[7], "interim", "en"), LanguageVote()),
                (make_job(clips[9], "final", "en"), LanguageVote()),
            ]
        )
    assert redecode.decode_batch(BatchDecoder(base_decoder), []) == []


def test_split_keeps_an_unfinished_tail() -> None:
    tok = SimpleNamespace(timestamp_begin=100, eot=50)
    # <|0.00|> a b <|1.00|><|1.00|> c  (cut: no closing timestamp)
    pieces = _split_at_timestamps([100, 1, 2, 150, 150, 3], tok, 0.02, 2.5)  # type: ignore[arg-type]
    assert [(p["start"], p["end"], p["tokens"]) for p in pieces] == [
        (0.0, 1.0, [100, 1, 2, 150]),
        (1.0, 2.5, [150, 3]),
    ]
    # <|0.00|> a <|0.40|>  (finished)
    assert [p["end"] for p in _split_at_timestamps([100, 1, 120], tok, 0.02, 2.5)] == [0.4]  # type: ignore[arg-type]
    assert [p["end"] for p in _split_at_timestamps([100, 1, 2], tok, 0.02, 2.5)] == [2.5]  # type: ignore[arg-type]


@pytest.mark.parametrize(("budget", "prompt"), [(40, 1), (40, 3), (40, 60), (500, 3)])
def test_max_length_gives_the_budget(budget: int, prompt: int) -> None:
    total = _max_length(budget, prompt, 448)
    start = prompt - 1 if prompt > 1 else 0
    assert min(total // 2, total - start) == budget or total == 448


# -- the scheduler ------------------------------------------------------------------------------
class RecordingBatch:
    """A batch function that records what it was given; the first call can be held."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.release = threading.Event()
        self.release.set()
        self.started = threading.Event()

    def __call__(self, items: Sequence[Any]) -> list[str]:
        self.started.set()
        self.release.wait(5)
        self.batches.append(list(items))
        if "boom" in items:
            raise RuntimeError("broken request")
        return [f"done {item}" for item in items]


@pytest.fixture
def recorder() -> RecordingBatch:
    return RecordingBatch()


@pytest.fixture
def scheduler(recorder: RecordingBatch) -> Iterator[DecodeScheduler]:
    sched = DecodeScheduler(batch=recorder, batch_size=3)
    yield sched
    sched.close()


def test_scheduler_gathers_queued_requests_finals_first(
    scheduler: DecodeScheduler, recorder: RecordingBatch
) -> None:
    recorder.release.clear()
    first = scheduler.submit_job("i0", final=False)
    assert recorder.started.wait(5)  # the worker holds i0: everything below queues behind it
    interims = [scheduler.submit_job(f"i{n}", final=False) for n in range(1, 6)]
    finals = [scheduler.submit_job(f"f{n}", final=True) for n in range(2)]
    recorder.release.set()
    for fut in [first, *interims, *finals]:
        assert fut.result(timeout=5).startswith("done")
    assert recorder.batches == [["i0"], ["f0", "f1"], ["i1", "i2", "i3"], ["i4", "i5"]]
    assert interims[0].result() == "done i1"
    assert scheduler.decodes == 8
    assert 0.0 < scheduler.utilisation() <= 1.0


def test_scheduler_runs_a_lone_request_at_once(scheduler: DecodeScheduler, recorder: RecordingBatch) -> None:
    started = time.monotonic()
    assert scheduler.submit_job("alone", final=False).result(timeout=5) == "done alone"
    assert time.monotonic() - started < 0.5
    assert recorder.batches == [["alone"]]


def test_scheduler_keeps_callables_in_line(scheduler: DecodeScheduler, recorder: RecordingBatch) -> None:
    """A plain callable (the STT plugin's decodes) is never swallowed by a batch: gathering stops
    at it, and the items behind it wait their turn."""
    order: list[str] = []
    recorder.release.clear()
    blocker = scheduler.submit_job("f0", final=True)
    assert recorder.started.wait(5)
    futures = [
        scheduler.submit_job("f1", final=True),
        scheduler.submit(lambda: order.append("callable"), final=True),
        scheduler.submit_job("f2", final=True),
    ]
    recorder.release.set()
    for fut in [blocker, *futures]:
        fut.result(timeout=5)
    assert recorder.batches == [["f0"], ["f1"], ["f2"]]
    assert order == ["callable"]


def test_scheduler_isolates_a_failing_request(scheduler: DecodeScheduler, recorder: RecordingBatch) -> None:
    recorder.release.clear()
    blocker = scheduler.submit_job("i0", final=False)
    assert recorder.started.wait(5)
    good, bad = scheduler.submit_job("ok", final=False), scheduler.submit_job("boom", final=False)
    recorder.release.set()
    blocker.result(timeout=5)
    assert good.result(timeout=5) == "done ok"  # retried alone after the batch failed
    with pytest.raises(RuntimeError, match="broken request"):
        bad.result(timeout=5)
    assert recorder.batches == [["i0"], ["ok", "boom"], ["ok"], ["boom"]]


def test_scheduler_without_batch_function_refuses_items() -> None:
    sched = DecodeScheduler()
    try:
        with pytest.raises(RuntimeError):
            sched.submit_job("x", final=False)
    finally:
        sched.close()


# -- the setting --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "expected"), [(None, None), ("", None), ("auto", None), ("AUTO", None), ("1", 1), ("16", 16)]
)
def test_batch_size_setting(monkeypatch: pytest.MonkeyPatch, raw: str | None, expected: int | None) -> None:
    if raw is None:
        monkeypatch.delenv("ASR_BATCH_SIZE", raising=False)
    else:
        monkeypatch.setenv("ASR_BATCH_SIZE", raw)
    assert AsrSettings.from_env().batch_size == expected


@pytest.mark.parametrize("raw", ["0", "65", "eight", "2.5"])
def test_bad_batch_size_is_a_config_error(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv("ASR_BATCH_SIZE", raw)
    with pytest.raises(ConfigError) as err:
        AsrSettings.from_env()
    message = str(err.value)
    assert message.startswith(f"ASR_BATCH_SIZE={raw!r} is invalid") and "\n" not in message


def test_auto_batch_sizes() -> None:
    assert AsrSettings().batch_size_for("cuda") == 8
    assert AsrSettings().batch_size_for("cpu") == 4
    assert AsrSettings(batch_size=3).batch_size_for("cpu") == 3
    assert AsrSettings(batch_size=1).batch_size_for("cuda") == 1


# -- the engine ---------------------------------------------------------------------------------
async def test_engine_batches_streams_and_gives_each_its_finals() -> None:
    # One decode worker: with two, the three streams' decodes can each find a free worker and
    # never queue together (seen in CI), which is right for the engine but says nothing on batching.
    engine = SpeechEngine(AsrSettings(model="tiny.en", batch_size=2, decode_workers=1))
    sizes: list[int] = []
    decode_batch = engine.decode_batch

    def recording(
        items: Sequence[tuple[DecodeJob, LanguageVote]], *, hurry: bool = False
    ) -> list[Hypothesis]:
        sizes.append(len(items))
        return decode_batch(items, hurry=hurry)

    engine.decode_batch = recording  # type: ignore[method-assign]
    call = load_audio(pyannote_sample().wav)
    try:
        assert engine.batch_size == 2
        # Three speakers, 8 s each from different parts of the call, pushed at once: their decodes
        # are queued together, so the decoder must batch them.
        streams = [engine.create_stream(stream_id=f"s{i}") for i in range(3)]
        events: list[list[Any]] = [[] for _ in streams]

        async def consume(i: int) -> None:
            async for ev in streams[i]:
                events[i].append(ev)

        consumers = [asyncio.create_task(consume(i)) for i in range(len(streams))]
        for i, stream in enumerate(streams):
            start = int((2 + 9 * i) * SAMPLE_RATE)
            speech = call[start : start + 8 * SAMPLE_RATE]
            for at in range(0, len(speech), 320):
                stream.push(speech[at : at + 320])
        await asyncio.gather(*(s.end() for s in streams))
        await asyncio.gather(*(s.aclose() for s in streams))
        await asyncio.gather(*consumers)
    finally:
        engine.close()
    for stream_events in events:
        finals = [e for e in stream_events if e.is_final]
        assert finals and any(e.text.strip() for e in finals)
    assert max(sizes) == 2
    assert engine.scheduler.decodes == sum(sizes)
    assert engine.decode_seconds > 0 and engine.decoded_audio_seconds > 0
    assert 0 < engine.real_time_factor() < 5


def test_scheduler_batches_fewer_finals(recorder: RecordingBatch) -> None:
    """Beam-search finals gain little from big batches: they are capped apart from interims."""
    sched = DecodeScheduler(batch=recorder, batch_size=8, final_batch_size=2)
    try:
        recorder.release.clear()
        first = sched.submit_job("i0", final=False)
        assert recorder.started.wait(5)
        futures = [sched.submit_job(f"f{n}", final=True) for n in range(5)]
        futures += [sched.submit_job(f"i{n}", final=False) for n in range(1, 4)]
        recorder.release.set()
        for fut in [first, *futures]:
            assert fut.result(timeout=5).startswith("done")
        assert recorder.batches == [["i0"], ["f0", "f1"], ["f2", "f3"], ["f4"], ["i1", "i2", "i3"]]
    finally:
        sched.close()


def test_two_workers_batch_what_queues_behind_them() -> None:
    """With two decode workers (the CPU default) batching still happens once both are busy."""
    batches: list[list[str]] = []
    release = threading.Event()
    busy = threading.Semaphore(0)
    lock = threading.Lock()

    def batch(items: Sequence[str]) -> list[str]:
        busy.release()
        release.wait(5)
        with lock:
            batches.append(list(items))
        return [f"done {item}" for item in items]

    sched = DecodeScheduler(batch=batch, batch_size=3, workers=2)
    try:
        held = []
        for n in range(2):  # one at a time, or the first worker would gather both
            held.append(sched.submit_job(f"i{n}", final=False))
            assert busy.acquire(timeout=5)
        queued = [sched.submit_job(f"q{n}", final=False) for n in range(3)]
        release.set()
        for fut in [*held, *queued]:
            assert fut.result(timeout=5).startswith("done")
        assert sorted(map(len, batches)) == [1, 1, 3]
    finally:
        sched.close()


def test_batched_decoder_mirrors_the_installed_faster_whisper() -> None:
    """agent/asr/batched.py is rebuilt from faster-whisper internals of one release: a new
    release must be read against it (and the batch-vs-single tests rerun) before the pin moves."""
    import faster_whisper

    from agent.asr.batched import FASTER_WHISPER_VERSION

    assert faster_whisper.__version__ == FASTER_WHISPER_VERSION
