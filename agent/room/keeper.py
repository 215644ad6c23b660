"""Transcript out of the room: every final caption into the room session's durable journal, and
the minutes when the room ends.

Journal writes fsync, so they run in a thread: the event loop that moves audio never waits on
the disk. Opted-out participants are erased from the journal, not only from what comes next.
"""

from __future__ import annotations

import asyncio

from agent.logs import get_logger
from agent.meeting.finish import finish_meeting
from agent.meeting.service import MinutesService
from agent.minutes.settings import MinutesSettings
from agent.room.captions import Caption
from agent.transcript.journal import Journal
from agent.transcript.segment import Segment

logger = get_logger(__name__)


def segment_from_caption(c: Caption) -> Segment:
    return Segment(
        segment_id=c.segment_id,
        speaker_identity=c.speaker_identity,
        speaker_name=c.speaker_name,
        start=c.start,
        end=c.end,
        text=c.text,
        language=c.language,
        track_id=c.track_sid,
        words=c.words,
    )


def _by(item: tuple[str, object], identity: object) -> bool:
    kind, value = item
    return kind == "segment" and getattr(value, "speaker_identity", None) == identity


class TranscriptKeeper:
    def __init__(
        self, journal: Journal, settings: MinutesSettings, service: MinutesService | None = None
    ) -> None:
        self.journal = journal
        self.settings = settings
        self.service = service
        self._writes: asyncio.Queue[tuple[str, object] | None] = asyncio.Queue()
        self._failed: list[tuple[str, object]] = []  # not written yet (the disk failed)
        self._failing = False
        self._writer = asyncio.create_task(self._write_loop(), name="journal-writer")

    @classmethod
    async def open(
        cls,
        settings: MinutesSettings,
        room_name: str,
        room_sid: str,
        metadata: str,
        service: MinutesService | None = None,
    ) -> TranscriptKeeper:
        journal = await asyncio.to_thread(
            Journal.open_or_create, settings.data_dir, room_name, room_sid, metadata
        )
        logger.info("journal for room %s: %s", room_name, journal.path)
        return cls(journal, settings, service)

    def participant(self, identity: str, name: str) -> None:
        self._writes.put_nowait(("join", (identity, name)))

    def caption(self, caption: Caption) -> None:
        if caption.final and caption.text.strip():
            self._writes.put_nowait(("segment", segment_from_caption(caption)))

    def metadata(self, metadata: str) -> None:
        self._writes.put_nowait(("meta", metadata))

    def forget(self, identity: str) -> None:
        self._writes.put_nowait(("forget", identity))

    async def _write_loop(self) -> None:
        while (item := await self._writes.get()) is not None:
            if item[0] == "forget":  # nothing of theirs may be written later either
                self._failed = [f for f in self._failed if not _by(f, item[1])]
            self._failed.append(item)
            await self._write_pending()

    async def _write_pending(self) -> None:
        """Write what failed before, then the new item, in order. A full or failing disk
        (``DATA_DIR`` full, ENOSPC) keeps the records in memory and retries them with every
        later write and at the end, rather than lose what was said."""
        while self._failed:
            kind, value = self._failed[0]
            try:
                await asyncio.to_thread(self._write, kind, value)
            except OSError as exc:
                if not self._failing:
                    logger.error("journal write failed (%s): %s; kept in memory, retried", kind, exc)
                self._failing = True
                return
            self._failed.pop(0)
            if self._failing:
                logger.warning("journal writes work again: the records kept in memory are written")
                self._failing = False

    def _write(self, kind: str, value: object) -> None:
        if kind == "segment":
            self.journal.append_segment(value)  # type: ignore[arg-type]
        elif kind == "join":
            self.journal.append_participant(*value)  # type: ignore[misc]
        elif kind == "meta":
            self.journal.update_metadata(value)  # type: ignore[arg-type]
        elif kind == "forget":
            removed = self.journal.forget_speaker(value)  # type: ignore[arg-type]
            logger.info("erased %d segment(s) of an opted-out participant", removed)

    async def flush(self, retries: int = 5, pause: float = 2.0) -> None:
        await self._writes.put(None)
        await self._writer
        for _ in range(retries):
            if not self._failed:
                return
            await asyncio.sleep(pause)
            await self._write_pending()
        if self._failed:
            logger.error("%d journal record(s) could not be written: the disk still fails", len(self._failed))

    async def close(self, *, room_ended: bool) -> None:
        """Flush; when the room really ended, mark it and produce + deliver the minutes."""
        await self.flush()
        if not room_ended:
            logger.info("room session not ended (agent left early): minutes left to recovery")
            return
        await asyncio.to_thread(self.journal.mark_ended)
        if self.service is not None and self.service.submit(self.journal.path) is not None:
            logger.info("room %s ended: minutes handed to the minutes service", self.journal.session_id)
            return
        result = await finish_meeting(self.journal.path, self.settings)
        logger.info(
            "minutes %s: claimed=%s already_done=%s deliveries=%s in %.1fs",
            result.session_id,
            result.claimed,
            result.already_done,
            result.deliveries,
            result.seconds,
        )
