"""Audio in: one subscribed microphone track → 16 kHz mono PCM → a recognizer stream.

The SDK's ``AudioStream`` resamples and downmixes for us. A track that stops sending frames
gets a short run of silence so the VAD closes the sentence instead of leaving it hanging until the
speaker talks again: at once when the track is muted, after ``STALL_SECONDS`` otherwise. Frames
that are only late (this process's event loop busy for a moment) must not get silence inserted
in the middle of a word: they arrive afterwards all the same.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import Callable

import numpy as np
from livekit import rtc

from agent import metrics
from agent.asr.engine import RecognizerStream, SpeechEngine
from agent.asr.events import TranscriptEvent
from agent.audio.keep import TrackAudioKeeper
from agent.logs import get_logger
from agent.timebase import SAMPLE_RATE

logger = get_logger(__name__)

GAP_SECONDS = 0.5  # how often a track without frames is looked at
STALL_SECONDS = 2.0  # no frame for this long, not muted: a network gap
LATE_TIMER_SECONDS = 1.0  # a timeout this much later than asked: our loop was frozen, not the track
GAP_FILL = np.zeros(int(0.8 * SAMPLE_RATE), dtype=np.int16)

EventSink = Callable[["TrackPipeline", TranscriptEvent], None]


def drop_ffi_subscription(audio: rtc.AudioStream) -> None:
    """Make sure a closed ``AudioStream`` no longer receives the SDK's events.

    The SDK unsubscribes a stream when its end-of-stream event arrives; if ``aclose`` is cut
    short (our 2 s timeout, a cancelled job), the subscription stays until the object is
    garbage-collected, bound to this job's event loop. Once the job's loop is closed, every audio
    frame of every later room is logged as "error putting to queue: Event loop is closed".
    Seen in 3 of about 10 multi-room bench runs (100,000 lines in two minutes of a 4-speaker
    room); this is the one path we found that leaves such a subscription, not a confirmed cause
    (the flood did not recur in the runs after, too few to tell). Unsubscribing twice is harmless.
    """
    queue = getattr(audio, "_ffi_queue", None)
    if queue is not None:
        with contextlib.suppress(Exception):
            rtc._ffi_client.FfiClient.instance.queue.unsubscribe(queue)


def is_gap(waited: float, since_frame: float, *, muted: bool) -> bool:
    """Whether a read that timed out after ``waited`` s (asked for GAP_SECONDS) with no frame
    for ``since_frame`` s is a gap in the track. A timer that fired seconds late means this
    process's loop was frozen (a model load holding the GIL did it for 6 s): the frames are
    queued, and silence plus a new clock anchor would stamp every later caption late."""
    if waited > GAP_SECONDS + LATE_TIMER_SECONDS:
        return False
    return muted or since_frame >= STALL_SECONDS


class TrackPipeline:
    def __init__(
        self,
        engine: SpeechEngine,
        participant: rtc.RemoteParticipant,
        track: rtc.Track,
        track_sid: str,
        *,
        language: str | None,
        on_event: EventSink,
        kept: TrackAudioKeeper | None = None,
        keep_seconds: float = 0.0,
    ) -> None:
        self.participant = participant
        self.identity = participant.identity
        self.track = track
        self.track_sid = track_sid
        self.on_event = on_event
        self.kept = kept  # the track's audio, kept for diarization / the second pass
        # Segment ids must stay unique in the room's journal across agent restarts.
        stream_id = f"{track_sid}-{secrets.token_hex(3)}"
        self.stream: RecognizerStream = engine.create_stream(
            stream_id=stream_id, language=language, keep_seconds=keep_seconds
        )
        # Audio clock → wall clock: anchors (audio seconds, wall seconds) re-set after each gap.
        self._anchors: list[tuple[float, float]] = []
        self._pushed = 0
        self._stopping = False
        self._reader = asyncio.create_task(self._read(), name=f"audio-{track_sid}")
        self._consumer = asyncio.create_task(self._consume(), name=f"captions-{track_sid}")
        self.paused = False

    def wall_time(self, audio_seconds: float) -> float:
        anchor_audio, anchor_wall = self._anchors[0] if self._anchors else (0.0, time.time())
        for a, w in self._anchors:
            if a <= audio_seconds:
                anchor_audio, anchor_wall = a, w
        return anchor_wall + (audio_seconds - anchor_audio)

    def _push(self, pcm: np.ndarray) -> None:
        if not self._anchors:
            self._anchors.append((0.0, time.time() - pcm.size / SAMPLE_RATE))
        self.stream.push(pcm)
        self._pushed += pcm.size
        if self.kept is not None:
            self.kept.push(pcm, time.time() - pcm.size / SAMPLE_RATE)

    async def _read(self) -> None:
        audio = rtc.AudioStream(self.track, sample_rate=SAMPLE_RATE, num_channels=1)
        frames = audio.__aiter__()
        gap_filled = False
        last_frame = time.monotonic()
        try:
            while not self._stopping:
                asked = time.monotonic()
                try:
                    event = await asyncio.wait_for(frames.__anext__(), timeout=GAP_SECONDS)
                except TimeoutError:
                    now = time.monotonic()
                    gap = is_gap(now - asked, now - last_frame, muted=self.track.muted)
                    if gap and not gap_filled and self._pushed:
                        metrics.audio_gaps.inc(GAP_SECONDS)
                        self.stream.push(GAP_FILL)
                        self._pushed += GAP_FILL.size
                        gap_filled = True
                    continue
                except StopAsyncIteration:
                    break
                last_frame = time.monotonic()
                pcm = np.frombuffer(event.frame.data, dtype=np.int16)
                if gap_filled:
                    # Re-anchor: the audio clock resumes, the wall clock jumped.
                    self._anchors.append((self._pushed / SAMPLE_RATE, time.time() - pcm.size / SAMPLE_RATE))
                    gap_filled = False
                if not self.paused:
                    self._push(pcm)
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("audio reader failed for track %s", self.track_sid)
        finally:
            try:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(audio.aclose(), timeout=2.0)
            finally:  # also when a second cancellation cuts the close short
                drop_ffi_subscription(audio)

    async def _consume(self) -> None:
        async for event in self.stream:
            try:
                self.on_event(self, event)
            except Exception:
                logger.exception("caption sink failed on track %s", self.track_sid)

    def _stop_reading(self) -> None:
        """Cancel the reader, and flag it: on Python 3.11 ``wait_for`` swallows a cancellation
        that lands as a frame arrives (50 participants leaving within 10 s left 7 readers and
        their ``AudioStream`` tasks running for good), so the loop also checks the flag."""
        self._stopping = True
        self._reader.cancel()

    async def finish(self) -> None:
        """Stop reading, finalise the sentence in progress, deliver its final."""
        self._stop_reading()
        await asyncio.wait({self._reader}, timeout=2.0)
        try:
            await asyncio.wait_for(self.stream.end(), timeout=30)
        except TimeoutError:
            logger.warning("final decode timed out on track %s", self.track_sid)
        finally:
            await self.stream.aclose()
        await asyncio.wait({self._consumer}, timeout=5.0)
        await self._close_kept()

    async def _close_kept(self) -> None:
        if self.kept is not None:
            kept, self.kept = self.kept, None
            await asyncio.to_thread(kept.close)

    async def discard(self) -> None:
        """Stop without finalising (opt-out): nothing more is produced."""
        self._stop_reading()
        self._consumer.cancel()
        await self.stream.aclose()
        await asyncio.wait({self._reader, self._consumer}, timeout=2.0)
        await self._close_kept()
