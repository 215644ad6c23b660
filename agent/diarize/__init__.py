"""Who said what on shared microphones (pyannote.audio) and the minutes' second pass.

Importing this package never imports torch: the heavy parts load on first use and need the
optional ``diarization`` extra (``scripts/install-diarization.sh``). ``DIARIZATION=auto`` detection
(``agent.diarize.segmentation``) only needs onnxruntime.

- ``diarize_file(path) -> [(start, end, speaker)]``, ``diarize_audio``, ``to_rttm`` / ``write_rttm``
- ``label_transcript`` / ``diarize_transcript`` for the CLI, ``label_segments`` for live segments
- ``second_pass(track_audio_path, live_segments, settings)`` (async)
"""

from agent.diarize.api import (
    SpeakerTurn,
    diarization_error_rate,
    diarize_audio,
    diarize_file,
    diarize_transcript,
    label_segments,
    label_transcript,
    participant_label,
    to_rttm,
    word_label_agreement,
    write_rttm,
)
from agent.diarize.second_pass import second_pass
from agent.diarize.settings import DiarizationSettings, SecondPassSettings

__all__ = [
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
]
