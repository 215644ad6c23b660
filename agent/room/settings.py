"""Settings of the live room agent, read once when the worker starts (one-line errors)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from agent.config import env_bool, env_choice, env_float, env_int
from agent.diarize.settings import audio_needed
from agent.room.control import CONTROL_POLICIES, ControlPolicy, RpcLimits
from agent.translate.settings import TranslateSettings

# Legacy transcription packets (see agent.room.legacy): ``append`` lets Visio's front end, which
# keeps the first packet per segment id, show every word.
LegacyMode = Literal["append", "update", "off"]
LEGACY_MODES: tuple[str, ...] = ("append", "update", "off")
LEGACY_DEFAULT: LegacyMode = "append"


@dataclass(frozen=True)
class RoomSettings:
    empty_grace: float = 15.0  # seconds without a human before the meeting ends
    log_transcripts: bool = False  # caption text in logs: debugging only
    keep_audio: bool = False  # keep tracks' audio for the minutes (diarization or a second pass)
    # Who may start/stop captions for the whole room (see agent.room.control).
    captions_control: ControlPolicy = "controllers"
    rpc_limits: RpcLimits = field(default_factory=RpcLimits)
    max_tracks_per_participant: int = 2  # microphones captioned per participant
    max_captioned_participants: int = 100  # participants captioned at once in one room
    max_name_chars: int = 128  # longer display names are cut (captions, minutes, logs)
    max_metadata_bytes: int = 64 * 1024  # larger room metadata is ignored
    legacy_transcription: LegacyMode = LEGACY_DEFAULT  # LEGACY_TRANSCRIPTION
    translate: TranslateSettings = field(default_factory=TranslateSettings)  # TRANSLATE_*

    @classmethod
    def from_env(cls) -> RoomSettings:
        return cls(
            empty_grace=env_float("ROOM_EMPTY_GRACE", 15.0, minimum=0.0),
            log_transcripts=env_bool("LOG_TRANSCRIPTS", False),
            # Reads (and so validates at start) DIARIZATION*, MINUTES_WHISPER_*, KEEP_AUDIO.
            keep_audio=audio_needed(),
            captions_control=env_choice("CAPTIONS_CONTROL", "controllers", CONTROL_POLICIES),  # type: ignore[arg-type]
            rpc_limits=RpcLimits(
                per_participant=env_float("RPC_RATE_PER_PARTICIPANT", 5.0, minimum=0.1),
                per_room=env_float("RPC_RATE_PER_ROOM", 50.0, minimum=0.1),
                history_per_participant=env_float("RPC_HISTORY_RATE", 2.0, minimum=0.1),
                max_payload=env_int("RPC_MAX_PAYLOAD_BYTES", 1024, minimum=64, maximum=15 * 1024),
            ),
            max_tracks_per_participant=env_int("MAX_TRACKS_PER_PARTICIPANT", 2, minimum=1, maximum=16),
            max_captioned_participants=env_int("MAX_CAPTIONED_PARTICIPANTS", 100, minimum=1),
            max_name_chars=env_int("MAX_NAME_CHARS", 128, minimum=16, maximum=4096),
            max_metadata_bytes=env_int("MAX_METADATA_BYTES", 64 * 1024, minimum=1024, maximum=64 * 1024),
            legacy_transcription=env_choice("LEGACY_TRANSCRIPTION", LEGACY_DEFAULT, LEGACY_MODES),  # type: ignore[arg-type]
            translate=TranslateSettings.from_env(),
        )
