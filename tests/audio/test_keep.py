"""Kept track audio: compressed, on the wall clock, deleted after the minutes unless KEEP_AUDIO."""

from __future__ import annotations

import numpy as np
import pytest

from agent.audio.decode import AudioDecodeError
from agent.audio.keep import (
    KeptTrack,
    SessionAudio,
    discard_session_audio,
    join_kept_tracks,
    list_kept_tracks,
    read_kept_audio,
)


def _tone(seconds: float) -> np.ndarray:
    t = np.arange(round(seconds * 16000)) / 16000
    return (np.sin(2 * np.pi * 440 * t) * 8000).astype(np.int16)


@pytest.mark.parametrize("codec", ["opus", "flac"])
def test_round_trip_with_gap_filled(tmp_path, codec):
    session = SessionAudio("RM_test", tmp_path, codec=codec)
    keeper = session.track("TR_1", "room-1", "Salle Jaurès")
    pcm = _tone(6.0)
    t0 = 1_700_000_000.0
    for i in range(0, len(pcm), 320):  # 20 ms frames; 2 s of silence (muted mic) after 3 s
        wall = t0 + i / 16000 + (2.0 if i >= 3 * 16000 else 0.0)
        keeper.push(pcm[i : i + 320].tobytes(), wall)
    meta = keeper.close()
    assert meta.start_wall == t0 and meta.closed
    assert meta.duration == pytest.approx(8.0, abs=0.05)
    audio = read_kept_audio(meta)
    assert len(audio) / 16000 == pytest.approx(8.0, abs=0.05)
    rms = lambda a, b: float(np.sqrt(np.mean(audio[int(a * 16000) : int(b * 16000)] ** 2)))  # noqa: E731
    assert rms(3.3, 4.7) < 0.01 < rms(5.3, 7.5)  # the gap is silence, the tone resumes on time
    if codec == "opus":
        assert (
            meta.path.endswith(".ogg")
            and (tmp_path / "audio/RM_test/TR_1.ogg").stat().st_size < 8 * 16000 * 2 / 8
        )
    [listed] = list_kept_tracks("RM_test", tmp_path)
    assert listed.participant_name == "Salle Jaurès"
    assert KeptTrack.load(listed.sidecar).to_wall(1.0) == t0 + 1.0


def test_discard_respects_keep_audio(tmp_path, monkeypatch):
    session = SessionAudio("RM_x", tmp_path)
    keeper = session.track("TR_1")
    keeper.push(_tone(1.0), 1000.0)
    session.close_all()
    monkeypatch.setenv("KEEP_AUDIO", "true")
    assert discard_session_audio("RM_x", tmp_path) is False
    assert list_kept_tracks("RM_x", tmp_path)
    monkeypatch.setenv("KEEP_AUDIO", "false")
    assert discard_session_audio("RM_x", tmp_path) is True
    assert not (tmp_path / "audio" / "RM_x").exists()


def test_push_is_cheap_and_bounded(tmp_path):
    import time

    keeper = SessionAudio("RM_p", tmp_path).track("TR_1")
    pcm = _tone(60.0)
    start = time.perf_counter()
    for i in range(0, len(pcm), 160):
        keeper.push(pcm[i : i + 160], 5000.0 + i / 16000)
    per_frame = (time.perf_counter() - start) / (len(pcm) / 160)
    assert keeper._buffered <= keeper._flush_samples  # never more than one flush interval held
    keeper.close()
    assert per_frame < 0.001, f"push took {per_frame * 1e6:.0f} µs per 10 ms frame"


def test_unsafe_names(tmp_path):
    keeper = SessionAudio("../../etc", tmp_path).track("../TR/x y")
    keeper.push(_tone(0.5), 1.0)
    meta = keeper.close()
    assert str(tmp_path) in meta.path and ".." not in meta.path


def test_one_large_push_is_kept(tmp_path):
    """A whole recording pushed at once (tests, imports) is written, not dropped as backlog."""
    keeper = SessionAudio("RM_big", tmp_path).track("TR_1")
    keeper.push(_tone(130.0), 10.0)
    meta = keeper.close()
    assert meta.dropped_s == 0.0
    audio = read_kept_audio(meta)
    assert float(np.sqrt(np.mean(audio[: 16000 * 120] ** 2))) > 0.1


def test_forget_participant(tmp_path):
    session = SessionAudio("RM_f", tmp_path)
    session.track("TR_a", "alice").push(_tone(1.0), 1.0)
    session.track("TR_b", "bob").push(_tone(1.0), 1.0)
    session.track("TR_a").flush()
    session.track("TR_b").close()
    assert session.forget("alice") == 1
    assert [t.participant_identity for t in list_kept_tracks("RM_f", tmp_path)] == ["bob"]


