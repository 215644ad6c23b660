"""The last seconds of a stream's audio and its latest finals' spans, for work done on an
utterance after its caption went out (Whisper's translate task).

The recognizer trims its buffer at every cut, so the audio of a final is gone by the time a
translation of it is due; this keeps a bounded copy on the stream's own audio clock.
"""

from __future__ import annotations

from collections import OrderedDict, deque

import numpy as np

from agent.asr.contracts import to_float32
from agent.timebase import SAMPLE_RATE

MAX_SPANS = 32


class RecentAudio:
    def __init__(self, seconds: float) -> None:
        self.limit = int(seconds * SAMPLE_RATE)
        self._chunks: deque[np.ndarray] = deque()
        self._start = 0  # stream sample of the first kept sample
        self._kept = 0
        self._spans: OrderedDict[str, tuple[float, float, str]] = OrderedDict()

    @property
    def end(self) -> int:
        return self._start + self._kept

    def push(self, pcm: np.ndarray) -> None:
        chunk = to_float32(pcm)
        self._chunks.append(chunk)
        self._kept += chunk.size
        while self._chunks and self._kept - self._chunks[0].size >= self.limit:
            dropped = self._chunks.popleft()
            self._kept -= dropped.size
            self._start += dropped.size

    def remember(self, segment_id: str, start: float, end: float, language: str) -> None:
        """A final's span (seconds on the stream's audio clock) and language."""
        self._spans[segment_id] = (start, end, language)
        while len(self._spans) > MAX_SPANS:
            self._spans.popitem(last=False)

    def span(self, segment_id: str) -> tuple[float, float, str] | None:
        return self._spans.get(segment_id)

    def slice(self, start: float, end: float) -> np.ndarray | None:
        """Samples between ``start`` and ``end`` seconds; None when any of it is already gone."""
        a, b = int(start * SAMPLE_RATE), min(int(end * SAMPLE_RATE), self.end)
        if a < self._start or b <= a:
            return None
        joined = np.concatenate(list(self._chunks)) if len(self._chunks) > 1 else self._chunks[0]
        return joined[a - self._start : b - self._start].copy()
