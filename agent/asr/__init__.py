"""Streaming speech recognition: audio frames in, interim and final text out.

Names load on first use (PEP 562) so that reading ``AsrSettings`` for a config check does not
import faster-whisper, CTranslate2 and onnxruntime.
"""

from __future__ import annotations

from agent.lazy import lazy_names

_WHERE = {
    "AsrSettings": "settings",
    "parse_language": "settings",
    "TranscriptEvent": "events",
    "Word": "events",
    "DecodeJob": "contracts",
    "Hypothesis": "contracts",
    "LanguageVote": "language",
    "SileroModel": "vad",
    "VadStream": "vad",
    "StreamingRecognizer": "recognizer",
    "WhisperDecoder": "decoder",
    "DecodeScheduler": "scheduler",
    "SpeechEngine": "engine",
    "RecognizerStream": "engine",
    "get_engine": "shared",
    "WhisperSTT": "livekit_stt",
    "simulate_stream": "simulate",
    "load_model": "offline",
    "resolve_model": "offline",
    "quiet_blocks": "offline",
    "transcribe_offline": "offline",
    "transcribe_stream": "offline",
}

__all__, __getattr__ = lazy_names(__name__, _WHERE)
