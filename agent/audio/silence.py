"""Energy-based silence measurement and squeezing, for building and checking test recordings.

This is not a voice activity detector (the engine uses Silero for that): it only needs to find
digital or near-digital silence in clean fixtures, e.g. to make a monologue "with no pause" so that
a VAD never closes the segment, and to assert that property in tests.
"""

from __future__ import annotations

import numpy as np

from agent.timebase import SAMPLE_RATE

FRAME_SECONDS = 0.02


def _frame_rms(audio: np.ndarray, frame: int) -> np.ndarray:
    usable = len(audio) // frame * frame
    if usable == 0:
        return np.zeros(0, dtype=np.float32)
    frames = audio[:usable].reshape(-1, frame).astype(np.float32)
    return np.sqrt(np.mean(frames * frames, axis=1))


def silent_frames(
    audio: np.ndarray, sample_rate: int = SAMPLE_RATE, relative_db: float = -35.0
) -> np.ndarray:
    """Boolean per 20 ms frame: RMS below ``relative_db`` of the loud (95th percentile) frames."""
    rms = _frame_rms(audio, round(FRAME_SECONDS * sample_rate))
    if rms.size == 0:
        return np.zeros(0, dtype=bool)
    reference = float(np.percentile(rms, 95))
    threshold = max(reference * 10 ** (relative_db / 20), 1e-4)
    return rms < threshold


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) frame index pairs of consecutive True values."""
    padded = np.concatenate([[False], mask, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))


def longest_silence(audio: np.ndarray, sample_rate: int = SAMPLE_RATE, relative_db: float = -35.0) -> float:
    """Seconds of the longest silent stretch (0 when there is none)."""
    runs = _runs(silent_frames(audio, sample_rate, relative_db))
    return max((end - start for start, end in runs), default=0) * FRAME_SECONDS


def squeeze_silences(
    audio: np.ndarray,
    sample_rate: int = SAMPLE_RATE,
    max_gap: float = 0.12,
    relative_db: float = -35.0,
) -> np.ndarray:
    """Shorten every silent stretch longer than ``max_gap`` seconds to ``max_gap``."""
    frame = round(FRAME_SECONDS * sample_rate)
    keep_frames = max(1, round(max_gap / FRAME_SECONDS))
    pieces: list[np.ndarray] = []
    cursor = 0
    for start, end in _runs(silent_frames(audio, sample_rate, relative_db)):
        if end - start <= keep_frames:
            continue
        head = start + keep_frames // 2
        tail = end - (keep_frames - keep_frames // 2)
        pieces.append(audio[cursor : head * frame])
        cursor = tail * frame
    pieces.append(audio[cursor:])
    return np.concatenate(pieces).astype(np.float32, copy=False)
