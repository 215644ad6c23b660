"""Silero VAD on onnxruntime: one shared session, a small state per audio stream.

The VAD decides when the recognizer spends compute: silence never reaches Whisper, and the end
of a speech region (``min_silence_ms`` below ``threshold - 0.15``) finalises the segment.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime

from agent.asr.models import silero_vad_path
from agent.timebase import SAMPLE_RATE

WINDOW = 512  # samples per VAD step at 16 kHz (32 ms)
CONTEXT = 64  # Silero v5 looks at the tail of the previous window


class SileroModel:
    """The ONNX session, shared by every stream of a process (it is stateless between calls)."""

    def __init__(self, path: Path | None = None) -> None:
        opts = onnxruntime.SessionOptions()
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = onnxruntime.InferenceSession(
            str(path or silero_vad_path()), sess_options=opts, providers=["CPUExecutionProvider"]
        )
        self._sr = np.array(SAMPLE_RATE, dtype=np.int64)
        self._lock = threading.Lock()

    def probability(self, window: np.ndarray, state: np.ndarray) -> tuple[float, np.ndarray]:
        with self._lock:
            out, new_state = self._session.run(
                None, {"input": window[np.newaxis, :], "state": state, "sr": self._sr}
            )
        return float(out[0][0]), new_state


@dataclass
class VadEvent:
    kind: str  # "start" or "end"
    sample: int  # stream position (samples) where speech started / ended


class VadStream:
    """Per-stream speech/silence tracking with hysteresis."""

    def __init__(
        self,
        model: SileroModel,
        *,
        threshold: float = 0.5,
        min_silence_ms: int = 500,
        min_speech_ms: int = 120,
        pad_ms: int = 200,
    ) -> None:
        self.model = model
        self.threshold = threshold
        self.neg_threshold = max(0.05, threshold - 0.15)
        self.min_silence = min_silence_ms * SAMPLE_RATE // 1000
        self.min_speech = min_speech_ms * SAMPLE_RATE // 1000
        self.pad = pad_ms * SAMPLE_RATE // 1000
        self.start_pad = 2 * self.pad
        self._state = np.zeros((2, 1, 128), dtype=np.float32)
        self._context = np.zeros(CONTEXT, dtype=np.float32)
        self._pending = np.zeros(0, dtype=np.float32)
        self.position = 0  # samples consumed so far
        self.speaking = False
        self._candidate_start: int | None = None
        self._silence_start: int | None = None
        self.last_probability = 0.0

    def process(self, samples: np.ndarray) -> list[VadEvent]:
        """Feed float32 samples; return speech start/end events in stream order."""
        events: list[VadEvent] = []
        buf = np.concatenate([self._pending, samples]) if self._pending.size else samples
        n_windows = len(buf) // WINDOW
        for i in range(n_windows):
            window = buf[i * WINDOW : (i + 1) * WINDOW]
            inp = np.concatenate([self._context, window]).astype(np.float32, copy=False)
            prob, self._state = self.model.probability(inp, self._state)
            self._context = window[-CONTEXT:].copy()
            self.last_probability = prob
            self._step(prob, events)
            self.position += WINDOW
        self._pending = buf[n_windows * WINDOW :].copy()
        return events

    def _step(self, prob: float, events: list[VadEvent]) -> None:
        pos = self.position
        if not self.speaking:
            if prob >= self.threshold:
                if self._candidate_start is None:
                    self._candidate_start = pos
                if pos + WINDOW - self._candidate_start >= self.min_speech:
                    self.speaking = True
                    self._silence_start = None
                    # Soft onsets ("Oh, ...") score low: start well before the first confident window.
                    events.append(VadEvent("start", max(0, self._candidate_start - self.start_pad)))
            else:
                self._candidate_start = None
            return
        if prob < self.neg_threshold:
            if self._silence_start is None:
                self._silence_start = pos
            if pos + WINDOW - self._silence_start >= self.min_silence:
                self.speaking = False
                self._candidate_start = None
                events.append(VadEvent("end", self._silence_start + self.pad))
                self._silence_start = None
        elif prob >= self.threshold:
            self._silence_start = None

    @property
    def tentative_end(self) -> int | None:
        """The "end" sample this utterance gets if the silence under way lasts ``min_silence``:
        known ``pad`` samples into the silence, long before the end is confirmed."""
        if self.speaking and self._silence_start is not None:
            return self._silence_start + self.pad
        return None

    def flush(self) -> list[VadEvent]:
        """End of stream: close an open speech region."""
        if self.speaking:
            self.speaking = False
            return [VadEvent("end", self.position + len(self._pending))]
        return []
