"""Write 16-bit PCM WAV files with the standard library: test fixtures, samples, benchmarks.

16-bit mono WAV is what every tool (sox, ffmpeg, browsers, LiveKit's file publishers) reads, and
the stdlib ``wave`` module writes it without another dependency.
"""

from __future__ import annotations

import os
import wave
from pathlib import Path

import numpy as np

from agent.timebase import SAMPLE_RATE


def to_int16(samples: np.ndarray) -> np.ndarray:
    """Float samples in [-1, 1] (clipped beyond) to signed 16-bit samples."""
    clipped = np.clip(np.asarray(samples, dtype=np.float32), -1.0, 1.0)
    return np.round(clipped * 32767.0).astype("<i2")


def to_pcm16(samples: np.ndarray) -> bytes:
    """Float samples in [-1, 1] (clipped beyond) to little-endian signed 16-bit bytes."""
    return to_int16(samples).tobytes()


def write_wav(path: str | os.PathLike[str], samples: np.ndarray, sample_rate: int = SAMPLE_RATE) -> Path:
    """Write mono (1-D) or interleaved multi-channel (2-D, frames x channels) float audio."""
    data = np.asarray(samples, dtype=np.float32)
    channels = 1 if data.ndim == 1 else int(data.shape[1])
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    with wave.open(str(tmp), "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        out.writeframes(to_pcm16(data.reshape(-1)))
    os.replace(tmp, target)  # readers never see a half-written file
    return target
