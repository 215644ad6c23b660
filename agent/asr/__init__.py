"""Streaming speech recognition: audio frames in, interim and final text out.

Names load on first use (PEP 562) so that reading ``AsrSettings`` for a config check does not
import faster-whisper, CTranslate2 and onnxruntime.
"""

from __future__ import annotations

import importlib
from typing import Any

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

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
