"""Keep each track's audio for the length of a meeting, compressed, for the minutes' second pass.

Layout: ``DATA_DIR/audio/<session>/<track>.ogg`` (Opus, 16 kHz mono, 24 kbit/s: about 11 MB an
hour) with a sidecar ``<track>.json`` that records who spoke on the track and the wall-clock time
of the file's first sample, so a time ``t`` in the file is ``start_wall + t`` on the journal's
clock. Gaps in the frame stream (a muted microphone, a dropped connection) are filled with
silence up to ``MAX_GAP_FILL_S`` so the file's timeline stays on the wall clock.

Cost on the room's hot path: ``TrackAudioKeeper.push()`` only appends the frame to a list under
a lock; every ``flush_seconds`` the buffered frames go to one background thread (shared by all
tracks) that encodes them with PyAV. Memory is bounded by one flush interval per track plus a
bounded queue; if the encoder falls behind by more than ``max_pending_s`` the oldest audio is
dropped (and counted) rather than growing without bound.

Privacy by default: ``discard_session_audio()`` deletes a session's folder after the minutes are
delivered, unless ``KEEP_AUDIO=true``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import av
import numpy as np

from agent.audio.decode import AudioDecodeError, load_audio
from agent.audio.wav import to_int16
from agent.config import env_bool
from agent.logs import get_logger
from agent.timebase import SAMPLE_RATE

log = get_logger(__name__)

AUDIO_DIR = "audio"
MAX_GAP_FILL_S = 3600.0  # a gap longer than an hour is not filled (clock jump): times go approximate
_GAP_TOLERANCE_S = 0.25  # jitter below this is not a gap
_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")

_executor_lock = threading.Lock()
_executor: ThreadPoolExecutor | None = None


def _writer_pool() -> ThreadPoolExecutor:
    """One encoder thread for the whole process: encoding is cheap, ordering per track matters."""
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="keep-audio")
        return _executor


def safe_name(text: str) -> str:
    """A file-name-safe form of a track or session id (never empty, never a path)."""
    cleaned = _SAFE.sub("_", text).strip("._")[:120]
    return cleaned or "track"


def keep_audio_enabled() -> bool:
    """``KEEP_AUDIO=true`` keeps the kept audio after the minutes are delivered (default: delete)."""
    return env_bool("KEEP_AUDIO", False)


def session_audio_dir(session_id: str, base: str | os.PathLike[str]) -> Path:
    """``base`` is ``DATA_DIR`` (``MinutesSettings.data_dir``, read once when the worker starts)."""
    return Path(base) / AUDIO_DIR / safe_name(session_id)


@dataclass
class KeptTrack:
    """The sidecar of one kept track; ``path`` is the audio file."""

    path: str
    session_id: str
    track_id: str
    participant_identity: str
    participant_name: str
    start_wall: float  # epoch seconds of the file's first sample
    sample_rate: int = SAMPLE_RATE
    codec: str = "opus"
    duration: float = 0.0  # seconds written so far (final once closed)
    dropped_s: float = 0.0  # audio dropped because the encoder fell behind
    closed: bool = False

    def to_wall(self, t: float) -> float:
        return self.start_wall + t

    def to_file(self, wall: float) -> float:
        return wall - self.start_wall

    @property
    def sidecar(self) -> Path:
        return Path(self.path).with_suffix(".json")

    def save(self) -> None:
        tmp = self.sidecar.with_name(f".{self.sidecar.name}.tmp")
        tmp.write_text(json.dumps(asdict(self), ensure_ascii=False, indent=1), encoding="utf-8")
        os.replace(tmp, self.sidecar)

    @classmethod
    def load(cls, sidecar: str | os.PathLike[str]) -> KeptTrack:
        data = json.loads(Path(sidecar).read_text(encoding="utf-8"))
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


class _Encoder:
    """An open Ogg/Opus (or FLAC) file; only ever used from the writer thread."""

    def __init__(self, path: Path, codec: str, bitrate: int) -> None:
        fmt, codec_name = ("ogg", "libopus") if codec == "opus" else ("flac", "flac")
        self._container = av.open(str(path), mode="w", format=fmt)
        self._stream = self._container.add_stream(codec_name, rate=SAMPLE_RATE)
        self._stream.layout = "mono"
        if codec == "opus":
            self._stream.bit_rate = bitrate
        self._pts = 0

    def write(self, pcm: np.ndarray) -> None:
        frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = SAMPLE_RATE
        frame.pts = self._pts
        self._pts += len(pcm)
        for packet in self._stream.encode(frame):
            self._container.mux(packet)

    def close(self) -> None:
        try:
            for packet in self._stream.encode(None):
                self._container.mux(packet)
        finally:
            self._container.close()


class TrackAudioKeeper:
    """Append 16 kHz mono int16 frames of one track to a compressed file, off the hot path.

    ``push(frame, wall_time)`` is safe to call from the event loop for every 10–20 ms frame.
    ``wall_time`` is the epoch time of the frame's first sample (defaults to "now minus the
    frame's duration"); it is used to place the first frame and to fill gaps with silence.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        session_id: str = "",
        track_id: str = "",
        participant_identity: str = "",
        participant_name: str = "",
        codec: str = "opus",
        bitrate: int = 24_000,
        flush_seconds: float = 5.0,
        max_pending_s: float = 120.0,
    ) -> None:
        if codec not in ("opus", "flac"):
            raise ValueError(f"codec must be opus or flac, got {codec!r}")
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.meta = KeptTrack(
            path=str(self.path),
            session_id=session_id,
            track_id=track_id,
            participant_identity=participant_identity,
            participant_name=participant_name,
            start_wall=0.0,
            codec=codec,
        )
        self._codec = codec
        self._bitrate = bitrate
        self._flush_samples = max(1, round(flush_seconds * SAMPLE_RATE))
        self._max_pending = max(self._flush_samples, round(max_pending_s * SAMPLE_RATE))
        self._lock = threading.Lock()
        self._buffer: list[np.ndarray] = []
        self._buffered = 0
        self._pending = 0  # samples handed to the writer thread, not yet encoded
        self._queued_samples = 0  # samples placed on the timeline (buffered + handed over)
        self._encoder: _Encoder | None = None
        self._last: Future[None] | None = None
        self._closed = False

    # -- hot path ---------------------------------------------------------------------------

    def push(self, frame: bytes | np.ndarray, wall_time: float | None = None) -> None:
        pcm = (
            np.frombuffer(frame, dtype="<i2") if isinstance(frame, bytes | bytearray | memoryview) else frame
        )
        pcm = np.asarray(pcm)
        if pcm.dtype != np.int16:
            pcm = to_int16(pcm)
        pcm = pcm.reshape(-1)
        if not len(pcm):
            return
        if wall_time is None:
            wall_time = time.time() - len(pcm) / SAMPLE_RATE
        batch: list[np.ndarray] | None = None
        with self._lock:
            if self._closed:
                return
            if self.meta.start_wall == 0.0:
                self.meta.start_wall = float(wall_time)
            else:
                expected = self.meta.start_wall + self._queued_samples / SAMPLE_RATE
                gap = wall_time - expected
                if _GAP_TOLERANCE_S < gap <= MAX_GAP_FILL_S:
                    self._append(np.zeros(round(gap * SAMPLE_RATE), dtype=np.int16))
            self._append(pcm.copy())
            if self._buffered >= self._flush_samples:
                batch = self._take()
        if batch is not None:
            self._submit(batch)

    def _append(self, pcm: np.ndarray) -> None:
        self._buffer.append(pcm)
        self._buffered += len(pcm)
        self._queued_samples += len(pcm)

    def _take(self) -> list[np.ndarray]:
        batch, self._buffer, self._buffered = self._buffer, [], 0
        return batch

    # -- writer thread ------------------------------------------------------------------------

    def _submit(self, batch: list[np.ndarray]) -> None:
        size = sum(len(b) for b in batch)
        with self._lock:
            if self._pending and self._pending + size > self._max_pending:
                self.meta.dropped_s += size / SAMPLE_RATE
                log.warning("keep-audio: encoder behind, dropped %.1f s of %s", size / SAMPLE_RATE, self.path)
                # keep the timeline: the dropped span is encoded as silence, which is cheap
                batch = [np.zeros(size, dtype=np.int16)]
            self._pending += size
        self._last = _writer_pool().submit(self._write, batch, size)

    def _write(self, batch: list[np.ndarray], size: int) -> None:
        try:
            if self._encoder is None:
                self._encoder = _Encoder(self.path, self._codec, self._bitrate)
                self.meta.save()
            self._encoder.write(np.concatenate(batch))
            self.meta.duration += size / SAMPLE_RATE
        except Exception:  # a full disk must not take the captions down
            log.exception("keep-audio: cannot write %s", self.path)
        finally:
            with self._lock:
                self._pending -= size

    def flush(self) -> None:
        """Hand what is buffered to the writer now and wait for it (tests, shutdown)."""
        with self._lock:
            batch = self._take() if self._buffer else None
        if batch:
            self._submit(batch)
        if self._last is not None:
            self._last.result()

    def close(self) -> KeptTrack:
        """Flush, finish the file and write the sidecar; idempotent. Blocks until written."""
        with self._lock:
            if self._closed:
                return self.meta
            self._closed = True
            batch = self._take() if self._buffer else None
        if batch:
            self._submit(batch)

        def finish() -> None:
            if self._encoder is not None:
                self._encoder.close()
                self._encoder = None
            self.meta.closed = True
            if self.path.exists():
                self.meta.save()

        _writer_pool().submit(finish).result()
        return self.meta


