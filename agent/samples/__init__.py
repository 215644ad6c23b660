"""Speech for the demo, tests and benchmarks, from packages and local tools only (no model hub).

- ``pyannote_sample()``: 30 s of real two-speaker English with STM transcript and RTTM turns.
- ``synth_speech()``: espeak-ng speech with known words, English or French.
- ``tts_clip()``: six neural-TTS clips (English, French) from pytest-audioeval's wheel, which
  Whisper's language detection hears as clearly as real speech (espeak's French it does not).
- ``build_meeting()`` / ``build_monologue()``: longer recordings with an exact reference.
- ``normalize_for_wer()`` / ``word_error_rate()``: the one WER convention used everywhere.
"""

from agent.samples.cache import samples_cache_dir
from agent.samples.compose import Recording, build_meeting, build_monologue, utterance_clips
from agent.samples.pyannote import (
    Sample,
    Turn,
    Utterance,
    parse_rttm,
    parse_stm,
    pyannote_sample,
)
from agent.samples.synth import espeak_binary, synth_speech
from agent.samples.text import normalize_for_wer, word_error_rate
from agent.samples.tts_clips import TtsClip, tts_clip, tts_clips
from agent.samples.wheels import SampleUnavailableError

__all__ = [
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
]
