"""The end of a meeting: claim the journal, diarize and re-transcribe kept audio, write the
minutes, save their files, queue and send the deliveries; and the worker's service that does it
beside the live rooms (also for meetings a crashed worker left unfinished).

This package sits above ``agent.minutes``, ``agent.delivery`` and ``agent.diarize``, which do not
know about each other's orchestration.
"""

from agent.meeting.deliver import enqueue_deliveries, outbox_for, process_outbox
from agent.meeting.finish import MinutesResult, finish_meeting, recover_unfinished
from agent.meeting.service import MinutesService

__all__ = [
    "MinutesResult",
    "MinutesService",
    "enqueue_deliveries",
    "finish_meeting",
    "outbox_for",
    "process_outbox",
    "recover_unfinished",
]
