"""Diarization as the rest of greffier uses it: turns, labels, RTTM, transcripts, DER.

Nothing here imports torch at module import; ``diarize_audio`` / ``diarize_file`` load the
``diarization`` extra on first use (and say so in one line when it is missing).
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import string
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from agent.diarize.settings import DiarizationSettings
from agent.timebase import SAMPLE_RATE


@dataclass(frozen=True)
class SpeakerTurn:
    """``speaker`` spoke from ``start`` to ``end`` (seconds on the audio's clock)."""

    start: float
    end: float
    speaker: str


_pipelines: dict[tuple[str, str, str, int], Any] = {}
_pipelines_lock = threading.Lock()


def get_pipeline(settings: DiarizationSettings | None = None) -> Any:
    """The process-wide pipeline for these settings (loaded once: ~1 s offline)."""
    from agent.diarize.pipeline import load_pipeline

    settings = settings or DiarizationSettings.from_env()
    key = (settings.pipeline, settings.token, settings.backend, settings.threads)
    with _pipelines_lock:
        if key not in _pipelines:
            _pipelines[key] = load_pipeline(
                settings.pipeline, settings.token, settings.backend, settings.threads
            )
        return _pipelines[key]


def annotation_turns(annotation: Any) -> list[SpeakerTurn]:
    return [
        SpeakerTurn(float(seg.start), float(seg.end), str(label))
        for seg, _, label in annotation.itertracks(yield_label=True)
    ]


def run_pipeline(
    pipeline: Any,
    audio: np.ndarray,
    *,
    uri: str = "audio",
    max_speakers: int | None = None,
    exclusive: bool = False,
) -> list[SpeakerTurn]:
    """Turns from a pipeline's output (``DiarizeOutput`` in pyannote 4, ``Annotation`` before)."""
    output = pipeline(audio, uri=uri, max_speakers=max_speakers)
    annotation = output
    if hasattr(output, "speaker_diarization"):
        annotation = output.exclusive_speaker_diarization if exclusive else output.speaker_diarization
    return sorted(annotation_turns(annotation), key=lambda t: (t.start, t.end))


def diarize_audio(
    audio: np.ndarray,
    settings: DiarizationSettings | None = None,
    *,
    uri: str = "audio",
    exclusive: bool = False,
) -> list[SpeakerTurn]:
    """Speaker turns of 16 kHz mono float32 audio, labels renamed A, B, C... by first appearance."""
    settings = settings or DiarizationSettings.from_env()
    turns = run_pipeline(
        get_pipeline(settings),
        audio,
        uri=uri,
        max_speakers=settings.max_speakers or None,
        exclusive=exclusive,
    )
    return letter_labels(turns)


def diarize_file(
    path: str | os.PathLike[str], settings: DiarizationSettings | None = None, *, exclusive: bool = False
) -> list[tuple[float, float, str]]:
    """``[(start, end, speaker)]`` for an audio file (any format FFmpeg reads); speakers A, B, ..."""
    from agent.audio.decode import load_audio

    audio = load_audio(path, SAMPLE_RATE)
    turns = diarize_audio(audio, settings, uri=Path(path).stem or "audio", exclusive=exclusive)
    return [(t.start, t.end, t.speaker) for t in turns]


def letter(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA ..."""
    letters = string.ascii_uppercase
    out = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        out = letters[rem] + out
    return out


def letter_labels(turns: Sequence[SpeakerTurn]) -> list[SpeakerTurn]:
    """Rename speakers A, B, C... in order of first appearance."""
    names: dict[str, str] = {}
    for t in sorted(turns, key=lambda t: t.start):
        names.setdefault(t.speaker, letter(len(names)))
    return [replace(t, speaker=names[t.speaker]) for t in turns]


def participant_label(participant: str, speaker: str) -> str:
    """``Salle Jaurès`` + ``A`` -> ``Salle Jaurès (A)``."""
    return f"{participant} ({speaker})" if participant else speaker


def speaker_at(turns: Sequence[SpeakerTurn], start: float, end: float) -> str | None:
    """The speaker overlapping ``[start, end]`` most; the nearest turn (within 1 s) otherwise."""
    best, best_overlap = None, 0.0
    for t in turns:
        overlap = min(end, t.end) - max(start, t.start)
        if overlap > best_overlap:
            best, best_overlap = t.speaker, overlap
    if best is not None:
        return best
    mid = (start + end) / 2
    nearest = min(turns, key=lambda t: min(abs(mid - t.start), abs(mid - t.end)), default=None)
    if nearest is not None and min(abs(mid - nearest.start), abs(mid - nearest.end)) <= 1.0:
        return nearest.speaker
    return None


def word_speakers(
    words: Sequence[Any], turns: Sequence[SpeakerTurn], *, pad: float = 0.05, flicker_s: float = 0.5
) -> list[str | None]:
    """The speaker of each word (objects with ``start``/``end`` on the turns' clock).

    Each word takes the speaker overlapping it (padded by ``pad``) most; then short flickers, a run
    of at most two words lasting under ``flicker_s`` between two runs of one same other speaker,
    are given to that speaker (Whisper's word times are approximate, zero-length words exist)."""
    labels = [speaker_at(turns, w.start - pad, w.end + pad) for w in words]
    for i, label in enumerate(labels):  # words outside every turn follow the previous word
        if label is None and i:
            labels[i] = labels[i - 1]
    runs: list[list[int]] = []
    for i, label in enumerate(labels):
        if runs and labels[runs[-1][0]] == label:
            runs[-1].append(i)
        else:
            runs.append([i])
    for r in range(1, len(runs) - 1):
        run, before, after = runs[r], runs[r - 1], runs[r + 1]
        same_sides = labels[before[0]] == labels[after[0]]
        short = len(run) <= 2 and words[run[-1]].end - words[run[0]].start < flicker_s
        if same_sides and short:
            for i in run:
                labels[i] = labels[before[0]]
    return labels


# --------------------------------------------------------------------------------------------
# RTTM
# --------------------------------------------------------------------------------------------


def to_rttm(turns: Iterable[SpeakerTurn | tuple[float, float, str]], uri: str = "audio") -> str:
    """NIST RTTM: ``SPEAKER uri 1 onset duration <NA> <NA> speaker <NA> <NA>`` per turn."""
    uri = "_".join(uri.split()) or "audio"
    lines = []
    for t in turns:
        start, end, speaker = (t.start, t.end, t.speaker) if isinstance(t, SpeakerTurn) else t
        name = "_".join(str(speaker).split()) or "unknown"
        lines.append(f"SPEAKER {uri} 1 {start:.3f} {max(0.0, end - start):.3f} <NA> <NA> {name} <NA> <NA>")
    return "\n".join(lines) + ("\n" if lines else "")


def write_rttm(
    path: str | os.PathLike[str], turns: Iterable[SpeakerTurn | tuple[float, float, str]], uri: str = "audio"
) -> Path:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(to_rttm(turns, uri), encoding="utf-8")
    return target


# --------------------------------------------------------------------------------------------
# Transcripts (agent.transcript.Transcript) and live segments (agent.transcript.segment)
# --------------------------------------------------------------------------------------------


def label_transcript(
    transcript: Any, turns: Sequence[SpeakerTurn | tuple[float, float, str]], participant: str = ""
) -> Any:
    """Split the transcript's segments at speaker changes and set each one's ``speaker``.

    Works on ``agent.transcript.document.Transcript`` (segments with ``words`` on the file's clock).
    Each word goes to the speaker overlapping it most; a segment without words takes the speaker
    overlapping it most. Returns the same transcript object, modified."""
    turns = [t if isinstance(t, SpeakerTurn) else SpeakerTurn(*t) for t in turns]
    joiner = " "
    out: list[Any] = []
    for seg in transcript.segments:
        if not seg.words:
            who = speaker_at(turns, seg.start, seg.end)
            label = participant_label(participant, who) if who else seg.speaker_name
            out.append(dataclasses.replace(seg, speaker_name=label))
            continue
        for who, words in speaker_runs(seg.words, word_speakers(seg.words, turns)):
            out.append(
                dataclasses.replace(
                    seg,
                    start=words[0].start,
                    end=words[-1].end,
                    text=joiner.join(w.text.strip() for w in words).strip(),
                    words=tuple(words),
                    speaker_name=participant_label(participant, who) if who else seg.speaker_name,
                )
            )
    transcript.segments = out
    return transcript


def speaker_runs(words: Sequence[Any], speakers: Sequence[str | None]) -> list[tuple[str | None, list[Any]]]:
    """Consecutive words of one speaker, in order: where a segment is split."""
    return [
        (who, [w for w, _ in run])
        for who, run in itertools.groupby(zip(words, speakers, strict=True), key=lambda pair: pair[1])
    ]


def label_segments(segments: Sequence[Any], turns: Sequence[SpeakerTurn], start_wall: float) -> list[Any]:
    """Split live ``Segment``s of one shared track by speaker: ``speaker_name`` becomes
    "Salle Jaurès (A)" and ``speaker_identity`` "<identity>#A". ``turns`` are on the kept file's
    clock; ``start_wall`` is the file's first sample on the wall clock."""
    from agent.transcript.segment import Segment

    out: list[Segment] = []
    wall_turns = [SpeakerTurn(t.start + start_wall, t.end + start_wall, t.speaker) for t in turns]
    for seg in segments:

        def who(a: float, b: float) -> str | None:
            return speaker_at(turns, a - start_wall, b - start_wall)

        if not seg.words:
            sp = who(seg.start, seg.end)
            out.append(_relabel(seg, sp, seg.segment_id))
            continue
        groups = speaker_runs(seg.words, word_speakers(seg.words, wall_turns))
        for n, (sp, words) in enumerate(groups):
            part = replace(
                seg,
                start=words[0].start,
                end=words[-1].end,
                text=" ".join(w.text.strip() for w in words).strip(),
                words=tuple(words),
            )
            out.append(_relabel(part, sp, seg.segment_id if len(groups) == 1 else f"{seg.segment_id}.{n}"))
    return out


def _relabel(seg: Any, speaker: str | None, segment_id: str) -> Any:
    if speaker is None:
        return replace(seg, segment_id=segment_id)
    return replace(
        seg,
        segment_id=segment_id,
        speaker_identity=f"{seg.speaker_identity}#{speaker}",
        speaker_name=participant_label(seg.speaker_name or seg.speaker_identity, speaker),
    )


# --------------------------------------------------------------------------------------------
# Evaluation
# --------------------------------------------------------------------------------------------


def diarization_error_rate(
    reference: Iterable[Any],
    hypothesis: Iterable[SpeakerTurn | tuple[float, float, str]],
    *,
    collar: float = 0.0,
    skip_overlap: bool = False,
    uri: str = "audio",
) -> dict[str, float]:
    """pyannote.metrics DER (and its parts) of hypothesis turns against reference turns
    (objects with ``speaker``, ``start``, ``end``, e.g. ``agent.samples.Turn``)."""
    from pyannote.core import Annotation, Segment
    from pyannote.metrics.diarization import DiarizationErrorRate

    def annotation(items: Iterable[Any]) -> Annotation:
        ann = Annotation(uri=uri)
        for i, t in enumerate(items):
            start, end, speaker = (t[0], t[1], t[2]) if isinstance(t, tuple) else (t.start, t.end, t.speaker)
            ann[Segment(start, end), f"t{i}"] = speaker
        return ann

    import warnings

    metric = DiarizationErrorRate(collar=collar, skip_overlap=skip_overlap)
    with warnings.catch_warnings():  # the scored extent is the union of both, as intended here
        warnings.filterwarnings("ignore", message="'uem' was approximated")
        detail = metric(annotation(reference), annotation(hypothesis), detailed=True)
    total = detail["total"] or 1.0
    return {
        "der": float(detail["diarization error rate"]),
        "false_alarm": detail["false alarm"] / total,
        "missed": detail["missed detection"] / total,
        "confusion": detail["confusion"] / total,
        "total": float(detail["total"]),
    }


def best_mapping(reference: Sequence[Any], hypothesis: Sequence[SpeakerTurn]) -> dict[str, str]:
    """Hypothesis label -> reference label maximising overlap (Hungarian), for word agreement."""
    from scipy.optimize import linear_sum_assignment

    refs = sorted({t.speaker for t in reference})
    hyps = sorted({t.speaker for t in hypothesis})
    overlap = np.zeros((len(hyps), len(refs)))
    for h in hypothesis:
        for r in reference:
            overlap[hyps.index(h.speaker), refs.index(r.speaker)] += max(
                0.0, min(h.end, r.end) - max(h.start, r.start)
            )
    rows, cols = linear_sum_assignment(-overlap)
    return {hyps[i]: refs[j] for i, j in zip(rows, cols, strict=True)}


def word_label_agreement(utterances: Sequence[Any], turns: Sequence[SpeakerTurn]) -> float:
    """Fraction of the STM's words whose diarized speaker matches the STM speaker.

    The STM gives times per utterance, not per word: each utterance's words are spread evenly over
    its span (a word's slot is where it most likely is), each word takes the hypothesis speaker
    overlapping its slot most, and hypothesis labels are mapped to the STM's speakers by maximum
    overlap with its utterances."""
    mapping = best_mapping(utterances, turns)
    total = agree = 0
    for u in utterances:
        words = u.text.split()
        if not words:
            continue
        step = (u.end - u.start) / len(words)
        for i in range(len(words)):
            a = u.start + i * step
            who = speaker_at(turns, a, a + step)
            total += 1
            agree += int(who is not None and mapping.get(who) == u.speaker)
    return agree / total if total else 0.0


def asr_word_agreement(
    words: Sequence[Any], turns: Sequence[SpeakerTurn], utterances: Sequence[Any]
) -> float:
    """Fraction of ASR words (``start``/``end`` on the file clock) given the speaker of the STM
    utterance they fall in (words outside every utterance are not counted)."""
    mapping = best_mapping(utterances, turns)
    total = agree = 0
    for w, who in zip(words, word_speakers(words, turns), strict=True):
        mid = (w.start + w.end) / 2
        ref = next((u.speaker for u in utterances if u.start - 0.2 <= mid <= u.end + 0.2), None)
        if ref is None:
            continue
        total += 1
        agree += int(who is not None and mapping.get(who) == ref)
    return agree / total if total else 0.0


def diarize_transcript(
    transcript: Any,
    path: str | os.PathLike[str],
    settings: DiarizationSettings | None = None,
    participant: str = "",
) -> tuple[Any, list[SpeakerTurn]]:
    """``transcribe --diarize``: diarize ``path`` and label ``transcript`` (from that file).

    Returns the labelled transcript and the turns (for ``--format rttm``)."""
    from agent.audio.decode import load_audio

    audio = load_audio(path, SAMPLE_RATE)
    turns = diarize_audio(audio, settings, uri=Path(path).stem or "audio")
    label_transcript(transcript, turns, participant)
    transcript.stats["speakers"] = sorted({t.speaker for t in turns})
    return transcript, turns
