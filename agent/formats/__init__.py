"""Standard output formats (WebVTT, SRT) for timed text, shared by the CLI and the minutes."""

from agent.formats.subtitles import Cue, to_srt, to_webvtt

__all__ = ["Cue", "to_srt", "to_webvtt"]
