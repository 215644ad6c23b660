"""The meeting transcript: final caption segments, kept durably for the minutes."""

from agent.transcript.journal import Journal, JournalData, find_unfinished, read_journal
from agent.transcript.metadata import RoomMetadata, parse_room_metadata
from agent.transcript.segment import Segment

__all__ = [
    "Journal",
    "JournalData",
    "RoomMetadata",
    "Segment",
    "find_unfinished",
    "parse_room_metadata",
    "read_journal",
]
