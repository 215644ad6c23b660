"""Diarization and second-pass settings from the environment (documented in README.md)."""

from __future__ import annotations

from dataclasses import dataclass

from agent.config import env_bool, env_choice, env_int, env_str

MODES = ("auto", "on", "off")


@dataclass(frozen=True)
class DiarizationSettings:
    """``DIARIZATION``: ``auto`` diarizes tracks that segmentation finds carry several voices,
    ``on`` diarizes every track, ``off`` never. ``DIARIZATION_PIPELINE``: a local pipeline folder
    or hub id (``offline`` forces the segmentation-only pipeline); ``HF_TOKEN`` for gated hub
    pipelines. ``DIARIZATION_MAX_SPEAKERS``: cap per track (0 = no cap).
    ``DIARIZATION_BACKEND``: ``torch`` (default) runs the offline pipeline's PyanNet forward pass
    on PyTorch, ``onnx`` on onnxruntime (same weights and outputs). ``DIARIZATION_THREADS``: CPU
    threads for it (default 1: room-end work shares the CPU with live captions, and torch with
    more threads than free cores slowed a 2-minute file from ~6 s to minutes here)."""

    mode: str = "auto"
    pipeline: str = ""
    token: str = ""
    max_speakers: int = 0
    backend: str = "torch"
    threads: int = 1

    @classmethod
    def from_env(cls) -> DiarizationSettings:
        return cls(
            mode=env_choice("DIARIZATION", "auto", MODES),
            pipeline=env_str("DIARIZATION_PIPELINE", ""),
            token=env_str("HF_TOKEN", ""),
            max_speakers=env_int("DIARIZATION_MAX_SPEAKERS", 0, minimum=0, maximum=50),
            backend=env_choice("DIARIZATION_BACKEND", "torch", ("torch", "onnx")),
            threads=env_int("DIARIZATION_THREADS", 1, minimum=1, maximum=64),
        )


@dataclass(frozen=True)
class SecondPassSettings:
    """``MINUTES_WHISPER_MODEL``: the model that re-transcribes kept tracks at room end (empty =
    no second pass). ``MINUTES_WHISPER_BEAM``: beam size (default 5). ``MINUTES_LANGUAGE``:
    force a language (default: the live segments' language, else detect)."""

    model: str = ""
    beam_size: int = 5
    language: str = ""
    keep_audio: bool = False

    @property
    def enabled(self) -> bool:
        return bool(self.model)

    @classmethod
    def from_env(cls) -> SecondPassSettings:
        return cls(
            model=env_str("MINUTES_WHISPER_MODEL", ""),
            beam_size=env_int("MINUTES_WHISPER_BEAM", 5, minimum=1, maximum=20),
            language=env_str("MINUTES_LANGUAGE", ""),
            keep_audio=env_bool("KEEP_AUDIO", False),
        )


def audio_needed() -> bool:
    """Keep tracks' audio only when something will use it: diarization or a second pass."""
    return DiarizationSettings.from_env().mode != "off" or SecondPassSettings.from_env().enabled
