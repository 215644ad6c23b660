"""Diarization and second-pass benchmark on the real recordings available offline.

- DER (pyannote.metrics, no collar, overlap scored) and STM word-label agreement of the offline
  pipeline on pyannote's sample and on ``build_meeting()`` (the sample's utterances laid end to end
  with gaps, so speakers come back after silences: this exercises cross-window relinking);
- diarization time per minute of audio (wall clock, this machine);
- WER of the minutes' transcript without the second pass (the live captions: the streaming engine
  via ``python -m agent transcribe --stream``) and with it (``MINUTES_WHISPER_MODEL`` offline, beam 5,
  aligned back onto the live segments).

Usage: python bench/diarize_bench.py [--live-model tiny.en,base] [--second-model base] [--repeats 2]
Writes a JSON report to artifacts/diarize_bench.json (and prints it).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from agent.audio.decode import load_audio  # noqa: E402
from agent.diarize.api import diarization_error_rate, letter_labels, run_pipeline, word_label_agreement  # noqa: E402
from agent.samples import build_meeting, pyannote_sample, word_error_rate  # noqa: E402


def diarize_scores(pipeline, wav: Path, reference_turns, utterances, uri: str) -> dict:
    audio = load_audio(wav)
    start = time.perf_counter()
    turns = letter_labels(run_pipeline(pipeline, audio, uri=uri))
    elapsed = time.perf_counter() - start
    minutes = len(audio) / 16000 / 60
    scores = diarization_error_rate(reference_turns, turns)
    return {
        "audio_s": round(len(audio) / 16000, 2),
        "speakers_found": len({t.speaker for t in turns}),
        "der": round(scores["der"], 4),
        "false_alarm": round(scores["false_alarm"], 4),
        "missed": round(scores["missed"], 4),
        "confusion": round(scores["confusion"], 4),
        "der_collar_0.25": round(diarization_error_rate(reference_turns, turns, collar=0.25)["der"], 4),
        "word_label_agreement": round(word_label_agreement(utterances, turns), 4),
        "seconds_per_audio_minute": round(elapsed / minutes, 2),
    }


def live_transcript(wav: Path, model: str) -> dict:
    cmd = [sys.executable, "-m", "agent", "transcribe", str(wav), "--stream", "--model", model,
           "--format", "json", "--language", "en"]  # fmt: skip
    env = dict(os.environ, ASR_SPEED=os.environ.get("ASR_SPEED", ""))
    start = time.perf_counter()
    out = subprocess.run(
        cmd, capture_output=True, text=True, check=True, cwd=REPO, env=env, timeout=1800
    ).stdout
    data = json.loads(out)
    data["_elapsed"] = time.perf_counter() - start
    return data


def second_pass_wer(wav: Path, live: dict, reference: str, model: str, beam: int) -> dict:
    from agent.audio.keep import SessionAudio
    from agent.diarize.second_pass import second_pass
    from agent.diarize.settings import SecondPassSettings
    from agent.timebase import Word
    from agent.transcript.segment import Segment

    t0 = 1_700_000_000.0
    with tempfile.TemporaryDirectory() as tmp:
        keeper = SessionAudio("bench", tmp).track("TR", "speaker", "Speaker")
        keeper.push(load_audio(wav), t0)
        meta = keeper.close()
        segments = [
            Segment(f"s{i}", "speaker", "Speaker", t0 + s["start"], t0 + s["end"], s["text"], "en", "TR",
                    tuple(Word(w["text"], t0 + w["start"], t0 + w["end"]) for w in s["words"]))
            for i, s in enumerate(live["segments"])
        ]  # fmt: skip
        start = time.perf_counter()
        out = asyncio.run(second_pass(meta.path, segments, SecondPassSettings(model=model, beam_size=beam)))
        elapsed = time.perf_counter() - start
    live_text = " ".join(s["text"] for s in live["segments"])
    minutes_text = " ".join(s.text for s in out)
    return {
        "wer_live": round(word_error_rate(reference, live_text), 4),
        "wer_second_pass": round(word_error_rate(reference, minutes_text), 4),
        "second_pass_s": round(elapsed, 2),
        "segments_kept": sum(1 for s in out if not s.segment_id.count(".sp")),
        "segments_added": sum(1 for s in out if ".sp" in s.segment_id),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--live-model", default="tiny.en,base", help="comma-separated live models")
    parser.add_argument("--second-model", default="base")
    parser.add_argument("--beam", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--no-asr", action="store_true", help="diarization only")
    parser.add_argument("--output", default=str(REPO / "artifacts" / "diarize_bench.json"))
    args = parser.parse_args()

    from agent.diarize.pipeline import SegmentationOnlyDiarization

    sample = pyannote_sample()
    tmp = Path(tempfile.mkdtemp())
    meeting = build_meeting(tmp / "meeting.wav", repeats=args.repeats, gap=3.0)
    load_start = time.perf_counter()
    pipeline = SegmentationOnlyDiarization()
    report: dict = {
        "pipeline": "offline segmentation-only (pyannote SpeakerDiarization + segmentation-3.0 MIT weights)",
        "pipeline_load_s": round(time.perf_counter() - load_start, 2),
        "cpu_count": os.cpu_count(),
        "load_average": os.getloadavg()[0],
    }
    report["sample"] = diarize_scores(pipeline, sample.wav, sample.turns, sample.utterances, "sample")
    report["meeting"] = diarize_scores(
        pipeline, meeting.wav, meeting.utterances, meeting.utterances, "meeting"
    )
    no_relink = SegmentationOnlyDiarization(relink=False)
    report["meeting_without_relinking"] = diarize_scores(
        no_relink, meeting.wav, meeting.utterances, meeting.utterances, "meeting"
    )
    print(json.dumps(report, indent=1), flush=True)
    if not args.no_asr:
        recordings = (
            ("sample", sample.wav, sample.reference_text()),
            ("meeting", meeting.wav, meeting.reference_text()),
        )
        for live_model in args.live_model.split(","):
            for name, wav, ref in recordings:
                live = live_transcript(wav, live_model)
                entry = second_pass_wer(wav, live, ref, args.second_model, args.beam)
                entry.update(live_model=live_model, second_model=args.second_model, beam=args.beam)
                report[f"asr_{name}_live_{live_model}"] = entry
                print(name, json.dumps(entry), flush=True)
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
