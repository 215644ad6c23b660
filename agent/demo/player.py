"""A simulated participant: joins a room and speaks a recording into its microphone track.

Used by the demo, the end-to-end tests and the benchmarks. Frames are paced by our own clock so
that ``t0 + t`` is when the audio at ``t`` seconds left the participant: caption latency is
measured against that.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import numpy as np
from livekit import api, rtc

from agent.audio.decode import load_audio
from agent.timebase import SAMPLE_RATE

FRAME = SAMPLE_RATE // 50  # 20 ms


def participant_token(
    api_key: str,
    api_secret: str,
    identity: str,
    room: str,
    *,
    name: str = "",
    attributes: dict[str, str] | None = None,
    manage_agents: bool = False,
) -> str:
    """``manage_agents``: the ``canManageAgentSession`` grant, which lets the holder start and
    stop captions for the room (see ``agent.room.control``)."""
    grants = api.VideoGrants(
        room_join=True, room=room, can_update_own_metadata=True, can_manage_agent_session=manage_agents
    )
    at = api.AccessToken(api_key, api_secret).with_identity(identity).with_name(name or identity)
    at = at.with_grants(grants)
    if attributes:
        at = at.with_attributes(attributes)
    return at.to_jwt()


class Speaker:
    def __init__(self, room: rtc.Room) -> None:
        self.room = room
        self.source = rtc.AudioSource(SAMPLE_RATE, 1, queue_size_ms=100)
        self.track = rtc.LocalAudioTrack.create_audio_track("microphone", self.source)
        self.publication: rtc.LocalTrackPublication | None = None
        self.t0: float | None = None  # wall time of audio position 0 of the last play()

    @classmethod
    async def join(cls, url: str, token: str) -> Speaker:
        room = rtc.Room()
        await room.connect(url, token)
        return cls(room)

    async def publish(self) -> None:
        opts = rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE)
        self.publication = await self.room.local_participant.publish_track(self.track, opts)

    async def play(
        self, audio: np.ndarray | str | Path, *, stop_at: float | None = None, tail_silence: float = 1.0
    ) -> None:
        """Send the audio in real time (then ``tail_silence`` s of silence, as a live mic would)."""
        if not isinstance(audio, np.ndarray):
            audio = load_audio(audio)
        pcm = (np.clip(audio, -1.0, 1.0) * 32767).astype(np.int16)
        if stop_at is not None:
            pcm = pcm[: int(stop_at * SAMPLE_RATE)]
        pcm = np.concatenate([pcm, np.zeros(int(tail_silence * SAMPLE_RATE), dtype=np.int16)])
        self.t0 = time.time()
        start = time.monotonic()
        for i in range(0, len(pcm), FRAME):
            chunk = pcm[i : i + FRAME]
            if chunk.size < FRAME:
                chunk = np.pad(chunk, (0, FRAME - chunk.size))
            frame = rtc.AudioFrame(chunk.tobytes(), SAMPLE_RATE, 1, FRAME)
            await self.source.capture_frame(frame)
            delay = start + (i + FRAME) / SAMPLE_RATE - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)

    async def mute(self, muted: bool = True) -> None:
        if self.publication is not None:
            if muted:
                self.track.mute()
            else:
                self.track.unmute()

    async def leave(self) -> None:
        await self.source.aclose()
        await self.room.disconnect()