class SessionAudio:
    """The kept tracks of one room session: open a keeper per track, list them, discard them."""

    def __init__(self, session_id: str, base: str | os.PathLike[str], codec: str = "opus"):
        self.session_id = session_id
        self.folder = session_audio_dir(session_id, base)
        self.codec = codec
        self._keepers: dict[str, TrackAudioKeeper] = {}

    def track(
        self, track_id: str, participant_identity: str = "", participant_name: str = ""
    ) -> TrackAudioKeeper:
        """The keeper of a track (created on first use). A re-published track gets a new file."""
        keeper = self._keepers.get(track_id)
        if keeper is None or keeper._closed:
            suffix = ".ogg" if self.codec == "opus" else ".flac"
            stem = safe_name(track_id)
            path = self.folder / f"{stem}{suffix}"
            n = 1
            while path.exists():
                n += 1
                path = self.folder / f"{stem}-{n}{suffix}"
            keeper = TrackAudioKeeper(
                path,
                session_id=self.session_id,
                track_id=track_id,
                participant_identity=participant_identity,
                participant_name=participant_name,
                codec=self.codec,
            )
            self._keepers[track_id] = keeper
        return keeper

    def close_all(self) -> list[KeptTrack]:
        return [k.close() for k in list(self._keepers.values())]

    def forget(self, participant_identity: str) -> int:
        """Opt-out: stop keeping and delete every kept track of a participant; returns how many."""
        for keeper in list(self._keepers.values()):
            if keeper.meta.participant_identity == participant_identity:
                keeper.close()
        return forget_participant_audio(self.session_id, participant_identity, self.folder.parent.parent)

    def tracks(self) -> list[KeptTrack]:
        return list_kept_tracks(self.session_id, self.folder.parent.parent)


