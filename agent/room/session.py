"""One room session: connect hidden and audio-only, caption each microphone, leave at the end.

The session ends when the room is closed or deleted (the server disconnects us), or when no
human participant has been present for ``ROOM_EMPTY_GRACE`` seconds, so that an agent never keeps
an abandoned room alive. Every pipeline is finalised on the way out: the last sentence of a
participant who leaves is not lost.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Awaitable
from typing import Any

from livekit import api, rtc
from livekit.agents import AutoSubscribe, JobContext

from agent import metrics
from agent.asr.engine import RecognizerStream, SpeechEngine
from agent.asr.events import TranscriptEvent
from agent.asr.shared import get_engine
from agent.audio.keep import SessionAudio
from agent.config import LiveKitSettings
from agent.logs import get_logger
from agent.meeting.service import MinutesService
from agent.minutes.settings import MinutesSettings
from agent.room import ffi_guard
from agent.room.captions import CaptionPublisher, caption_from_event
from agent.room.control import CaptionControl
from agent.room.dispatch import left_here
from agent.room.heartbeat import Heartbeat
from agent.room.history import history_page
from agent.room.keeper import TranscriptKeeper
from agent.room.limits import ThrottledLog, shown
from agent.room.metadata import (
    ATTR_STATUS,
    display_name,
    language_code,
    opted_out,
    participant_language,
    room_config,
)
from agent.room.settings import RoomSettings
from agent.room.so_far import MeetingSoFar
from agent.room.tracks import TrackPipeline
from agent.room.translation import WHISPER_KEEP_SECONDS, RoomTranslation
from agent.translate.requests import normalize

logger = get_logger(__name__)

NON_HUMAN_KINDS = {rtc.ParticipantKind.PARTICIPANT_KIND_AGENT, rtc.ParticipantKind.PARTICIPANT_KIND_EGRESS}
CAPTIONED_SOURCES = {rtc.TrackSource.SOURCE_MICROPHONE, rtc.TrackSource.SOURCE_UNKNOWN}
TOPIC_STATUS = "greffier.status"
FINISH_WAIT = 45.0  # a track's finish is bounded by its own timeouts (final decode 30 s, ...)



def is_human(participant: rtc.RemoteParticipant) -> bool:
    return participant.kind not in NON_HUMAN_KINDS


ROOM_OVER = {rtc.DisconnectReason.ROOM_DELETED, rtc.DisconnectReason.ROOM_CLOSED}


class RoomSession:
    def __init__(
        self,
        ctx: JobContext,
        settings: LiveKitSettings,
        minutes: MinutesSettings,
        room_settings: RoomSettings | None = None,
        minutes_service: MinutesService | None = None,
        engine: SpeechEngine | None = None,
    ) -> None:
        self.room_settings = room_settings or RoomSettings()
        self.minutes_service = minutes_service
        self.ctx = ctx
        self.settings = settings
        self.minutes_settings = minutes
        self.keeper: TranscriptKeeper | None = None
        self.kept_audio: SessionAudio | None = None
        self.room_ended = False
        self.room = ctx.room
        self.empty_grace = self.room_settings.empty_grace
        self.engine = engine if engine is not None else get_engine()
        self.pipelines: dict[str, TrackPipeline] = {}
        self.captions_on = True
        self.room_language: str | None = None
        self.publisher: CaptionPublisher | None = None
        self.translation: RoomTranslation | None = None
        self.so_far: MeetingSoFar | None = None
        self._ended = asyncio.Event()
        self._empty_timer: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._track_tasks: set[asyncio.Task[Any]] = set()  # finishing tracks, erasures
        self._limit_log = ThrottledLog(60.0)
        self.control = CaptionControl(
            self.room,
            policy=self.room_settings.captions_control,
            limits=self.room_settings.rpc_limits,
            set_captions=self.set_captions,
            status=self.status,
            history=self.history_page,
            set_language=self._set_caption_language,
            so_far=self._meeting_so_far,
        )

    # -- lifecycle ---------------------------------------------------------------------------------
    def name_of(self, participant: rtc.Participant) -> str:
        return display_name(participant.name, participant.identity, self.room_settings.max_name_chars)

    def metadata(self, raw: str) -> str:
        """The room metadata, or "" when it is over the size limit (then logged, ignored)."""
        if len(raw.encode()) <= self.room_settings.max_metadata_bytes:
            return raw
        self._limit_log.warning(
            "metadata", "room metadata of %s ignored: over %d bytes", self.room.name,
            self.room_settings.max_metadata_bytes,
        )
        return ""

    def humans(self) -> list[rtc.RemoteParticipant]:
        return [p for p in self.room.remote_participants.values() if is_human(p)]

    async def run(self) -> None:
        room = self.room
        room.on("participant_connected", self._on_participant_connected)
        room.on("participant_disconnected", self._on_participant_disconnected)
        room.on("track_subscribed", self._on_track_subscribed)
        room.on("track_unsubscribed", self._on_track_unsubscribed)
        room.on("participant_attributes_changed", self._on_attributes_changed)
        room.on("room_metadata_changed", self._on_room_metadata_changed)
        room.on("disconnected", self._on_disconnected)
        room.on("track_published", self._on_track_published)
        room.on("reconnected", self._on_reconnected)
        # While the connection is down, another agent may take over (the next beat says alive).
        room.on("reconnecting", lambda: left_here(room.name))
        await self.ctx.connect(auto_subscribe=AutoSubscribe.AUDIO_ONLY)
        self.keeper = await TranscriptKeeper.open(
            self.minutes_settings, room.name, self.ctx.job.room.sid, self.metadata(room.metadata),
            self.minutes_service,
        )
        if self.room_settings.keep_audio:
            self.kept_audio = SessionAudio(
                self.keeper.journal.session_id, base=self.minutes_settings.data_dir
            )
        self.publisher = CaptionPublisher(room, legacy=self.room_settings.legacy_transcription)
        self.translation = RoomTranslation(
            room, self.room_settings.translate, self.publisher, streams=self._stream_of
        )
        publisher = self.publisher
        self.so_far = MeetingSoFar(
            lambda: publisher.history,
            self.minutes_settings.llm,
            started_at=time.time(),
            endpoint=self.translation.endpoint if self.room_settings.translate.enabled else None,
        )
        config = room_config(self.metadata(room.metadata))
        self.room_language = language_code(config.get("language"))
        self.captions_on = config.get("captions", True) is not False
        self.control.register()
        self._spawn(Heartbeat(room, self._ended).run())
        logger.info(
            "joined room %s as hidden participant %s (%d participant(s) present)",
            room.name,
            room.local_participant.identity,
            len(self.humans()),
        )
        for participant in self.humans():
            self._on_participant_connected(participant)
            for pub in participant.track_publications.values():
                if pub.track is not None:
                    self._on_track_subscribed(pub.track, pub, participant)  # type: ignore[arg-type]
        self._check_empty()
        await self._ended.wait()
        await self.close()

    def end(self, reason: str, *, room_over: bool = False) -> None:
        self.room_ended = self.room_ended or room_over
        if not self._ended.is_set():
            logger.info("leaving room %s: %s", self.room.name, reason)
            self._ended.set()

    async def close(self) -> None:
        left_here(self.room.name)
        pipelines = list(self.pipelines.values())
        self.pipelines.clear()
        metrics.active_streams.dec(len(pipelines))
        await asyncio.gather(*(p.finish() for p in pipelines), return_exceptions=True)
        # Tracks that ended before the room did are still finishing (their last final, their kept
        # audio) and erasures may be running: the minutes must not start without them.
        if self._track_tasks:
            _done, late = await asyncio.wait(set(self._track_tasks), timeout=FINISH_WAIT)
            if late:
                logger.warning("%d track task(s) still running at room end", len(late))
        if self.translation is not None:
            await self.translation.aclose()
        if self.publisher is not None:
            await self.publisher.aclose()
        if self.keeper is not None:
            await self.keeper.close(room_ended=self.room_ended)

    def _spawn(self, coro: Awaitable[Any], *, before_minutes: bool = False) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        if before_minutes:
            self._track_tasks.add(task)
            task.add_done_callback(self._track_tasks.discard)

    # -- participants and tracks -----------------------------------------------------------------
    def _on_participant_connected(self, participant: rtc.RemoteParticipant) -> None:
        if not is_human(participant):
            return
        logger.info("participant joined room %s: %s", self.room.name, participant.identity)
        if self.translation is not None:
            self.translation.on_attributes(participant)
        self._ensure_subscribed(participant)
        if self.keeper is not None:
            self.keeper.participant(participant.identity, self.name_of(participant))
        self._check_empty()
        self._spawn(self._announce(participant))

    def _ensure_subscribed(self, participant: rtc.RemoteParticipant) -> None:
        """Subscribe to every microphone of a human: also after a reconnection or a server
        restart, when the SDK does not always replay the publications."""
        if not is_human(participant):
            return
        for pub in participant.track_publications.values():
            if (
                pub.kind == rtc.TrackKind.KIND_AUDIO
                and pub.source in CAPTIONED_SOURCES
                and not pub.subscribed
            ):
                pub.set_subscribed(True)

    def _on_track_published(
        self, pub: rtc.RemoteTrackPublication, participant: rtc.RemoteParticipant
    ) -> None:
        self._ensure_subscribed(participant)

    def _on_reconnected(self) -> None:
        logger.info("reconnected to room %s", self.room.name)
        for participant in self.humans():
            self._ensure_subscribed(participant)

    def _on_participant_disconnected(self, participant: rtc.RemoteParticipant) -> None:
        if not is_human(participant):
            return
        logger.info("participant left room %s: %s", self.room.name, participant.identity)
        if self.translation is not None:
            self.translation.forget(participant.identity)
        for sid, pipeline in list(self.pipelines.items()):
            if pipeline.identity == participant.identity:
                self._stop_pipeline(sid)
        self._check_empty()

    def _wants_captions(self, participant: rtc.RemoteParticipant) -> bool:
        return self.captions_on and is_human(participant) and not opted_out(participant.attributes)

    def _on_track_subscribed(
        self,
        track: rtc.Track,
        publication: rtc.RemoteTrackPublication,
        participant: rtc.RemoteParticipant,
    ) -> None:
        if track.kind != rtc.TrackKind.KIND_AUDIO or publication.source not in CAPTIONED_SOURCES:
            return
        logger.info("subscribed to microphone of %s (track %s)", participant.identity, publication.sid)
        if self._wants_captions(participant):
            self._start_pipeline(participant, track, publication.sid)

    def _on_track_unsubscribed(
        self,
        track: rtc.Track,
        publication: rtc.RemoteTrackPublication,
        participant: rtc.RemoteParticipant,
    ) -> None:
        self._stop_pipeline(publication.sid)

    def _stream_of(self, track_sid: str) -> RecognizerStream | None:
        pipeline = self.pipelines.get(track_sid)
        return pipeline.stream if pipeline is not None else None

    def _start_pipeline(self, participant: rtc.RemoteParticipant, track: rtc.Track, sid: str) -> None:
        if (
            sid in self.pipelines
            or self.room.remote_participants.get(participant.identity) is not participant
        ):
            return  # already running, or the participant left before the subscription landed
        if not self._within_limits(participant):
            return
        language = participant_language(participant.attributes, self.room_language)
        metrics.active_streams.inc()
        kept = None
        if self.kept_audio is not None:
            kept = self.kept_audio.track(sid, participant.identity, self.name_of(participant))
        keep = WHISPER_KEEP_SECONDS if self.room_settings.translate.uses_whisper else 0.0
        self.pipelines[sid] = TrackPipeline(
            self.engine, participant, track, sid, language=language, on_event=self._on_event, kept=kept,
            keep_seconds=keep,
        )  # fmt: skip
        logger.info("captioning %s (track %s, language %s)", participant.identity, sid, language or "auto")
        self._share_language()

    def _within_limits(self, participant: rtc.RemoteParticipant) -> bool:
        """One participant publishing many microphones, or a crowd joining, must not take the
        worker's whole capacity: past the limits, further tracks are not captioned (logged)."""
        limits = self.room_settings
        mine = sum(1 for p in self.pipelines.values() if p.identity == participant.identity)
        if mine >= limits.max_tracks_per_participant:
            self._limit_log.warning(
                f"tracks:{participant.identity}",
                "not captioning another microphone of %s in room %s: MAX_TRACKS_PER_PARTICIPANT=%d",
                shown(participant.identity), self.room.name, limits.max_tracks_per_participant,
            )
            return False
        speakers = {p.identity for p in self.pipelines.values()}
        if participant.identity not in speakers and len(speakers) >= limits.max_captioned_participants:
            self._limit_log.warning(
                "participants",
                "not captioning %s in room %s: MAX_CAPTIONED_PARTICIPANTS=%d reached",
                shown(participant.identity), self.room.name, limits.max_captioned_participants,
            )
            return False
        return True

    def _share_language(self) -> None:
        """Speakers still voting on their language get the room's established one (what most
        streams settled on) as their prior: a short reply is not detected afresh among 99."""
        votes = [p.stream.recognizer.languages for p in self.pipelines.values()]
        counts = Counter(v.language for v in votes if v.language)
        if counts:
            established = counts.most_common(1)[0][0]
            for vote in votes:
                if vote.language is None and vote.prior != established:
                    vote.set_prior(established)

    def _stop_pipeline(self, sid: str, *, discard: bool = False) -> None:
        pipeline = self.pipelines.pop(sid, None)
        if pipeline is not None:
            metrics.active_streams.dec()
            self._spawn(pipeline.discard() if discard else pipeline.finish(), before_minutes=True)

    def _on_attributes_changed(self, changed: dict[str, str], participant: rtc.Participant) -> None:
        if not isinstance(participant, rtc.RemoteParticipant) or not is_human(participant):
            return
        if self.translation is not None:
            self.translation.on_attributes(participant)
        if opted_out(participant.attributes):
            had = [sid for sid, p in self.pipelines.items() if p.identity == participant.identity]
            for sid in had:
                self._stop_pipeline(sid, discard=True)
            if self.publisher is not None:
                self.publisher.forget_speaker(participant.identity)
            self._forget_speaker(participant.identity)
            logger.info("participant %s opted out of captions", participant.identity)
            self._spawn(self._announce(participant))
        else:
            self._resubscribe(participant)
            new_language = participant_language(participant.attributes, self.room_language)
            for pipeline in self.pipelines.values():
                if pipeline.identity == participant.identity and new_language:
                    pipeline.stream.recognizer.set_language(new_language)

    def _forget_speaker(self, identity: str) -> None:
        if self.keeper is not None:
            self.keeper.forget(identity)
        if self.kept_audio is not None:
            kept_audio = self.kept_audio
            self._spawn(asyncio.to_thread(kept_audio.forget, identity), before_minutes=True)

    def _resubscribe(self, participant: rtc.RemoteParticipant) -> None:
        if not self._wants_captions(participant):
            return
        for pub in participant.track_publications.values():
            if pub.track is not None and pub.sid not in self.pipelines:
                self._on_track_subscribed(pub.track, pub, participant)  # type: ignore[arg-type]

    def _on_room_metadata_changed(self, old: str, new: str) -> None:
        before, config = room_config(self.metadata(old)), room_config(self.metadata(new))
        self.room_language = language_code(config.get("language")) or self.room_language
        if self.keeper is not None:
            self.keeper.metadata(self.metadata(new))
        # The backend switches captions by changing {"greffier": {"captions": ...}}.
        wanted = config.get("captions")
        if isinstance(wanted, bool) and wanted != before.get("captions", True):
            self.set_captions(wanted, "the room metadata")

    def _on_disconnected(self, reason: rtc.DisconnectReason.ValueType | None = None) -> None:
        name = rtc.DisconnectReason.Name(reason) if isinstance(reason, int) else "unknown"
        self.end(f"disconnected ({name})", room_over=reason in ROOM_OVER)

    def _check_empty(self) -> None:
        if self.humans():
            if self._empty_timer is not None:
                self._empty_timer.cancel()
                self._empty_timer = None
            return
        if self._empty_timer is None:
            loop = asyncio.get_running_loop()
            self._empty_timer = loop.call_later(
                self.empty_grace, lambda: self.end("no participant left in the room", room_over=True)
            )

    # -- captions ----------------------------------------------------------------------------------
    def _on_event(self, pipeline: TrackPipeline, event: TranscriptEvent) -> None:
        if self.pipelines.get(pipeline.track_sid) is not pipeline and not event.is_final:
            return  # a stopped pipeline still delivers its final, never new interims
        participant = pipeline.participant
        caption = caption_from_event(
            event,
            identity=participant.identity,
            name=self.name_of(participant),
            track_sid=pipeline.track_sid,
            wall=pipeline.wall_time,
        )
        if event.is_final:
            self._share_language()
        if self.publisher is not None:
            self.publisher.publish(caption)
        if caption.final and self.translation is not None:
            self.translation.on_final(caption)  # after the original: never ahead of it
        if self.keeper is not None:
            self.keeper.caption(caption)
        if caption.final and self.room_settings.log_transcripts:
            logger.info("caption %s: %s", participant.identity, caption.text)
        elif caption.final:
            logger.info(
                "final caption from %s (%d words, %s)",
                participant.identity,
                len(caption.words),
                caption.language,
            )

    # -- control and status ------------------------------------------------------------------------
    async def _meeting_so_far(self, identity: str, payload: str) -> str:
        """``{"language": "fr"}`` (optional) → the catch-up, in that language or the caller's."""
        if self.so_far is None:
            raise ValueError("the agent is still joining: try again")
        try:
            request = json.loads(payload) if payload else {}
        except ValueError:
            request = {}
        asked = request.get("language") if isinstance(request, dict) else None
        language = (
            normalize(asked if isinstance(asked, str) else None)
            or (self.translation.requests.of(identity) if self.translation else None)
            or self.room_language
            or self._spoken_language()
        )
        return json.dumps(await self.so_far.answer(language), ensure_ascii=False)

    def _spoken_language(self) -> str:
        spoken = Counter(c.language for c in self.publisher.history if c.language) if self.publisher else {}
        return max(spoken, key=spoken.__getitem__) if spoken else "en"

    def _set_caption_language(self, identity: str, payload: str) -> str:
        if self.translation is None:
            raise ValueError("the agent is still joining: try again")
        return self.translation.rpc(identity, payload)

    def status(self) -> dict[str, Any]:
        return {
            "type": "status",
            "v": 1,
            "active": self.captions_on,
            "transcribed": sorted({p.identity for p in self.pipelines.values()}),
            "pipelines": len(self.pipelines),
            "engine_streams": len(self.engine.active_streams),
            "translation": self.translation.status() if self.translation is not None else {"enabled": False},
        }

    def _status_for(self, participant: rtc.RemoteParticipant) -> str:
        if opted_out(participant.attributes):
            return "opted-out"
        return "active" if self.captions_on else "paused"

    async def _announce(self, participant: rtc.RemoteParticipant | None = None) -> None:
        """Tell clients whether captions run: a status message, and an attribute per participant."""
        targets = [participant] if participant is not None else self.humans()
        for p in targets:
            value = self._status_for(p)
            if p.attributes.get(ATTR_STATUS) == value:
                continue
            try:
                await self.ctx.api.room.update_participant(
                    api.UpdateParticipantRequest(
                        room=self.room.name, identity=p.identity, attributes={ATTR_STATUS: value}
                    )
                )
            except Exception as exc:
                logger.warning("could not set the captions indicator: %s", type(exc).__name__)
        try:
            await self.room.local_participant.publish_data(
                json.dumps(self.status()).encode(), reliable=True, topic=TOPIC_STATUS
            )
        except Exception as exc:
            logger.warning("could not publish status: %s", type(exc).__name__)

    def history_page(self, payload: str) -> str:
        return history_page(list(self.publisher.history) if self.publisher else [], payload)

    def set_captions(self, on: bool, by: str) -> None:
        if on == self.captions_on:
            return
        self.captions_on = on
        logger.info("captions %s in room %s by %s", "started" if on else "stopped", self.room.name, shown(by))
        if on:
            for participant in self.humans():
                self._resubscribe(participant)
        else:
            for sid in list(self.pipelines):
                self._stop_pipeline(sid)
        self._spawn(self._announce())

async def run_room_session(
    ctx: JobContext,
    settings: LiveKitSettings,
    minutes: MinutesSettings,
    room_settings: RoomSettings | None = None,
    minutes_service: MinutesService | None = None,
) -> None:
    ffi_guard.install()
    session = RoomSession(ctx, settings, minutes, room_settings, minutes_service)
    loop = asyncio.get_running_loop()

    async def release_subscriptions() -> None:  # after the room disconnected, before the loop closes
        ffi_guard.release_loop(loop, ctx.room.name)

    ctx.add_shutdown_callback(release_subscriptions)
    try:
        await session.run()
    finally:
        ctx.shutdown("room session ended")
