"""Audio input: decode any common file to 16 kHz mono float32, and write WAV fixtures."""

from agent.audio.decode import (
    DEFAULT_SAMPLE_RATE,
    AudioDecodeError,
    AudioInfo,
    AudioReader,
    iter_audio,
    load_audio,
    probe_audio,
)
from agent.audio.wav import write_wav

__all__ = [
    "DEFAULT_SAMPLE_RATE",
    "AudioDecodeError",
    "AudioInfo",
    "AudioReader",
    "iter_audio",
    "load_audio",
    "probe_audio",
    "write_wav",
]
