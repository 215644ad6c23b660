"""Fixtures for the diarization tests: the optional extra (never skipped silently in CI), the sample."""

from __future__ import annotations

import os

import pytest

from agent.samples import Sample, SampleUnavailableError, pyannote_sample


def _missing(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true: run scripts/install-diarization.sh)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def diarization_extra() -> None:
    from agent.diarize.pipeline import DiarizationUnavailableError, require_extra

    try:
        require_extra()
    except DiarizationUnavailableError as exc:
        _missing(str(exc))


@pytest.fixture(scope="session")
def sample() -> Sample:
    try:
        return pyannote_sample()
    except SampleUnavailableError as exc:
        _missing(str(exc))
        raise


@pytest.fixture(scope="session")
def sample_audio(sample: Sample):
    from agent.audio.decode import load_audio

    return load_audio(sample.wav)


@pytest.fixture(scope="session")
def offline_pipeline(diarization_extra: None):
    from agent.diarize.pipeline import SegmentationOnlyDiarization

    return SegmentationOnlyDiarization()
