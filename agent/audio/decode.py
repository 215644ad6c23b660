"""Decode any audio file FFmpeg understands into 16 kHz mono float32, whole or in bounded chunks.

Why PyAV: it bundles FFmpeg's demuxers, decoders and libswresample, so one code path reads wav at
any rate, stereo, mp3, ogg/opus, flac, m4a and the audio track of webm/mp4 without a system ffmpeg
binary or hand-written resampling. Every failure a user can cause (missing, empty, corrupt or
audio-less file) becomes one ``AudioDecodeError`` whose message is a single line fit for stderr.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import av
import av.error
import numpy as np

from agent.timebase import SAMPLE_RATE

DEFAULT_SAMPLE_RATE = SAMPLE_RATE  # what callers get unless they ask for another rate

# libswresample's default stereo -> mono matrix adds both channels at -3 dB each (a full-scale
# in-phase signal would come out at 1.41 and clip). Capping the matrix at 1.0 makes it a mean.
_RESAMPLER_OPTIONS = {"rematrix_maxval": "1.0"}
# A file whose packets are all bad is corrupt; a few bad packets in a long recording are skipped
# (as the ffmpeg command line does) rather than losing the whole meeting.
_MAX_BAD_PACKETS = 100


class AudioDecodeError(Exception):
    """The file cannot be read as audio. ``str(exc)`` is one line naming the file and the cause."""

    def __init__(self, path: str | os.PathLike[str], reason: str) -> None:
        self.path = str(path)
        self.reason = " ".join(reason.split())  # never a multi-line message
        super().__init__(f"cannot read audio from {self.path}: {self.reason}")


@dataclass(frozen=True)
class AudioInfo:
    """What the container says about its first audio stream, before decoding."""

    path: str
    duration: float | None  # seconds; None when the container does not say (raw streams)
    source_rate: int
    channels: int
    codec: str


def _check_file(path: Path) -> None:
    if not path.exists():
        raise AudioDecodeError(path, "no such file")
    if path.is_dir():
        raise AudioDecodeError(path, "is a directory")
    if not os.access(path, os.R_OK):
        raise AudioDecodeError(path, "permission denied")
    if path.stat().st_size == 0:
        raise AudioDecodeError(path, "the file is empty (0 bytes)")


def _ffmpeg_reason(exc: BaseException) -> str:
    if isinstance(exc, av.error.FFmpegError) and exc.strerror:
        return str(exc.strerror)
    return str(exc) or type(exc).__name__


class AudioReader:
    """An open audio file that yields fixed-size chunks of resampled mono float32.

    Use as a context manager; ``duration`` (seconds, possibly an estimate) is known before the
    first chunk so callers can size a progress bar. Memory stays bounded by one chunk plus a
    decoded packet, whatever the file length.
    """

    def __init__(self, path: str | os.PathLike[str], sample_rate: int = DEFAULT_SAMPLE_RATE):
        if sample_rate <= 0:
            raise ValueError(f"sample_rate must be positive, got {sample_rate}")
        self.path = Path(path)
        self.sample_rate = sample_rate
        _check_file(self.path)
        try:
            self._container = av.open(str(self.path), mode="r")
        except (av.error.FFmpegError, OSError, UnicodeDecodeError) as exc:
            reason = f"not a readable media file ({_ffmpeg_reason(exc)})"
            raise AudioDecodeError(self.path, reason) from None
        try:
            streams = self._container.streams.audio
            if not streams:
                raise AudioDecodeError(self.path, "the file has no audio stream")
            self._stream = streams[0]
            ctx = self._stream.codec_context
            self.info = AudioInfo(
                path=str(self.path),
                duration=self._probe_duration(),
                source_rate=int(ctx.sample_rate or 0),
                channels=int(ctx.channels or 0),
                codec=str(ctx.name or "unknown"),
            )
        except BaseException:
            self._container.close()
            raise

    @property
    def duration(self) -> float | None:
        return self.info.duration

    def _probe_duration(self) -> float | None:
        stream = self._stream
        if stream.duration and stream.time_base:
            return float(stream.duration * stream.time_base)
        if self._container.duration:
            return self._container.duration / av.time_base
        return None

    def __enter__(self) -> AudioReader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._container.close()

    def _frames(self) -> Iterator[np.ndarray]:
        """Decoded, resampled blocks of any size, in file order."""
        resampler = av.AudioResampler(
            format="flt", layout="mono", rate=self.sample_rate, options=_RESAMPLER_OPTIONS
        )
        bad_packets = 0
        decoded_any = False
        last_error = ""
        try:
            packets = self._container.demux(self._stream)
            while True:
                try:
                    packet = next(packets)
                except StopIteration:
                    break
                except av.error.FFmpegError as exc:  # the demuxer itself gave up: stop here
                    last_error = _ffmpeg_reason(exc)
                    bad_packets += 1
                    break
                try:
                    frames = packet.decode()
                except av.error.FFmpegError as exc:
                    bad_packets += 1
                    last_error = _ffmpeg_reason(exc)
                    if bad_packets > _MAX_BAD_PACKETS and not decoded_any:
                        break
                    continue
                for frame in frames:
                    frame.pts = None  # timestamps of damaged files confuse the filter graph
                    try:
                        out = resampler.resample(frame)
                    except ValueError:  # the format changed mid-stream: flush, start over
                        for block in resampler.resample(None):
                            yield _to_mono(block)
                        resampler = av.AudioResampler(
                            format="flt",
                            layout="mono",
                            rate=self.sample_rate,
                            options=_RESAMPLER_OPTIONS,
                        )
                        out = resampler.resample(frame)
                    for block in out:
                        decoded_any = True
                        yield _to_mono(block)
            for block in resampler.resample(None):
                decoded_any = True
                yield _to_mono(block)
        except av.error.FFmpegError as exc:
            if not decoded_any:
                reason = f"corrupt audio ({_ffmpeg_reason(exc)})"
                raise AudioDecodeError(self.path, reason) from None
            return  # keep what was decoded before the damage
        if not decoded_any:
            why = f"corrupt audio ({last_error})" if last_error else "no audio samples decoded"
            raise AudioDecodeError(self.path, why)

    def read(self) -> np.ndarray:
        """The whole (remaining) file as one float32 mono array."""
        blocks = list(self._frames())
        return np.concatenate(blocks) if blocks else np.zeros(0, dtype=np.float32)

    def chunks(self, chunk_seconds: float = 30.0) -> Iterator[np.ndarray]:
        """Yield float32 mono arrays of exactly ``chunk_seconds`` (the last one shorter)."""
        size = max(1, round(chunk_seconds * self.sample_rate))
        pending: list[np.ndarray] = []
        pending_len = 0
        for block in self._frames():
            pending.append(block)
            pending_len += len(block)
            while pending_len >= size:
                joined = np.concatenate(pending)
                yield joined[:size]
                rest = joined[size:]
                pending, pending_len = ([rest], len(rest)) if len(rest) else ([], 0)
        if pending_len:
            yield np.concatenate(pending)


def _to_mono(frame: av.AudioFrame) -> np.ndarray:
    # Packed 'flt' mono: shape (1, n). Float sources (float wav, opus) can exceed full scale.
    data = frame.to_ndarray().reshape(-1).astype(np.float32, copy=False)
    return np.clip(data, -1.0, 1.0)


def probe_audio(path: str | os.PathLike[str]) -> AudioInfo:
    """Read the header only: duration, source rate, channels, codec."""
    with AudioReader(path) as reader:
        return reader.info


def iter_audio(
    path: str | os.PathLike[str],
    sample_rate: int = DEFAULT_SAMPLE_RATE,
    chunk_seconds: float = 30.0,
) -> Iterator[np.ndarray]:
    """Stream a file as mono float32 chunks without holding it all in memory.

    Errors about the file itself (missing, empty, not media) are raised at the call, not at the
    first ``next()``, so callers can report them before starting work.
    """
    reader = AudioReader(path, sample_rate)

    def generate() -> Iterator[np.ndarray]:
        with reader:
            yield from reader.chunks(chunk_seconds)

    return generate()


def load_audio(path: str | os.PathLike[str], sample_rate: int = DEFAULT_SAMPLE_RATE) -> np.ndarray:
    """Decode a whole file to a float32 mono array in [-1, 1] at ``sample_rate``."""
    with AudioReader(path, sample_rate) as reader:
        return reader.read()
