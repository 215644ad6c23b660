"""The process-wide speech engine: loaded once (at worker start), shared by every room."""

from __future__ import annotations

import threading

from agent.asr.engine import SpeechEngine
from agent.asr.settings import AsrSettings

_engine: SpeechEngine | None = None
_lock = threading.Lock()


def get_engine(settings: AsrSettings | None = None) -> SpeechEngine:
    global _engine
    with _lock:
        if _engine is None:
            _engine = SpeechEngine(settings or AsrSettings.from_env())
        return _engine
