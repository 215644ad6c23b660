"""The end of a meeting: claim → kept audio (diarization, second pass) → minutes → files →
queue deliveries → send.

``finish_meeting`` is what the room agent calls when the room ends (and what a restarted worker
calls for each journal ``recover_unfinished`` finds). ``process_outbox`` is what the worker calls
periodically to retry failed deliveries.

Exactly once per room session: the journal's claim stops two workers from building at the same
time; the ``.done`` marker, re-checked after claiming, stops a second build afterwards; deliveries
are outbox records created exclusively, so even a rebuild after a crash between "files written" and
"done" queues nothing twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from pathlib import Path

from agent.audio.keep import discard_session_audio
from agent.delivery.files import load_minutes, minutes_dir, write_minutes_files
from agent.logs import get_logger
from agent.meeting.deliver import enqueue_deliveries, outbox_for, process_outbox
from agent.meeting.kept_audio import finalize_session
from agent.minutes.builder import build_minutes
from agent.minutes.model import Minutes
from agent.minutes.settings import MinutesSettings
from agent.transcript.claim import FileClaim
from agent.transcript.journal import Journal, find_unfinished

log = get_logger(__name__)


@dataclass
class MinutesResult:
    session_id: str
    claimed: bool  # False: another worker is producing these minutes right now
    already_done: bool = False  # the minutes had been produced before this call
    minutes: Minutes | None = None
    files: dict[str, Path] = field(default_factory=dict)
    deliveries: dict[str, str] = field(default_factory=dict)  # delivery_id -> state
    seconds: float = 0.0


async def finish_meeting(
    journal_path: str | Path,
    settings: MinutesSettings,
    *,
    use_llm: bool = True,
    deliver: bool = True,
) -> MinutesResult:
    started = time.monotonic()
    journal = Journal.open_existing(journal_path)
    result = MinutesResult(session_id=journal.session_id, claimed=False)
    if journal.is_done():
        return await _already_done(journal, settings, result, deliver, started)
    claim = journal.claim(stale_after=settings.claim_timeout_s)
    if claim is None:
        log.info("minutes %s: another worker is on it", journal.session_id)
        return result
    heartbeat = asyncio.create_task(_keep_alive(claim, settings.claim_timeout_s / 3))
    try:
        if journal.is_done():  # finished by another worker between our check and our claim
            return await _already_done(journal, settings, result, deliver, started)
        result.claimed = True
        data = journal.read()
        # Shared microphones get speaker labels; kept tracks may be re-transcribed (second pass).
        data.segments = await finalize_session(data.session_id, data.segments, settings.data_dir)
        minutes = await build_minutes(data, settings, use_llm=use_llm)
        directory = minutes_dir(settings.data_dir, minutes.session_id)
        result.minutes = minutes
        result.files = write_minutes_files(minutes, directory)
        queued = enqueue_deliveries(minutes, directory, settings)
        journal.mark_done(
            {
                "minutes_dir": str(directory),
                "generated": minutes.generated,
                "deliveries": [d.delivery_id for d in queued],
            }
        )
        log.info(
            "minutes %s: written (%d segments, summary %s)",
            minutes.session_id,
            len(minutes.segments),
            "generated" if minutes.generated else "not generated",
        )
    finally:
        heartbeat.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await heartbeat
        claim.release()
    if deliver:
        await process_outbox(settings, session_id=journal.session_id)
    result.deliveries = {d.delivery_id: d.state for d in outbox_for(settings).all(journal.session_id)}
    if all(state != "pending" for state in result.deliveries.values()):
        # Privacy by default: the meeting's audio goes once the minutes are out (KEEP_AUDIO).
        await asyncio.to_thread(discard_session_audio, journal.session_id, settings.data_dir)
    result.seconds = time.monotonic() - started
    return result


async def _already_done(
    journal: Journal,
    settings: MinutesSettings,
    result: MinutesResult,
    deliver: bool,
    started: float,
) -> MinutesResult:
    result.already_done = True
    directory = minutes_dir(settings.data_dir, journal.session_id)
    with contextlib.suppress(OSError, ValueError):
        result.minutes = load_minutes(directory)
    if deliver:
        await process_outbox(settings, session_id=journal.session_id)
    result.deliveries = {d.delivery_id: d.state for d in outbox_for(settings).all(journal.session_id)}
    result.seconds = time.monotonic() - started
    return result


async def _keep_alive(claim: FileClaim, every: float) -> None:
    while True:
        await asyncio.sleep(every)
        claim.refresh()


async def recover_unfinished(settings: MinutesSettings) -> list[MinutesResult]:
    """For a (re)started worker: finish every meeting whose minutes are still owed."""
    results = []
    for path in find_unfinished(settings.data_dir, idle_after=settings.idle_timeout_s):
        log.info("minutes: recovering unfinished journal %s", path.name)
        results.append(await finish_meeting(path, settings))
    return results
