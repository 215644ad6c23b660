"""Room-end processing of kept tracks, before the minutes: diarize shared mics, second pass.

``await finalize_session(session_id, segments)`` takes the journal's live segments and returns the
segments the minutes should use:

1. for each kept track (``DATA_DIR/audio/<session>/``), ``DIARIZATION`` decides: ``off`` leaves
   it, ``on`` diarizes it, ``auto`` diarizes it when segmentation-3.0 finds several voices
   (``detect_multi_speaker``). Diarized segments are split at speaker changes and named
   "Salle Jaurès (A)", "(B)"... (identity ``<identity>#A``). A track kept in several pieces
   (its pipeline restarted) is joined into one timeline first, so its voices keep their letters;
2. with ``MINUTES_WHISPER_MODEL`` set, the track is re-transcribed and the words re-aligned to
   those segments (``second_pass``), so the speakers stay.

Segments of tracks with no kept audio pass through unchanged. Errors on one track are logged and
that track's live segments kept: the minutes are never lost to diarization.
"""

from __future__ import annotations

import asyncio
import os
from collections import defaultdict
from typing import Any

from agent.audio.decode import AudioDecodeError
from agent.audio.keep import KeptTrack, join_kept_tracks, list_kept_tracks, read_kept_audio
from agent.diarize.settings import DiarizationSettings, SecondPassSettings
from agent.logs import get_logger
from agent.transcript.segment import Segment

log = get_logger(__name__)


def _diarize_track_sync(
    track: KeptTrack, segments: list[Segment], settings: DiarizationSettings
) -> tuple[list[Segment], list[Any] | None, dict[str, Any]]:
    from agent.diarize.api import diarize_audio, label_segments
    from agent.diarize.pipeline import DiarizationUnavailableError, extra_installed

    info: dict[str, Any] = {"track": track.track_id, "mode": settings.mode}
    if settings.mode == "off":
        return segments, None, info
    audio = read_kept_audio(track)
    if settings.mode == "auto":
        from agent.diarize.segmentation import SegmentationUnavailableError, detect_multi_speaker

        try:
            report = detect_multi_speaker(audio)
        except SegmentationUnavailableError as exc:  # e.g. the image, which does not ship it
            log.warning("diarization: %s; track %s not checked for several voices", exc, track.track_id)
            info["error"] = str(exc)
            return segments, None, info
        info["detection"] = report.reason()
        if not report.multi_speaker:
            return segments, None, info
        if not extra_installed():
            log.warning(
                "diarization: track %s of %s carries several voices (%s) but the diarization extra"
                " is not installed",
                track.track_id,
                track.participant_identity,
                report.reason(),
            )
            return segments, None, info
    try:
        turns = diarize_audio(audio, settings, uri=track.track_id or "track")
    except DiarizationUnavailableError as exc:
        log.warning("diarization: %s", exc)
        info["error"] = str(exc)
        return segments, None, info
    info["speakers"] = sorted({t.speaker for t in turns})
    return label_segments(segments, turns, track.start_wall), turns, info


async def process_track(
    track: KeptTrack,
    segments: list[Segment],
    diarization: DiarizationSettings | None = None,
    second: SecondPassSettings | None = None,
) -> list[Segment]:
    """One kept track's segments, diarized and/or re-transcribed as the settings say."""
    from agent.diarize.second_pass import second_pass

    diarization = diarization or DiarizationSettings.from_env()
    second = second or SecondPassSettings.from_env()
    out, turns, info = await asyncio.to_thread(_diarize_track_sync, track, segments, diarization)
    log.info("diarization: %s", info)
    if second.enabled:
        out = await second_pass(track.path, out, second, start_wall=track.start_wall, turns=turns)
    return out


async def finalize_session(
    session_id: str,
    segments: list[Segment],
    base: str | os.PathLike[str],
    diarization: DiarizationSettings | None = None,
    second: SecondPassSettings | None = None,
) -> list[Segment]:
    """All segments of a session, with kept tracks diarized / re-transcribed (see module doc)."""
    by_track: dict[str, list[Segment]] = defaultdict(list)
    for seg in segments:
        by_track[seg.track_id].append(seg)
    kept: dict[str, list[KeptTrack]] = defaultdict(list)
    for piece in list_kept_tracks(session_id, base):
        kept[piece.track_id].append(piece)
    out: list[Segment] = []
    for track_id, segs in by_track.items():
        pieces = kept.get(track_id)
        if not pieces:
            out.extend(segs)
            continue
        try:
            if not all(piece.closed for piece in pieces):  # the minutes start after every track ends
                log.warning("kept audio of track %s was not closed: it may be cut short", track_id)
            track = await asyncio.to_thread(join_kept_tracks, pieces)
            out.extend(await process_track(track, segs, diarization, second))
        except AudioDecodeError as exc:  # e.g. the empty file of a killed worker: known, no traceback
            log.warning("kept audio of track %s unreadable (%s); keeping live segments", track_id, exc.reason)
            out.extend(segs)
        except Exception:
            log.exception("second pass / diarization failed for track %s; keeping live segments", track_id)
            out.extend(segs)
    return sorted(out, key=lambda s: (s.start, s.segment_id))
