"""The streaming policy on real speech with a scripted decoder: deterministic, no Whisper.

The VAD is the real Silero model on the real pyannote call; the "decoder" returns the STM
reference words (timed by spreading each utterance over its span) that lie inside the decoded
window, with the last word garbled as a real decoder does with a word cut in half.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from agent.asr.agreement import norm
from agent.asr.contracts import DecodeJob, Hypothesis
from agent.asr.events import Word
from agent.asr.recognizer import StreamingRecognizer
from agent.asr.settings import AsrSettings
from agent.asr.vad import SileroModel
from agent.audio.decode import load_audio
from agent.samples import pyannote_sample
from agent.timebase import SAMPLE_RATE


@pytest.fixture(scope="module")
def vad_model() -> SileroModel:
    return SileroModel()


@pytest.fixture(scope="module")
def call():  # type: ignore[no-untyped-def]
    sample = pyannote_sample()
    audio = load_audio(sample.wav)
    timeline: list[tuple[str, float, float]] = []
    for u in sample.utterances:
        tokens = u.text.split()
        step = (u.end - u.start) / len(tokens)
        timeline += [(t, u.start + i * step, u.start + (i + 1) * step) for i, t in enumerate(tokens)]
    return audio, timeline


class ScriptedDecoder:
    def __init__(self, timeline: list[tuple[str, float, float]]) -> None:
        self.timeline = timeline
        self.calls = 0
        self.max_window = 0.0

    def __call__(self, job: DecodeJob) -> Hypothesis:
        self.calls += 1
        t0, t1 = job.start_sample / SAMPLE_RATE, job.end_sample / SAMPLE_RATE
        self.max_window = max(self.max_window, t1 - t0)
        words = []
        for text, s, e in self.timeline:
            if s >= t0 - 0.01 and s < t1:
                if e > t1 and job.kind == "interim":
                    text = text[: max(1, len(text) // 2)] + "-"  # a word cut in half
                words.append(Word(f" {text}", s - t0, min(e, t1) - t0, 0.9))
        return Hypothesis(words, "en", 0.99, [("en", 0.99)], 0.01, -0.2, 1.2, 0.01)


def run(rec: StreamingRecognizer, audio: np.ndarray, decode: ScriptedDecoder) -> list:  # type: ignore[type-arg]
    events = []
    for i in range(0, len(audio), 320):
        rec.push(audio[i : i + 320])
        while rec.due() is not None:
            job = rec.make_job()
            events += rec.apply(job, decode(job), rec.position / SAMPLE_RATE)
    rec.end_of_stream()
    while rec.due() is not None:
        job = rec.make_job()
        events += rec.apply(job, decode(job), rec.position / SAMPLE_RATE)
    return events


def test_finals_reproduce_the_reference_in_order(vad_model, call) -> None:  # type: ignore[no-untyped-def]
    audio, timeline = call
    decoder = ScriptedDecoder(timeline)
    rec = StreamingRecognizer(vad_model, AsrSettings(model="scripted"), stream_id="t")
    events = run(rec, audio, decoder)
    finals = [e for e in events if e.is_final]
    got = [norm(w.text) for e in finals for w in e.words]
    want = [norm(t) for t, _, _ in timeline]
    assert got == want
    # Cut words never reach a final.
    assert not any(w.text.endswith("-") for e in finals for w in e.words)
    # Buffer trimming kept every decode window bounded although the call never pauses 0.5 s.
    assert decoder.max_window <= AsrSettings().max_buffer_seconds + 1.0
    assert len(finals) >= 3


def test_interims_precede_their_final_and_grow(vad_model, call) -> None:  # type: ignore[no-untyped-def]
    audio, timeline = call
    rec = StreamingRecognizer(vad_model, AsrSettings(model="scripted"), stream_id="t")
    events = run(rec, audio, ScriptedDecoder(timeline))
    by_segment: dict[str, list] = {}  # type: ignore[type-arg]
    for e in events:
        by_segment.setdefault(e.segment_id, []).append(e)
    for seg_events in by_segment.values():
        assert seg_events[-1].is_final
        assert sum(1 for e in seg_events if e.is_final) == 1
    assert sum(1 for e in events if not e.is_final) > 2 * len(by_segment)
    for e in events:
        if e.is_final:
            for w in e.words:
                # Seen once spoken (perhaps half), committed after that.
                assert w.first_seen is not None and w.committed_at is not None
                assert w.start <= w.first_seen <= w.committed_at


def test_silence_and_noise_cost_no_decode(vad_model) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(1)
    silence = np.zeros(SAMPLE_RATE * 10, dtype=np.float32)
    noise = (rng.standard_normal(SAMPLE_RATE * 10) * 0.2).astype(np.float32)
    for audio in (silence, noise):
        decoder = ScriptedDecoder([("ghost", 1.0, 2.0)])
        rec = StreamingRecognizer(vad_model, AsrSettings(model="scripted"), stream_id="q")
        assert run(rec, audio, decoder) == []
        assert decoder.calls == 0
        assert rec.buffered_seconds <= 0.6  # silence keeps only a short pre-roll


def test_int16_and_float_input_are_equivalent(vad_model, call) -> None:  # type: ignore[no-untyped-def]
    audio, timeline = call
    pcm = (audio * 32767).astype(np.int16)
    a = run(StreamingRecognizer(vad_model, AsrSettings(), stream_id="a"), audio, ScriptedDecoder(timeline))
    b = run(StreamingRecognizer(vad_model, AsrSettings(), stream_id="b"), pcm, ScriptedDecoder(timeline))
    assert [e.text for e in a if e.is_final] == [e.text for e in b if e.is_final]


def gapped(gaps: list[float] | None = None) -> tuple[np.ndarray, list[tuple[str, float, float]]]:
    """The call's utterances one after another with silences between them (0.9 s, or ``gaps``
    in order for as many utterances), and the timeline of their words."""
    from agent.samples import utterance_clips

    clips = utterance_clips(pyannote_sample())
    if gaps is not None:
        clips = clips[: len(gaps)]
    parts, timeline, cursor = [], [], 0.0
    for n, (utt, clip) in enumerate(clips):
        gap = np.zeros(int((0.9 if gaps is None else gaps[n]) * SAMPLE_RATE), dtype=np.float32)
        tokens = utt.text.split()
        step = len(clip) / SAMPLE_RATE / len(tokens)
        timeline += [(t, cursor + i * step, cursor + (i + 1) * step) for i, t in enumerate(tokens)]
        parts += [clip, gap]
        cursor += (len(clip) + len(gap)) / SAMPLE_RATE
    return np.concatenate(parts), timeline


def test_no_utterance_is_lost_while_a_final_is_decoding(vad_model) -> None:  # type: ignore[no-untyped-def]
    """On a loaded machine a final decode can take longer than the next short utterance lasts:
    that utterance starts and ends before the decode returns and must still get its final."""
    audio, timeline = gapped()
    decode = ScriptedDecoder(timeline)
    rec = StreamingRecognizer(vad_model, AsrSettings(model="scripted"), stream_id="slow")
    events: list = []  # type: ignore[type-arg]
    fed = 0

    def feed(seconds: float) -> None:
        nonlocal fed
        stop = min(len(audio), fed + int(seconds * SAMPLE_RATE))
        while fed < stop:
            rec.push(audio[fed : fed + 320])
            fed += 320

    while fed < len(audio) or rec.due() is not None:
        if rec.due() is None:
            if fed >= len(audio):
                break
            feed(0.02)
            continue
        job = rec.make_job()
        feed(3.0 if job.kind == "final" else 0.6)  # audio keeps arriving while it decodes
        events += rec.apply(job, decode(job), rec.position / SAMPLE_RATE)
    rec.end_of_stream()
    while rec.due() is not None:
        job = rec.make_job()
        events += rec.apply(job, decode(job), rec.position / SAMPLE_RATE)
    got = [norm(w.text) for e in events if e.is_final for w in e.words]
    assert got == [norm(t) for t, _, _ in timeline]


class DerailedFinals(ScriptedDecoder):
    """Every final decode comes back empty, as when a guard drops a derailed decode."""

    def __call__(self, job: DecodeJob) -> Hypothesis:
        hyp = super().__call__(job)
        return Hypothesis([], "en", 0.99, None, 0.9, -2.0, 1.0, 0.01) if job.kind == "final" else hyp


def test_an_empty_final_keeps_what_the_interims_showed(vad_model) -> None:  # type: ignore[no-untyped-def]
    audio, timeline = gapped([1.0, 1.0])
    rec = StreamingRecognizer(vad_model, AsrSettings(model="scripted"), stream_id="derailed")
    events = run(rec, audio, DerailedFinals(timeline))
    finals = [e for e in events if e.is_final]
    assert len(finals) == 2
    got = [norm(w.text).rstrip("-") for e in finals for w in e.words]
    want = [norm(t) for t, _, _ in timeline]
    # Each utterance keeps its interim words (the last one maybe cut, as interims hear it).
    assert len(got) == len(want) and all(w.startswith(g) for g, w in zip(got, want, strict=True))


class RecordingDecoder(ScriptedDecoder):
    def __init__(self, timeline: list[tuple[str, float, float]]) -> None:
        super().__init__(timeline)
        self.jobs: list[DecodeJob] = []

    def __call__(self, job: DecodeJob) -> Hypothesis:
        self.jobs.append(job)
        return super().__call__(job)


def run_skipping(rec: StreamingRecognizer, audio: np.ndarray, decode: ScriptedDecoder) -> list:  # type: ignore[type-arg]
    """As the engine does: a final the recogniser says to skip is applied without a decode."""
    events = []

    def drain() -> None:
        nonlocal events
        while rec.due() is not None:
            job = rec.make_job()
            if job is None:
                continue
            hyp = None if rec.skip_final(job) else decode(job)
            events += rec.apply(job, hyp, rec.position / SAMPLE_RATE)

    for i in range(0, len(audio), 320):
        rec.push(audio[i : i + 320])
        drain()
    rec.end_of_stream()
    drain()
    return events


def test_the_final_is_decoded_early_and_used_when_the_end_is_confirmed(vad_model) -> None:  # type: ignore[no-untyped-def]
    audio, timeline = gapped([1.0, 1.0, 1.0])
    decoder = RecordingDecoder(timeline)
    rec = StreamingRecognizer(vad_model, AsrSettings(model="scripted"), stream_id="early")
    events = run_skipping(rec, audio, decoder)
    finals = [e for e in events if e.is_final]
    assert [norm(w.text) for e in finals for w in e.words] == [norm(t) for t, _, _ in timeline]
    early = [j for j in decoder.jobs if j.early]
    late = [j for j in decoder.jobs if j.kind == "final" and not j.early]
    # Each utterance's final was decoded during its silence, and not a second time.
    assert len(early) == len(finals) == 3 and late == []
    for job, final in zip(early, finals, strict=True):
        # Emitted when the VAD confirmed the end (500 ms of silence), decoded ~300 ms before.
        confirmed = job.end_sample / SAMPLE_RATE + 0.3
        assert final.emitted_at == pytest.approx(confirmed, abs=0.1)


def test_an_early_final_is_dropped_when_speech_resumes(vad_model) -> None:  # type: ignore[no-untyped-def]
    # Two utterances 0.05 s apart (plus the clips' own edges): a pause long enough to try an
    # early final, too short to end the turn.
    audio, timeline = gapped([0.05, 1.0])
    decoder = RecordingDecoder(timeline)
    rec = StreamingRecognizer(vad_model, AsrSettings(model="scripted"), stream_id="resume")
    events = run_skipping(rec, audio, decoder)
    finals = [e for e in events if e.is_final]
    assert len(finals) == 1  # one utterance: the pause did not end it
    assert [norm(w.text) for w in finals[0].words] == [norm(t) for t, _, _ in timeline]
    early = [j for j in decoder.jobs if j.early]
    assert len(early) == 2  # tried in the pause (wasted), then at the real end (used)
    assert not [j for j in decoder.jobs if j.kind == "final" and not j.early]
    assert early[1].end_sample > early[0].end_sample


def test_no_early_final_under_back_pressure(vad_model) -> None:  # type: ignore[no-untyped-def]
    audio, timeline = gapped([1.0, 1.0])
    decoder = RecordingDecoder(timeline)
    rec = StreamingRecognizer(vad_model, AsrSettings(model="scripted"), stream_id="busy")
    rec.chunk_seconds = 1.2  # the engine raised it: decodes are slow
    events = run_skipping(rec, audio, decoder)
    assert not [j for j in decoder.jobs if j.early]
    assert len([e for e in events if e.is_final]) == 2


class MishearingFinal(ScriptedDecoder):
    """Interims hear the script; the final decode mishears its second word ("whisky" -> "ski")."""

    def __call__(self, job: DecodeJob) -> Hypothesis:
        hyp = super().__call__(job)
        if job.kind != "final":
            return hyp
        words = list(hyp.words)
        if len(words) > 1:
            words[1] = dataclasses.replace(words[1], text=" MISHEARD")
        return dataclasses.replace(hyp, words=words)


@pytest.mark.parametrize("policy", ["keep", "redecode"])
def test_a_final_keeps_the_agreed_words_unless_told_to_redecode(vad_model, policy) -> None:  # type: ignore[no-untyped-def]
    audio, timeline = gapped()
    settings = AsrSettings(model="scripted", final_policy=policy)
    rec = StreamingRecognizer(vad_model, settings, stream_id="keep")
    events = run(rec, audio, MishearingFinal(timeline))
    kept, revised = 0, 0
    for final in (e for e in events if e.is_final):
        interims = [e for e in events if e.segment_id == final.segment_id and not e.is_final]
        if not interims or not interims[-1].stable_words:
            continue  # nothing agreed before the end: the final decides alone
        agreed = [norm(w.text) for w in interims[-1].words[: interims[-1].stable_words]]
        said = [norm(w.text) for w in final.words[: len(agreed)]]
        kept += said == agreed
        revised += said != agreed
    if policy == "keep":
        assert kept >= 3 and revised == 0
    else:
        assert revised >= 1
    # Either way the final closes every segment its interims opened.
    assert {e.segment_id for e in events} == {e.segment_id for e in events if e.is_final}


class HearsTheContext(RecordingDecoder):
    """A final with left context also "hears" a word in that context, as Whisper does."""

    def __call__(self, job: DecodeJob) -> Hypothesis:
        self.jobs.append(job)
        hyp = ScriptedDecoder.__call__(self, job)  # the words of the job's own span
        if not job.context_samples:
            return hyp
        shift = job.context_samples / SAMPLE_RATE
        moved = [dataclasses.replace(w, start=w.start + shift, end=w.end + shift) for w in hyp.words]
        return dataclasses.replace(hyp, words=[Word(" earlier", 0.0, shift - 0.3, 0.9), *moved])


def test_a_final_hears_earlier_speech_first_and_keeps_only_its_own_words(vad_model) -> None:  # type: ignore[no-untyped-def]
    audio, timeline = gapped([1.0, 1.0, 1.0, 1.0])
    decoder = HearsTheContext(timeline)
    settings = AsrSettings(model="scripted", final_context_seconds=3.0, final_context_align="time")
    finals = [e for e in run(StreamingRecognizer(vad_model, settings), audio, decoder) if e.is_final]
    assert [norm(w.text) for e in finals for w in e.words] == [norm(t) for t, _, _ in timeline]
    final_jobs = [j for j in decoder.jobs if j.kind == "final"]
    first_end = int(finals[0].end * SAMPLE_RATE)
    assert all(j.context_samples == 0 for j in final_jobs if j.start_sample < first_end)  # nothing before
    later = [j for j in final_jobs if j.start_sample >= first_end]
    assert later and all(0 < j.context_samples <= 3 * SAMPLE_RATE for j in later)
    assert all(len(j.audio) == j.context_samples + j.end_sample - j.start_sample for j in later)
    assert all(j.prompt == "" for j in later)  # its text is in the audio now
    # Interims never carry it (they run every half second: the cost would be paid each time).
    assert all(j.context_samples == 0 for j in decoder.jobs if j.kind == "interim")
    assert all(j.context_text == "" for j in decoder.jobs)  # told apart by time here


def test_a_final_told_from_its_context_by_text_gets_the_earlier_finals_text(vad_model) -> None:  # type: ignore[no-untyped-def]
    """By text (the default), the context is whole earlier finals with their text, and the job
    carries the prompt it would have had alone (for the decode without context)."""
    audio, timeline = gapped([1.0, 1.0, 1.0, 1.0])
    decoder = RecordingDecoder(timeline)  # hears only each job's own span
    settings = AsrSettings(model="scripted", final_context_seconds=3.0)
    finals = [e for e in run(StreamingRecognizer(vad_model, settings), audio, decoder) if e.is_final]
    assert [norm(w.text) for e in finals for w in e.words] == [norm(t) for t, _, _ in timeline]
    later = [j for j in decoder.jobs if j.kind == "final" and j.context_samples]
    assert later
    for job in later:
        before = [f for f in finals if f.end * SAMPLE_RATE <= job.start_sample + 1]
        # Whole finals, the latest ones, in order: the context's text ends with the last one's.
        assert job.context_text and job.context_text.endswith(before[-1].text.strip())
        assert job.context_text in " ".join(f.text.strip() for f in before)
        assert job.context_samples <= 2 * 3 * SAMPLE_RATE  # the latest may run past the limit
        assert job.prompt == "" and job.plain_prompt == before[-1].text.strip()[-120:]
