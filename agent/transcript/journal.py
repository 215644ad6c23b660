"""Append-only, durable journal of one room session (JSON Lines in ``DATA_DIR/journals``).

Why a journal: the minutes are written after the meeting, but the worker may crash during it.
Every record is written with a single ``write`` on an ``O_APPEND`` descriptor under an ``flock``,
then ``fsync``-ed, so what was said before a crash is on disk. Two agents (or a restarted worker)
for the same room session append to the same file, named after the room sid; readers drop
duplicate segments by ``segment_id`` and skip a torn last line left by a crash mid-write.

Records (one JSON object per line, ``"type"`` first):
``header`` (room, sid, start time, metadata), ``meta`` (metadata changed later), ``join``
(participant identity and display name), ``segment`` (``Segment.to_dict()``), ``ended``.
Completion markers live beside the journal: ``<sid>.claim`` while the minutes are being made,
``<sid>.done`` once they are written and their deliveries queued.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.logs import get_logger
from agent.transcript.claim import FileClaim
from agent.transcript.fsio import atomic_write, create_exclusive
from agent.transcript.metadata import RoomMetadata, parse_room_metadata
from agent.transcript.segment import Segment

log = get_logger(__name__)

JOURNALS_DIR = "journals"
FORMAT_VERSION = 1
_SAFE_ID = re.compile(r"^[A-Za-z0-9_-]{1,100}$")


def session_id_for(room_sid: str, room_name: str = "") -> str:
    """A file-name-safe id for a room session: the LiveKit room sid when it is sane, else a hash."""
    if _SAFE_ID.match(room_sid):
        return room_sid
    return "h_" + hashlib.sha256(f"{room_sid}\0{room_name}".encode()).hexdigest()[:32]


@dataclass
class Participant:
    identity: str
    name: str
    joined_at: float


@dataclass
class JournalData:
    """What a journal says, once read: duplicates and torn lines removed."""

    session_id: str
    room_name: str
    room_sid: str
    started_at: float
    metadata: RoomMetadata
    participants: dict[str, Participant] = field(default_factory=dict)
    segments: list[Segment] = field(default_factory=list)
    ended_at: float | None = None
    last_record_at: float = 0.0
    skipped_lines: int = 0


class Journal:
    def __init__(self, path: Path, session_id: str) -> None:
        self.path = path
        self.session_id = session_id
        self._seen_segments: set[str] = set()
        self._seen_joins: set[tuple[str, str]] = set()

    # ---- opening -------------------------------------------------------------------------------

    @classmethod
    def open_or_create(
        cls,
        data_dir: str | os.PathLike[str],
        room_name: str,
        room_sid: str,
        metadata: str | bytes | RoomMetadata | None = None,
        *,
        started_at: float | None = None,
    ) -> Journal:
        """Open the journal of this room session, creating it with its header if needed.

        Re-opening (restarted worker, second agent) continues the same file. If the metadata
        differs from what the journal holds, a ``meta`` record is appended (last one wins).
        """
        directory = Path(data_dir) / JOURNALS_DIR
        directory.mkdir(parents=True, exist_ok=True)
        session_id = session_id_for(room_sid, room_name)
        path = directory / f"{session_id}.jsonl"
        meta = metadata if isinstance(metadata, RoomMetadata) else parse_room_metadata(metadata)
        header = {
            "type": "header",
            "v": FORMAT_VERSION,
            "session_id": session_id,
            "room_name": room_name[:200],
            "room_sid": room_sid[:200],
            "started_at": started_at if started_at is not None else time.time(),
            "metadata": meta.to_dict(),
            "at": time.time(),
        }
        created = _create_with_header(path, header)
        journal = cls(path, session_id)
        if not created:
            journal._repair_torn_tail()
            data = read_journal(path)
            journal._seen_segments = {s.segment_id for s in data.segments}
            journal._seen_joins = {(p.identity, p.name) for p in data.participants.values()}
            if metadata is not None and data.metadata.to_dict() != meta.to_dict():
                journal._append({"type": "meta", "metadata": meta.to_dict()})
        return journal

    @classmethod
    def open_existing(cls, path: str | os.PathLike[str]) -> Journal:
        path = Path(path)
        data = read_journal(path)
        journal = cls(path, data.session_id)
        journal._seen_segments = {s.segment_id for s in data.segments}
        return journal

    # ---- writing -------------------------------------------------------------------------------

    def append_segment(self, segment: Segment) -> bool:
        """Append a final segment; returns False if this journal already holds its id."""
        if segment.segment_id in self._seen_segments:
            return False
        self._seen_segments.add(segment.segment_id)
        self._append({"type": "segment", "segment": segment.to_dict()})
        return True

    def append_participant(self, identity: str, name: str) -> None:
        key = (identity[:200], name[:200])
        if key in self._seen_joins:
            return
        self._seen_joins.add(key)
        self._append({"type": "join", "identity": key[0], "name": key[1]})

    def update_metadata(self, metadata: str | bytes | RoomMetadata | None) -> None:
        meta = metadata if isinstance(metadata, RoomMetadata) else parse_room_metadata(metadata)
        self._append({"type": "meta", "metadata": meta.to_dict()})

    def forget_speaker(self, identity: str) -> int:
        """Erase what ``identity`` said (they opted out): rewrite the journal without their
        segments, in place under the lock so concurrent appenders keep writing to this file.
        Returns how many segment records were removed."""
        fd = os.open(self.path, os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            size = os.fstat(fd).st_size
            raw = os.pread(fd, size, 0)
            kept: list[bytes] = []
            removed = 0
            for line in raw.splitlines(keepends=True):
                try:
                    record = json.loads(line)
                except ValueError:
                    kept.append(line)
                    continue
                segment = record.get("segment") if isinstance(record, dict) else None
                if record.get("type") == "segment" and isinstance(segment, dict):
                    if segment.get("speaker_identity") == identity:
                        removed += 1
                        continue
                kept.append(line)
            if removed:
                body = b"".join(kept)
                os.pwrite(fd, body, 0)
                os.ftruncate(fd, len(body))
                os.fsync(fd)
        finally:
            os.close(fd)
        return removed

    def mark_ended(self, ended_at: float | None = None) -> None:
        when = ended_at if ended_at is not None else time.time()
        self._append({"type": "ended", "ended_at": when})

    def read(self) -> JournalData:
        return read_journal(self.path)

    # ---- markers -------------------------------------------------------------------------------

    @property
    def done_path(self) -> Path:
        return done_path(self.path)

    def is_done(self) -> bool:
        return self.done_path.exists()

    def claim(self, *, stale_after: float = 900.0) -> FileClaim | None:
        """Exclusive right to produce this session's minutes (None if another worker has it)."""
        return FileClaim.acquire(self.path.with_suffix(".claim"), stale_after=stale_after)

    def mark_done(self, info: dict[str, Any]) -> None:
        atomic_write(self.done_path, json.dumps({**info, "at": time.time()}).encode())

    # ---- internals -----------------------------------------------------------------------------

    def _append(self, record: dict[str, Any]) -> None:
        record.setdefault("at", time.time())
        line = (json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            view = memoryview(line)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)  # closing releases the flock

    def _repair_torn_tail(self) -> None:
        """End a torn last line with a newline so our next record starts on its own line."""
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":
                os.write(fd, b"\n")
                os.fsync(fd)
                log.warning("journal %s had a torn last line (crash mid-write)", self.path.name)
        finally:
            os.close(fd)


