"""Each package's public names (its ``__init__``'s ``__all__``) are pinned here, so a change to
what a package offers is a deliberate, reviewed edit of this list, never an accident."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

PUBLIC: dict[str, list[str]] = {
    "agent.asr": [
        "AsrSettings",
        "DecodeJob",
        "DecodeScheduler",
        "Hypothesis",
        "LanguageVote",
        "RecognizerStream",
        "SileroModel",
        "SpeechEngine",
        "StreamingRecognizer",
        "TranscriptEvent",
        "VadStream",
        "WhisperDecoder",
        "WhisperSTT",
        "Word",
        "get_engine",
        "load_model",
        "parse_language",
        "quiet_blocks",
        "resolve_model",
        "simulate_stream",
        "transcribe_offline",
        "transcribe_stream",
    ],
    "agent.audio": [
        "AudioDecodeError",
        "AudioInfo",
        "AudioReader",
        "DEFAULT_SAMPLE_RATE",
        "iter_audio",
        "load_audio",
        "probe_audio",
        "write_wav",
    ],
    "agent.cli": [],
    "agent.delivery": [
        "Delivery",
        "EmailError",
        "Outbox",
        "WebhookError",
        "build_email",
        "load_minutes",
        "minutes_dir",
        "send_email",
        "send_webhook",
        "sign",
        "verify",
        "write_minutes_files",
    ],
    "agent.demo": [
        "CaptionLog",
        "CaptionReader",
        "LocalLiveKitServer",
        "Speaker",
        "StreamCaption",
        "VisioView",
        "find_binary",
        "free_port",
        "participant_token",
    ],
    "agent.diarize": [
        "DiarizationSettings",
        "SecondPassSettings",
        "SpeakerTurn",
        "diarization_error_rate",
        "diarize_audio",
        "diarize_file",
        "diarize_transcript",
        "label_segments",
        "label_transcript",
        "participant_label",
        "second_pass",
        "to_rttm",
        "word_label_agreement",
        "write_rttm",
    ],
    "agent.formats": ["Cue", "to_srt", "to_webvtt"],
    "agent.meeting": [
        "MinutesResult",
        "MinutesService",
        "enqueue_deliveries",
        "finish_meeting",
        "outbox_for",
        "process_outbox",
        "recover_unfinished",
    ],
    "agent.minutes": [
        "LLMSettings",
        "Minutes",
        "MinutesSettings",
        "SMTPSettings",
        "WebhookSettings",
        "build_minutes",
    ],
    "agent.room": [
        "Caption",
        "CaptionPublisher",
        "RoomSession",
        "RoomSettings",
        "TrackPipeline",
        "TranscriptKeeper",
        "agent_identity",
        "room_has_agent",
        "rooms_needing_agent",
        "run_room_session",
        "start_sentinel",
    ],
    "agent.samples": [
        "Recording",
        "Sample",
        "SampleUnavailableError",
        "TtsClip",
        "Turn",
        "Utterance",
        "build_meeting",
        "build_monologue",
        "espeak_binary",
        "normalize_for_wer",
        "parse_rttm",
        "parse_stm",
        "pyannote_sample",
        "samples_cache_dir",
        "synth_speech",
        "tts_clip",
        "tts_clips",
        "utterance_clips",
        "word_error_rate",
    ],
    "agent.transcript": [
        "Journal",
        "JournalData",
        "RoomMetadata",
        "Segment",
        "Transcript",
        "find_unfinished",
        "parse_room_metadata",
        "read_journal",
        "render",
    ],
    "agent.translate": [
        "ATTR_CAPTION_LANGUAGE",
        "LLMTranslator",
        "LanguageRequests",
        "LocalTranslator",
        "TranslateSettings",
        "Translation",
        "TranslationService",
        "Translator",
    ],
}


def test_every_package_is_pinned() -> None:
    root = Path(__file__).resolve().parents[2] / "agent"
    packages = {f"agent.{p.parent.name}" for p in root.glob("*/__init__.py")}
    assert packages == set(PUBLIC)


@pytest.mark.parametrize("package", sorted(PUBLIC))
def test_public_names(package: str) -> None:
    module = importlib.import_module(package)
    assert hasattr(module, "__all__"), f"{package} has no __all__"
    assert sorted(module.__all__) == PUBLIC[package]
    for name in module.__all__:
        assert hasattr(module, name), f"{package}.__all__ names {name!r}, which it does not define"
