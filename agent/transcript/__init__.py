"""Transcripts: a room's final caption segments kept durably in a journal (with claims so one
worker writes the minutes), and a file's transcript with its writers (text, JSON, WebVTT, SRT)."""

from agent.transcript.document import Transcript
from agent.transcript.journal import Journal, JournalData, find_unfinished, read_journal
from agent.transcript.metadata import RoomMetadata, parse_room_metadata
from agent.transcript.segment import Segment
from agent.transcript.writers import render

__all__ = [
    "Journal",
    "JournalData",
    "RoomMetadata",
    "Segment",
    "Transcript",
    "find_unfinished",
    "parse_room_metadata",
    "read_journal",
    "render",
]
