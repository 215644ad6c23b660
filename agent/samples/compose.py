"""Longer test recordings built from short ones, with an exact reference transcript.

- ``build_meeting``: the pyannote call's utterances cut out and laid end to end with silences in
  between, repeated, so benchmarks see many end-of-utterance events and VAD gaps.
- ``build_monologue``: about ten minutes of continuous speech with no pause long enough for a VAD to
  close the segment, to check that a streaming engine keeps memory and latency bounded.

Both stream the output into the WAV file clip by clip, so building them does not hold ten minutes
of audio in memory.
"""

from __future__ import annotations

import os
import wave
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from agent.audio.decode import load_audio
from agent.audio.silence import squeeze_silences
from agent.audio.wav import to_pcm16
from agent.samples.pyannote import Sample, Utterance, pyannote_sample
from agent.samples.synth import synth_speech
from agent.samples.text import normalize_for_wer
from agent.timebase import SAMPLE_RATE


@dataclass(frozen=True)
class Recording:
    """A generated WAV and its reference utterances on the recording's own clock."""

    wav: Path
    duration: float
    utterances: tuple[Utterance, ...]
    language: str = "en"

    def reference_text(self) -> str:
        return " ".join(u.text for u in self.utterances)

    def normalized_reference(self) -> str:
        return normalize_for_wer(self.reference_text(), self.language)


def utterance_clips(sample: Sample, pad: float = 0.08) -> list[tuple[Utterance, np.ndarray]]:
    """Each STM utterance's audio, padded by ``pad`` s but never past the neighbours' midpoints."""
    audio = load_audio(sample.wav, SAMPLE_RATE)
    ordered = sorted(sample.utterances, key=lambda u: u.start)
    clips = []
    for i, utt in enumerate(ordered):
        lo = utt.start - pad
        hi = utt.end + pad
        if i > 0:
            lo = max(lo, (ordered[i - 1].end + utt.start) / 2)
        if i + 1 < len(ordered):
            hi = min(hi, (utt.end + ordered[i + 1].start) / 2)
        a, b = max(0, round(lo * SAMPLE_RATE)), min(len(audio), round(hi * SAMPLE_RATE))
        clips.append((utt, audio[a:b].copy()))
    return clips


def _write_clips(
    path: Path,
    pieces: Iterable[tuple[Utterance | None, np.ndarray]],
    language: str,
) -> Recording:
    """Write (utterance or None for filler, audio) pieces; return the re-timed reference."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    cursor = 0
    placed: list[Utterance] = []
    with wave.open(str(tmp), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        for utt, audio in pieces:
            if utt is not None:
                start = cursor / SAMPLE_RATE
                end = (cursor + len(audio)) / SAMPLE_RATE
                placed.append(Utterance(utt.speaker, round(start, 3), round(end, 3), utt.text))
            out.writeframes(to_pcm16(audio))
            cursor += len(audio)
    os.replace(tmp, path)
    return Recording(path, cursor / SAMPLE_RATE, tuple(placed), language)


def build_meeting(
    path: str | os.PathLike[str],
    *,
    repeats: int = 4,
    gap: float = 1.5,
    noise_floor: float = 0.0,
    sample: Sample | None = None,
    seed: int = 0,
) -> Recording:
    """The sample's utterances ``repeats`` times, each followed by ``gap`` s of (near) silence.

    ``noise_floor`` is the RMS of white noise in the gaps (0 for digital silence); real rooms are
    never digitally silent, and a VAD should still see the gaps as non-speech.
    """
    clips = utterance_clips(sample or pyannote_sample())
    rng = np.random.default_rng(seed)

    def pieces() -> Iterator[tuple[Utterance | None, np.ndarray]]:
        for _ in range(repeats):
            for utt, audio in clips:
                yield utt, audio
                silence = rng.normal(0.0, noise_floor, round(gap * SAMPLE_RATE)) if noise_floor \
                    else np.zeros(round(gap * SAMPLE_RATE))  # fmt: skip
                yield None, silence.astype(np.float32)

    return _write_clips(Path(path), pieces(), "en")


# Original text (written for this project) for the synthetic monologue: long sentences with few
# commas, because espeak-ng pauses at punctuation.
MONOLOGUE_TEXT = {
    "en": [
        "Good morning everyone and thank you for joining the weekly planning meeting today",
        "we will start with the status of the release and then talk about the budget for next year",
        "the team finished the new search page last week and the first results look very good",
        "we still need to fix two bugs in the billing service before we can ship the update",
        "marketing asked for a short video that explains the main features to new customers",
        "the support team gets fewer calls since the help pages were rewritten in plain language",
        "we should hire one more engineer for the mobile application before the end of the summer",
        "the next meeting will be on Thursday afternoon in the large room on the second floor",
    ],
    "fr": [
        "Bonjour à tous et merci d'être venus à la réunion de planification de cette semaine",
        "nous allons commencer par l'état de la prochaine version puis parler du budget de l'année",
        "l'équipe a terminé la nouvelle page de recherche et les premiers résultats sont très bons",
        "il reste deux problèmes à corriger dans le service de facturation avant la mise à jour",
        "le service client reçoit moins d'appels depuis que les pages d'aide ont été réécrites",
        "nous devons recruter un développeur pour l'application mobile avant la fin de l'été",
        "la prochaine réunion aura lieu jeudi après-midi dans la grande salle du deuxième étage",
    ],
}


def build_monologue(
    path: str | os.PathLike[str],
    *,
    seconds: float = 600.0,
    source: str = "sample",
    lang: str = "en",
    max_gap: float = 0.12,
) -> Recording:
    """Continuous speech of at least ``seconds`` with no silence longer than ``max_gap``.

    ``source="sample"``: the real utterances of the pyannote call (English), looped back to back
    with their internal pauses squeezed. ``source="espeak"``: synthetic sentences in ``lang``
    ("en" or "fr"). The last clip is kept whole, so the duration slightly exceeds ``seconds``.
    """
    if source == "sample":
        if lang != "en":
            raise ValueError("the real-speech sample is English; use source='espeak' for French")
        clips = [(u, squeeze_silences(a, SAMPLE_RATE, max_gap)) for u, a in
                 utterance_clips(pyannote_sample(), pad=0.0)]  # fmt: skip
    elif source == "espeak":
        if lang not in MONOLOGUE_TEXT:
            raise ValueError(f"no monologue text for language {lang!r}")
        clips = []
        for sentence in MONOLOGUE_TEXT[lang]:
            audio = squeeze_silences(load_audio(synth_speech(sentence, lang)), SAMPLE_RATE, max_gap)
            clips.append((Utterance("espeak", 0.0, 0.0, sentence), audio))
    else:
        raise ValueError(f"source must be 'sample' or 'espeak', got {source!r}")

    target = round(seconds * SAMPLE_RATE)

    def pieces() -> Iterator[tuple[Utterance | None, np.ndarray]]:
        written = 0
        while written < target:
            for utt, audio in clips:
                yield utt, audio
                written += len(audio)
                if written >= target:
                    return

    return _write_clips(Path(path), pieces(), lang)
