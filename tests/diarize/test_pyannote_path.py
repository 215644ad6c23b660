"""The real pyannote.audio path on pyannote's own sample: model conversion, DER, word labels, outputs."""

from __future__ import annotations

import numpy as np
import pytest

from agent.diarize.api import (
    SpeakerTurn,
    diarization_error_rate,
    label_segments,
    label_transcript,
    letter_labels,
    run_pipeline,
    to_rttm,
    word_label_agreement,
)
from agent.samples import parse_rttm

# What the offline pipeline reaches on the sample (measured: DER 6.7 %, words 96 %); the issue's
# targets are DER <= 25 % and >= 85 % of words.
DER_TARGET = 0.25
WORDS_TARGET = 0.85


@pytest.fixture(scope="module")
def sample_turns(offline_pipeline, sample_audio):
    return letter_labels(run_pipeline(offline_pipeline, sample_audio, uri="sample"))


def test_pyannet_matches_onnx(diarization_extra, sample_audio):
    import torch

    from agent.diarize.pyannote_model import load_segmentation_model
    from agent.diarize.segmentation import OnnxSegmentation

    chunk = sample_audio[:160_000]
    model = load_segmentation_model()
    assert type(model).__module__.startswith("pyannote.audio")
    with torch.inference_mode():
        ours = model(torch.from_numpy(chunk.copy())[None, None]).numpy()
    _, reference = OnnxSegmentation().windows(chunk)
    assert ours.shape == reference.shape == (1, 589, 7)
    assert np.abs(ours - reference).max() < 1e-3


def test_der_and_word_labels_on_sample(sample, sample_turns):
    assert sorted({t.speaker for t in sample_turns}) == ["A", "B"]
    scores = diarization_error_rate(sample.turns, sample_turns)
    agreement = word_label_agreement(sample.utterances, sample_turns)
    print(f"DER {scores['der']:.3f} (fa {scores['false_alarm']:.3f}, miss {scores['missed']:.3f},"
          f" conf {scores['confusion']:.3f}); words {agreement:.3f}")  # fmt: skip
    assert scores["der"] <= DER_TARGET
    assert agreement >= WORDS_TARGET


def test_rttm_round_trip(sample_turns):
    text = to_rttm(sample_turns, uri="my sample")
    parsed = parse_rttm(text)
    assert len(parsed) == len(sample_turns)
    assert parsed[0].speaker == sample_turns[0].speaker
    assert parsed[0].start == pytest.approx(sample_turns[0].start, abs=1e-3)
    assert text.startswith("SPEAKER my_sample 1 ")


def test_label_transcript_splits_at_speaker_change():
    from agent.timebase import Word
    from agent.transcript.document import Transcript
    from agent.transcript.segment import Segment
    from agent.transcript.writers import render

    words = (Word("hello", 0.0, 0.4), Word("there", 0.5, 0.9), Word("hi", 1.2, 1.6))
    segment = Segment(start=0.0, end=1.6, text="hello there hi", words=words)
    transcript = Transcript(segments=[segment], language="en")
    turns = [SpeakerTurn(0.0, 1.0, "A"), SpeakerTurn(1.1, 2.0, "B")]
    label_transcript(transcript, turns, participant="Salle Jaurès")
    assert [(s.speaker, s.text) for s in transcript.segments] == [
        ("Salle Jaurès (A)", "hello there"),
        ("Salle Jaurès (B)", "hi"),
    ]
    assert "Salle Jaurès (B)" in render(transcript, "json")


def test_label_live_segments():
    from agent.timebase import Word
    from agent.transcript.segment import Segment

    t0 = 1_700_000_000.0
    seg = Segment(
        segment_id="s1", speaker_identity="room-1", speaker_name="Salle Jaurès", start=t0 + 1, end=t0 + 3,
        text="yes no", language="fr", track_id="TR_1",
        words=(Word("yes", t0 + 1.0, t0 + 1.4), Word("no", t0 + 2.5, t0 + 2.9)),
    )  # fmt: skip
    out = label_segments([seg], [SpeakerTurn(0.9, 2.0, "A"), SpeakerTurn(2.2, 3.5, "B")], start_wall=t0)
    assert [(s.speaker_name, s.speaker_identity, s.text) for s in out] == [
        ("Salle Jaurès (A)", "room-1#A", "yes"),
        ("Salle Jaurès (B)", "room-1#B", "no"),
    ]
    assert len({s.segment_id for s in out}) == 2