def done_path(journal_path: Path) -> Path:
    return journal_path.with_suffix(".done")


def read_journal(path: str | os.PathLike[str]) -> JournalData:
    """Read a journal, tolerating torn or corrupt lines and duplicate segments."""
    path = Path(path)
    data: JournalData | None = None
    skipped = 0
    seen: set[str] = set()
    for record in _records(path):
        if record is None:
            skipped += 1
            continue
        kind = record.get("type")
        at = record.get("at")
        if data is None:
            if kind != "header":
                skipped += 1
                continue
            data = JournalData(
                session_id=str(record.get("session_id") or path.stem),
                room_name=str(record.get("room_name", "")),
                room_sid=str(record.get("room_sid", "")),
                started_at=float(record.get("started_at") or 0.0),
                metadata=RoomMetadata.from_dict(record.get("metadata")),
            )
        elif kind == "meta":
            data.metadata = RoomMetadata.from_dict(record.get("metadata"))
        elif kind == "join":
            identity, name = str(record.get("identity", "")), str(record.get("name", ""))
            if identity:
                joined = float(at) if isinstance(at, int | float) else data.started_at
                known = data.participants.get(identity)
                data.participants[identity] = Participant(
                    identity, name or identity, known.joined_at if known else joined
                )
        elif kind == "segment":
            try:
                segment = Segment.from_dict(record["segment"])
            except (KeyError, TypeError, ValueError):
                skipped += 1
                continue
            if segment.segment_id in seen:
                continue
            seen.add(segment.segment_id)
            data.segments.append(segment)
        elif kind == "ended":
            ended = record.get("ended_at")
            if isinstance(ended, int | float):
                data.ended_at = max(data.ended_at or 0.0, float(ended))
        if data is not None and isinstance(at, int | float):
            data.last_record_at = max(data.last_record_at, float(at))
    if data is None:
        raise ValueError(f"{path.name}: not a greffier journal (no header record)")
    data.segments.sort(key=lambda s: (s.start, s.end, s.segment_id))
    data.skipped_lines = skipped
    if skipped:
        log.warning("journal %s: skipped %d unreadable line(s)", path.name, skipped)
    return data


def find_unfinished(
    data_dir: str | os.PathLike[str], *, idle_after: float = 900.0, now: float | None = None
) -> list[Path]:
    """Journals whose minutes are still owed: ended but not done, or silent for ``idle_after`` s.

    A journal that never got its ``ended`` record belongs to a meeting whose worker died; when
    nothing was appended for ``idle_after`` seconds the meeting is presumed over.
    """
    now = time.time() if now is None else now
    directory = Path(data_dir) / JOURNALS_DIR
    if not directory.is_dir():
        return []
    owed: list[Path] = []
    for path in sorted(directory.glob("*.jsonl")):
        if done_path(path).exists():
            continue
        try:
            data = read_journal(path)
            idle = now - max(data.last_record_at, path.stat().st_mtime)
        except (OSError, ValueError) as exc:
            log.warning("cannot read journal %s: %s", path.name, type(exc).__name__)
            continue
        if data.ended_at is not None or idle >= idle_after:
            owed.append(path)
    return owed


def _records(path: Path) -> Iterator[dict[str, Any] | None]:
    with open(path, "rb") as fh:
        for raw in fh:
            raw = raw.strip()
            if not raw:
                continue
            try:
                record = json.loads(raw)
            except ValueError:
                yield None
                continue
            yield record if isinstance(record, dict) else None


def _create_with_header(path: Path, header: dict[str, Any]) -> bool:
    """Create the journal with its header atomically, unless another worker already did."""
    line = json.dumps(header, ensure_ascii=False, separators=(",", ":")) + "\n"
    return create_exclusive(path, line)
