"""Settings of the live room agent, read once when the worker starts (one-line errors)."""

from __future__ import annotations

from dataclasses import dataclass

from agent.config import env_bool, env_float
from agent.diarize.settings import audio_needed


@dataclass(frozen=True)
class RoomSettings:
    empty_grace: float = 15.0  # seconds without a human before the meeting ends
    log_transcripts: bool = False  # caption text in logs: debugging only
    keep_audio: bool = False  # keep tracks' audio for the minutes (diarization or a second pass)

    @classmethod
    def from_env(cls) -> RoomSettings:
        return cls(
            empty_grace=env_float("ROOM_EMPTY_GRACE", 15.0, minimum=0.0),
            log_transcripts=env_bool("LOG_TRANSCRIPTS", False),
            # Reads (and so validates at start) DIARIZATION*, MINUTES_WHISPER_*, KEEP_AUDIO.
            keep_audio=audio_needed(),
        )
