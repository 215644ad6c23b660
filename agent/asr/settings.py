"""Speech recognition settings (environment variables documented in README and .env.example)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from agent.config import ConfigError, env_auto_int, env_choice, env_float, env_int, env_str

_LANG_RE = re.compile(r"^[a-z]{2,3}$")
# ASR_BATCH_SIZE=auto: on a GPU one short decode leaves the device mostly idle (H200, base: 32
# interims batched 3.5x faster than one by one). On 2 CPU cores batches of 4 still decoded 1.7-3x
# faster than one by one, and in a room with 4 speakers words reached the screen at p95 5.7 s
# instead of 13.7 s (bench/captions_bench.py): a lone request is never held back, so one speaker
# sees no difference.
AUTO_BATCH_SIZE_CUDA = 8
AUTO_BATCH_SIZE_CPU = 4
MAX_BATCH_SIZE = 64
# ASR_DECODE_WORKERS: decodes side by side, one core each. Whisper's small matrices split poorly
# across threads: on 2 cores, 8 interims took 1.76 s as two 1-thread workers and 2.67 s as one
# 2-thread worker (one decode alone: 0.47 s vs 0.41 s), and four speakers went from p95 3.1-4.1 s
# to 2.1-4.1 s. ``auto`` was 1 for a while: with 2 workers end-to-end tests failed in 2 of 4 CI
# runs. Cause: a live agent's heartbeats reached the server more than 5 s apart (one attribute
# update waited 5 s for the server) and the worker's own sentinel replaced it (fixed in
# agent.room.dispatch and RoomSession._heartbeat).
MAX_AUTO_CPU_WORKERS = 2
MAX_DECODE_WORKERS = 16


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def parse_language(value: str, variable: str = "WHISPER_LANGUAGE") -> str | None:
    """``auto`` (or empty) means detect; otherwise an ISO 639-1 code Whisper knows."""
    value = value.strip().lower()
    if value in {"", "auto"}:
        return None
    from faster_whisper.tokenizer import _LANGUAGE_CODES

    if not _LANG_RE.match(value) or value not in _LANGUAGE_CODES:
        raise ConfigError(f"{variable}={value!r} is invalid: expected auto or a language code like fr, en")
    return value


FINAL_POLICIES = ("keep", "redecode", "merge")
CONTEXT_ALIGNS = ("text", "time")


@dataclass(frozen=True)
class AsrSettings:
    model: str = "base"
    device: str = "auto"
    compute_type: str = "default"
    language: str | None = None
    languages: tuple[str, ...] = ()
    cpu_threads: int = 0
    beam_size: int = 1
    final_beam_size: int = 5
    initial_prompt: str = ""
    hotwords: str = ""
    chunk_seconds: float = 0.5
    window_min_seconds: float = 10.0
    trim_seconds: float = 6.0
    max_buffer_seconds: float = 15.0
    vad_threshold: float = 0.5
    vad_min_silence_ms: int = 500
    # What an utterance's final decode may change: "redecode" replaces the words interim
    # agreement committed, "keep" only adds words after them, "merge" decides each differing
    # stretch by word confidence. bench/conversation_bench.py, 4 conversations x 3 timings (348
    # words): redecode 21.7 % pooled WER, merge 22.5 %, keep 22.7 % (keep retains hallucinations
    # the interims agreed on, "I hate it"; it does make Visio's append view equal the finals).
    final_policy: str = "redecode"
    # Seconds of this stream's earlier speech (its last finals' audio) decoded before an
    # utterance's final, whose words there are then dropped: short utterances heard alone are
    # where streaming loses words that one offline pass over merged speech gets (issue 18).
    final_context_seconds: float = 0.0
    # How the context's words are told from the utterance's: "text" matches the decode against
    # the context's known finals and decodes the utterance alone when they disagree (overlapping
    # voices); "time" drops the words whose middle falls before the cut (Whisper misplaces some).
    final_context_align: str = "text"
    batch_size: int | None = None  # decodes of different streams per model call; None = auto
    decode_workers: int | None = None  # decodes run side by side; None = auto

    def batch_size_for(self, device: str) -> int:
        """The batch size on ``device`` (the decoder's resolved one): ``auto`` is
        ``AUTO_BATCH_SIZE_CUDA`` on cuda and ``AUTO_BATCH_SIZE_CPU`` elsewhere."""
        if self.batch_size is not None:
            return self.batch_size
        return AUTO_BATCH_SIZE_CUDA if device == "cuda" else AUTO_BATCH_SIZE_CPU

    def workers_for(self, device: str) -> int:
        """Decoder threads on ``device``: ``auto`` is one on a GPU and
        up to ``MAX_AUTO_CPU_WORKERS`` (one per core, see above) on a CPU."""
        if self.decode_workers is not None:
            return self.decode_workers
        return 1 if device == "cuda" else max(1, min(MAX_AUTO_CPU_WORKERS, available_cores()))

    def threads_per_worker(self, workers: int) -> int:
        """CPU threads of each decoder worker: ``WHISPER_CPU_THREADS``, or the cores shared out."""
        return self.cpu_threads or max(1, min(4, available_cores() // max(1, workers)))

    @classmethod
    def from_env(cls) -> AsrSettings:
        return cls(
            model=env_str("WHISPER_MODEL", "base") or "base",
            device=env_choice("WHISPER_DEVICE", "auto", ("auto", "cpu", "cuda")),
            compute_type=env_str("WHISPER_COMPUTE_TYPE", "default") or "default",
            language=parse_language(os.environ.get("WHISPER_LANGUAGE", "auto")),
            languages=tuple(
                code
                for item in env_str("WHISPER_LANGUAGES", "").split(",")
                if (code := parse_language(item, "WHISPER_LANGUAGES"))
            ),
            cpu_threads=env_int("WHISPER_CPU_THREADS", 0, minimum=0, maximum=256),
            beam_size=env_int("WHISPER_BEAM_SIZE", 1, minimum=1, maximum=10),
            final_beam_size=env_int("WHISPER_FINAL_BEAM_SIZE", 5, minimum=1, maximum=10),
            initial_prompt=env_str("WHISPER_INITIAL_PROMPT", ""),
            hotwords=env_str("WHISPER_HOTWORDS", ""),
            chunk_seconds=env_float("ASR_CHUNK_SECONDS", 0.5, minimum=0.1, maximum=10.0),
            window_min_seconds=env_float("ASR_WINDOW_MIN_SECONDS", 10.0, minimum=0.0, maximum=30.0),
            trim_seconds=env_float("ASR_TRIM_SECONDS", 6.0, minimum=1.0, maximum=25.0),
            max_buffer_seconds=env_float("ASR_MAX_BUFFER_SECONDS", 15.0, minimum=3.0, maximum=28.0),
            vad_threshold=env_float("VAD_THRESHOLD", 0.5, minimum=0.05, maximum=0.95),
            vad_min_silence_ms=env_int("VAD_MIN_SILENCE_MS", 500, minimum=100, maximum=5000),
            final_policy=env_choice("ASR_FINAL_POLICY", "redecode", FINAL_POLICIES),
            final_context_seconds=env_float("ASR_FINAL_CONTEXT_SECONDS", 0.0, minimum=0.0, maximum=20.0),
            final_context_align=env_choice("ASR_FINAL_CONTEXT_ALIGN", "text", CONTEXT_ALIGNS),
            batch_size=env_auto_int("ASR_BATCH_SIZE", minimum=1, maximum=MAX_BATCH_SIZE),
            decode_workers=env_auto_int("ASR_DECODE_WORKERS", minimum=1, maximum=MAX_DECODE_WORKERS),
        )
