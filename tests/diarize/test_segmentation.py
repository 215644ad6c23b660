"""DIARIZATION=auto's detector: segmentation-3.0 (ONNX, no torch) on real and synthetic speech."""

from __future__ import annotations

import subprocess
import sys

import pytest

from agent.audio.decode import load_audio
from agent.diarize.segmentation import FRAMES_PER_WINDOW, OnnxSegmentation, detect_multi_speaker


def test_model_shape(sample_audio):
    starts, logp = OnnxSegmentation().windows(sample_audio[: 16000 * 12], step_s=2.0)
    assert logp.shape[1:] == (FRAMES_PER_WINDOW, 7)
    assert list(starts) == [0.0, 2.0]


def test_two_voice_call_is_multi_speaker(sample_audio):
    report = detect_multi_speaker(sample_audio)
    assert report.multi_speaker, report.reason()
    assert report.changes >= 2


def test_one_voice_is_not():
    from agent.samples import SampleUnavailableError, synth_speech

    try:
        wav = synth_speech(
            "Good morning everyone. Today I will present the budget for next year, then the schedule"
            " of the works on the main building, and finally the people who will run each part of the"
            " project. Please keep your questions for the end of the presentation. Thank you."
        )
    except SampleUnavailableError as exc:
        pytest.skip(str(exc))
    report = detect_multi_speaker(load_audio(wav))
    assert not report.multi_speaker, report.reason()


def test_captions_only_import_stays_light():
    code = (
        "import sys, agent.diarize, agent.audio.keep;"
        " print(sorted(m for m in ('torch', 'pyannote.audio') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
