"""The worker's minutes housekeeping, beside the rooms: finish meetings still owed after a
crash or restart, and retry failed deliveries from the outbox."""

from __future__ import annotations

import asyncio
import logging
import threading

from agent.minutes.pipeline import process_outbox, recover_unfinished
from agent.minutes.settings import MinutesSettings

logger = logging.getLogger("greffier.minutes")

OUTBOX_EVERY = 30.0
RECOVER_EVERY = 120.0


async def _housekeeping(settings: MinutesSettings) -> None:
    since_recover = RECOVER_EVERY
    while True:
        try:
            if since_recover >= RECOVER_EVERY:
                since_recover = 0.0
                for result in await recover_unfinished(settings):
                    logger.info("recovered minutes %s (claimed=%s)", result.session_id, result.claimed)
            await process_outbox(settings)
        except Exception:
            logger.exception("minutes housekeeping failed; retrying later")
        await asyncio.sleep(OUTBOX_EVERY)
        since_recover += OUTBOX_EVERY


def start_minutes_service(settings: MinutesSettings) -> threading.Thread:
    thread = threading.Thread(
        target=lambda: asyncio.run(_housekeeping(settings)), name="greffier-minutes", daemon=True
    )
    thread.start()
    return thread
