"""The two messages between the streaming policy and a decoder.

``StreamingRecognizer`` snapshots its buffer into a ``DecodeJob``; a decoder (single, batched,
on any thread) answers with a ``Hypothesis``. Both sides import this module and not each other,
so the policy can be tested with a fake decoder and the decoder without the policy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from agent.asr.events import Word

__all__ = ["DecodeJob", "Hypothesis", "to_float32"]


@dataclass(frozen=True)
class DecodeJob:
    kind: Literal["interim", "final"]
    audio: np.ndarray
    start_sample: int
    end_sample: int
    prompt: str
    language: str | None
    voice_end: int = 0  # where speech really stopped (the VAD adds padding after it)
    early: bool = False  # a final decoded before the VAD confirmed the end (see StreamingRecognizer)
    loaded: bool = False  # the stream was under back-pressure when it asked (the engine may hurry)
    # Samples of earlier speech put before the buffer in ``audio`` (a final's left context):
    # ``audio`` starts that many samples "before" ``start_sample``; words heard there are not this job's.
    context_samples: int = 0
    # The context's known text (its finals), when it is told from the job's words by text; and
    # the prompt the job would have had without context (for a decode of the job alone).
    context_text: str = ""
    plain_prompt: str = ""


def to_float32(samples: np.ndarray) -> np.ndarray:
    if samples.dtype == np.int16:
        return samples.astype(np.float32) / 32768.0
    return np.asarray(samples, dtype=np.float32)


@dataclass(frozen=True)
class Hypothesis:
    words: list[Word]  # times relative to the start of the decoded buffer
    language: str
    language_probability: float
    language_probs: list[tuple[str, float]] | None  # when Whisper detected the language
    no_speech_prob: float
    avg_logprob: float
    compression_ratio: float
    seconds: float  # wall time the decode took (in a batch: its share of the batch's)