def test_a_track_kept_in_two_pieces_is_joined_on_the_wall_clock(tmp_path):
    """A pipeline that restarts (reconnection) keeps its track in a second file: the minutes see
    one timeline, the second piece where it was spoken, silence between."""
    session = SessionAudio("RM_j", tmp_path)
    t0 = 1_700_000_000.0
    first = session.track("TR_1", "room-1", "Salle")
    first.push(_tone(2.0), t0)
    first.close()
    second = session.track("TR_1", "room-1", "Salle")  # a new file: the first one is closed
    second.push(_tone(1.0), t0 + 5.0)
    second.close()
    pieces = list_kept_tracks("RM_j", tmp_path)
    assert len(pieces) == 2
    joined = join_kept_tracks(pieces)
    assert joined.start_wall == t0 and joined.closed and joined.duration == pytest.approx(6.0, abs=0.05)
    audio = read_kept_audio(joined)
    assert len(audio) / 16000 == pytest.approx(6.0, abs=0.05)
    rms = lambda a, b: float(np.sqrt(np.mean(audio[int(a * 16000) : int(b * 16000)] ** 2)))  # noqa: E731
    assert rms(0.2, 1.8) > 0.1 and rms(2.3, 4.7) < 0.01 and rms(5.2, 5.8) > 0.1
    assert join_kept_tracks(pieces[:1]) is pieces[0]
    assert len(list_kept_tracks("RM_j", tmp_path)) == 2  # the joined file has no sidecar of its own


def test_an_empty_piece_is_left_out_of_the_join(tmp_path, caplog):
    """A worker killed before it wrote a byte leaves an empty file: the track is joined from the
    pieces that can be read (CI: the whole track's second pass was lost to one empty piece)."""
    session = SessionAudio("RM_e", tmp_path)
    t0 = 1_700_000_000.0
    killed = session.track("TR_1", "room-1", "Salle")
    killed.push(_tone(1.0), t0)
    killed.close()
    survivor = session.track("TR_1", "room-1", "Salle")
    survivor.push(_tone(1.0), t0 + 3.0)
    survivor.close()
    pieces = sorted(list_kept_tracks("RM_e", tmp_path), key=lambda t: t.start_wall)
    open(pieces[0].path, "wb").close()  # what SIGKILL leaves
    with caplog.at_level("WARNING"):
        joined = join_kept_tracks(pieces)
    assert "left out" in caplog.text and "empty" in caplog.text
    assert joined.start_wall == t0 and joined.duration == pytest.approx(4.0, abs=0.05)
    audio = read_kept_audio(joined)
    rms = lambda a, b: float(np.sqrt(np.mean(audio[int(a * 16000) : int(b * 16000)] ** 2)))  # noqa: E731
    assert rms(0.2, 2.8) < 0.01 and rms(3.2, 3.8) > 0.1
    open(pieces[1].path, "wb").close()
    with pytest.raises(AudioDecodeError):
        join_kept_tracks(pieces)


def test_minutes_keep_live_segments_of_an_unreadable_track(tmp_path, caplog):
    """A track whose only kept file is empty: the minutes keep its live captions, one warning."""
    import asyncio

    from agent.diarize.settings import DiarizationSettings, SecondPassSettings
    from agent.meeting.kept_audio import finalize_session
    from agent.transcript.segment import Segment

    t0 = 1_700_000_000.0
    keeper = SessionAudio("RM_u", tmp_path).track("TR_1", "room-1", "Salle")
    keeper.push(_tone(1.0), t0)
    keeper.close()
    (piece,) = list_kept_tracks("RM_u", tmp_path)
    open(piece.path, "wb").close()
    live = [Segment("u0", "room-1", "Salle", t0, t0 + 1.0, "bonjour", "fr", "TR_1")]
    with caplog.at_level("WARNING"):
        out = asyncio.run(
            finalize_session("RM_u", live, tmp_path, DiarizationSettings(mode="auto"), SecondPassSettings())
        )
    assert out == live
    assert "unreadable" in caplog.text and "Traceback" not in caplog.text
    assert not [r for r in caplog.records if r.levelname == "ERROR"]


def test_minutes_without_the_segmentation_model_in_a_read_only_image(tmp_path, monkeypatch, caplog):
    """The image ships no segmentation-3.0 model and its GREFFIER_CACHE_DIR is read-only:
    DIARIZATION=auto skips the several-voices check with one warning, creates nothing in the
    cache, and the track's minutes go on (found by scripts/image-check.sh: an mkdir on the
    read-only cache raised, logged a traceback and skipped the track's second pass)."""
    import asyncio

    from agent.diarize import segmentation
    from agent.diarize.settings import DiarizationSettings, SecondPassSettings
    from agent.meeting.kept_audio import finalize_session
    from agent.transcript.segment import Segment

    cache = tmp_path / "image-cache"
    cache.mkdir()
    monkeypatch.setenv("GREFFIER_CACHE_DIR", str(cache))
    monkeypatch.delenv("DIARIZATION_SEGMENTATION_ONNX", raising=False)
    monkeypatch.setattr(segmentation, "_installed_copy", lambda: None)
    monkeypatch.setattr(segmentation, "_shared", None)
    t0 = 1_700_000_000.0
    keeper = SessionAudio("RM_i", tmp_path / "data").track("TR_1", "alice", "Alice")
    keeper.push(_tone(2.0), t0)
    keeper.close()
    live = [Segment("i0", "alice", "Alice", t0, t0 + 2.0, "hello", "en", "TR_1")]
    with caplog.at_level("WARNING"):
        out = asyncio.run(
            finalize_session(
                "RM_i", live, tmp_path / "data", DiarizationSettings(mode="auto"), SecondPassSettings()
            )
        )
    assert out == live
    assert "not checked for several voices" in caplog.text and "Traceback" not in caplog.text
    assert not [r for r in caplog.records if r.levelname == "ERROR"]
    assert list(cache.iterdir()) == []  # a lookup must not mkdir on the read-only root filesystem
