"""Audio generated with sox and PyAV for the decoder tests (nothing binary is committed)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import av
import numpy as np


def tone(seconds: float, rate: int, freq: float = 440.0, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(round(seconds * rate)) / rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def encode(
    path: Path,
    audio: np.ndarray,
    rate: int,
    codec: str,
    container_format: str | None = None,
) -> Path:
    """Encode (channels x samples) float audio with PyAV; the encoder converts sample formats."""
    audio = np.atleast_2d(audio).astype(np.float32)
    layout = "mono" if audio.shape[0] == 1 else "stereo"
    with av.open(str(path), "w", format=container_format) as out:
        stream = out.add_stream(codec, rate=rate, layout=layout)
        for i in range(0, audio.shape[1], 1024):
            block = np.ascontiguousarray(audio[:, i : i + 1024])
            frame = av.AudioFrame.from_ndarray(block, format="fltp", layout=layout)
            frame.sample_rate = rate
            frame.pts = i
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


def sox(*args: str) -> None:
    subprocess.run(["sox", *args], check=True, capture_output=True)