def list_kept_tracks(session_id: str, base: str | os.PathLike[str]) -> list[KeptTrack]:
    folder = session_audio_dir(session_id, base)
    out: list[KeptTrack] = []
    for sidecar in sorted(folder.glob("*.json")):
        try:
            meta = KeptTrack.load(sidecar)
        except (OSError, ValueError, TypeError):
            log.warning("keep-audio: unreadable sidecar %s", sidecar)
            continue
        if Path(meta.path).exists():
            out.append(meta)
    return out


def forget_participant_audio(session_id: str, participant_identity: str, base: str | os.PathLike[str]) -> int:
    """Delete a participant's kept tracks (audio and sidecar) whatever ``KEEP_AUDIO`` says."""
    removed = 0
    for track in list_kept_tracks(session_id, base):
        if track.participant_identity == participant_identity:
            Path(track.path).unlink(missing_ok=True)
            track.sidecar.unlink(missing_ok=True)
            removed += 1
    return removed


def discard_session_audio(session_id: str, base: str | os.PathLike[str], *, keep: bool | None = None) -> bool:
    """Delete a session's kept audio (after the minutes are delivered) unless ``KEEP_AUDIO``.

    Returns True when the folder was deleted (or was already gone)."""
    if keep if keep is not None else keep_audio_enabled():
        return False
    folder = session_audio_dir(session_id, base)
    shutil.rmtree(folder, ignore_errors=True)
    return not folder.exists()


def read_kept_audio(track: KeptTrack | str | os.PathLike[str]) -> np.ndarray:
    """Decode a kept track to float32 16 kHz mono (the file's timeline, t=0 at ``start_wall``)."""
    path = track.path if isinstance(track, KeptTrack) else track
    return load_audio(path, SAMPLE_RATE)


def join_kept_tracks(parts: list[KeptTrack]) -> KeptTrack:
    """One file for a track kept in several pieces (its pipeline restarted: a reconnection, a
    re-subscription), each piece at its place on the wall clock, silence between them.

    Diarizing the pieces separately would name the same two voices A/B in one piece and B/A in
    the next. The joined file (FLAC, beside the pieces) goes with the session's audio.

    A piece that cannot be read (a worker killed before it wrote a byte) is left out with a
    warning: the others still hold the track. Raises ``AudioDecodeError`` when none can be read."""
    if len(parts) == 1:
        return parts[0]
    parts = sorted(parts, key=lambda t: t.start_wall)
    first = parts[0]
    path = Path(first.path).with_name(f"{safe_name(first.track_id)}-joined.flac")
    encoder = _Encoder(path, "flac", 0)
    written = 0
    joined: list[KeptTrack] = []
    try:
        for part in parts:
            try:
                audio = to_int16(read_kept_audio(part))
            except AudioDecodeError as exc:
                log.warning("a piece of kept track %s is left out: %s", part.track_id, exc.reason)
                continue
            joined.append(part)
            at = round((part.start_wall - first.start_wall) * SAMPLE_RATE)
            if at > written:
                encoder.write(np.zeros(at - written, dtype=np.int16))
                written = at
            skip = written - at  # a piece that starts before the last one ended overlaps it
            if skip < len(audio):
                encoder.write(audio[skip:])
                written += len(audio) - skip
    finally:
        encoder.close()
    if not joined:
        path.unlink(missing_ok=True)
        raise AudioDecodeError(first.path, "no piece of the track can be read")
    return KeptTrack(
        path=str(path),
        session_id=first.session_id,
        track_id=first.track_id,
        participant_identity=first.participant_identity,
        participant_name=first.participant_name,
        start_wall=first.start_wall,
        codec="flac",
        duration=written / SAMPLE_RATE,
        dropped_s=sum(p.dropped_s for p in joined),
        closed=all(p.closed for p in joined),
    )


def describe(track: KeptTrack) -> dict[str, Any]:
    return asdict(track)
