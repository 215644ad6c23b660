"""The meeting transcript: final caption segments, kept durably for the minutes."""

from agent.transcript.segment import Segment, SegmentWord

__all__ = ["Segment", "SegmentWord"]