def test_diarize_file_and_room_hook(diarization_extra, sample, tmp_path, monkeypatch):
    """A kept shared-mic track goes through DIARIZATION=auto at room end and comes out labelled."""
    import asyncio

    from agent.audio.keep import SessionAudio
    from agent.diarize import diarize_file
    from agent.diarize.settings import DiarizationSettings, SecondPassSettings
    from agent.meeting.kept_audio import finalize_session
    from agent.transcript.segment import Segment

    turns = diarize_file(sample.wav)
    assert {s for _, _, s in turns} == {"A", "B"}

    from agent.audio.decode import load_audio

    audio = load_audio(sample.wav)
    t0 = 1_700_000_000.0
    keeper = SessionAudio("RM_room", tmp_path).track("TR_room", "room-1", "Salle Jaurès")
    for i in range(0, len(audio), 480):
        keeper.push(audio[i : i + 480], t0 + i / 16000)
    keeper.close()
    live = [
        Segment(f"u{i}", "room-1", "Salle Jaurès", t0 + u.start, t0 + u.end, u.text, "en", "TR_room")
        for i, u in enumerate(sorted(sample.utterances, key=lambda u: u.start))
    ]
    out = asyncio.run(
        finalize_session("RM_room", live, tmp_path, DiarizationSettings(mode="auto"), SecondPassSettings())
    )
    names = {s.speaker_name for s in out}
    assert names == {"Salle Jaurès (A)", "Salle Jaurès (B)"}
    # each STM speaker ends up under one label (most of their utterances)
    for speaker in sample.speakers:
        ordered = sorted(sample.utterances, key=lambda u: u.start)
        labels = [o.speaker_name for o, u in zip(out, ordered, strict=False) if u.speaker == speaker]
        assert max(labels.count(n) for n in names) >= 0.8 * len(labels)


def test_cli_render_labelled():
    from agent.cli.diarize import render_labelled
    from agent.timebase import Word
    from agent.transcript.document import Transcript
    from agent.transcript.segment import Segment

    words = (Word("hello", 0.0, 0.4), Word("hi", 1.2, 1.6))
    segment = Segment(start=0.0, end=1.6, text="hello hi", words=words)
    transcript = Transcript(segments=[segment], language="en")
    turns = [SpeakerTurn(0.0, 1.0, "A"), SpeakerTurn(1.1, 2.0, "B")]
    label_transcript(transcript, turns)
    vtt = render_labelled(transcript, turns, "vtt")
    assert "<v A>hello" in vtt and "<v B>hi" in vtt
    assert render_labelled(transcript, turns, "rttm", "/x/call.wav").splitlines()[1] == (
        "SPEAKER call 1 1.100 0.900 <NA> <NA> B <NA> <NA>"
    )
    with pytest.raises(ValueError):
        render_labelled(transcript, None, "rttm")


def test_onnx_backend_gives_the_same_turns(diarization_extra, sample_audio, sample_turns):
    from agent.diarize.pipeline import SegmentationOnlyDiarization

    turns = letter_labels(run_pipeline(SegmentationOnlyDiarization(backend="onnx"), sample_audio))
    assert diarization_error_rate(sample_turns, turns)["der"] < 0.02


def test_speakers_coming_back_after_silence_keep_their_label(offline_pipeline, tmp_path):
    """build_meeting(): the call's turns laid out with 3 s gaps, so a speaker often returns after
    more than a segmentation window without speech; relinking by voice keeps two speakers
    (measured: DER 12.4 %, most of it the reference's coarse utterance bounds; words 99 %)."""
    from agent.audio.decode import load_audio
    from agent.samples import build_meeting

    meeting = build_meeting(tmp_path / "meeting.wav", repeats=2, gap=3.0)
    turns = letter_labels(run_pipeline(offline_pipeline, load_audio(meeting.wav)))
    assert len({t.speaker for t in turns}) == 2
    assert diarization_error_rate(meeting.utterances, turns)["der"] <= DER_TARGET
    assert word_label_agreement(meeting.utterances, turns) >= WORDS_TARGET
