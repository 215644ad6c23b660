"""``python -m agent transcribe`` as a user runs it: a subprocess, real model (tiny.en), real files."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

from agent.audio import load_audio, write_wav
from agent.samples import normalize_for_wer, synth_speech, word_error_rate
from tests.cli.conftest import ENGLISH

VTT_TIME = re.compile(r"^\d\d:\d\d:\d\d\.\d{3} --> \d\d:\d\d:\d\d\.\d{3}$")
SRT_TIME = re.compile(r"^\d\d:\d\d:\d\d,\d{3} --> \d\d:\d\d:\d\d,\d{3}$")
KEY_WORDS = {"quick", "brown", "fox", "lazy", "dog", "hello", "world", "test"}


def ok(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    return proc.stdout


def assert_one_line_error(proc: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert proc.returncode == 1, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("greffier: ")
    for needle in needles:
        assert needle in lines[0]
    assert proc.stdout == ""


@pytest.fixture(scope="module")
def json_result(english_wav: Path, run_cli) -> dict:
    return json.loads(ok(run_cli(english_wav, "--format", "json")))


def test_text_output_has_the_words(english_wav: Path, run_cli) -> None:
    words = set(normalize_for_wer(ok(run_cli(english_wav))).split())
    assert len(KEY_WORDS & words) >= 6, words
    assert word_error_rate(ENGLISH, ok(run_cli(english_wav))) < 0.35


def test_json_structure(json_result: dict) -> None:
    assert json_result["language"] == "en"
    assert json_result["model"] == "tiny.en"
    assert json_result["mode"] == "offline"
    assert json_result["duration"] == pytest.approx(5.8, abs=1.5)
    assert json_result["stats"]["real_time_factor"] > 0
    words = [w for seg in json_result["segments"] for w in seg["words"]]
    assert len(words) >= 10
    previous_end = 0.0
    for word in words:
        assert set(word) == {"start", "end", "text", "probability"}
        assert 0.0 <= word["probability"] <= 1.0
        assert word["start"] <= word["end"] <= json_result["duration"] + 0.5
        assert word["start"] >= previous_end - 0.05
        previous_end = word["end"]
    for seg in json_result["segments"]:
        assert seg["start"] <= seg["words"][0]["start"] + 0.05
        assert seg["text"]
    assert "fox" in json_result["text"].lower()


def test_vtt_output(english_wav: Path, run_cli) -> None:
    lines = ok(run_cli(english_wav, "--format", "vtt")).splitlines()
    assert lines[0] == "WEBVTT"
    timings = [line for line in lines if "-->" in line]
    assert timings and all(VTT_TIME.match(line) for line in timings)


def test_srt_output_to_file_by_suffix(english_wav: Path, run_cli, tmp_path: Path) -> None:
    out = tmp_path / "captions.srt"
    assert ok(run_cli(english_wav, "--output", out)) == ""
    blocks = out.read_text().strip().split("\n\n")
    for number, block in enumerate(blocks, start=1):
        lines = block.splitlines()
        assert lines[0] == str(number)
        assert SRT_TIME.match(lines[1])
        assert lines[2].strip()


def test_mp3_48k_stereo_input(english_wav: Path, run_cli, tmp_path: Path) -> None:
    """Resampling and downmixing through the real command (espeak -> 48 kHz stereo mp3)."""
    import av

    audio = load_audio(english_wav, 48_000)
    path = tmp_path / "speech.mp3"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libmp3lame", rate=48_000, layout="stereo")
        stereo = np.ascontiguousarray(np.stack([audio, audio]))
        frame = av.AudioFrame.from_ndarray(stereo, format="fltp", layout="stereo")
        frame.sample_rate = 48_000
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            out.mux(packet)
    words = set(normalize_for_wer(ok(run_cli(path))).split())
    assert len(KEY_WORDS & words) >= 6, words


def test_silence_gives_no_text(run_cli, tmp_path: Path) -> None:
    path = write_wav(tmp_path / "silence.wav", np.zeros(16_000 * 5, np.float32))
    assert ok(run_cli(path)) == ""


def test_white_noise_gives_no_text(run_cli, tmp_path: Path) -> None:
    noise = np.random.default_rng(0).normal(0, 0.1, 16_000 * 5).astype(np.float32)
    assert ok(run_cli(write_wav(tmp_path / "noise.wav", noise))) == ""


def test_zero_byte_file(run_cli, tmp_path: Path) -> None:
    path = tmp_path / "empty.wav"
    path.touch()
    assert_one_line_error(run_cli(path), str(path), "empty")


def test_corrupt_file(run_cli, tmp_path: Path) -> None:
    path = tmp_path / "corrupt.mp3"
    path.write_bytes(np.random.default_rng(2).integers(0, 256, 50_000, dtype=np.uint8).tobytes())
    assert_one_line_error(run_cli(path), str(path))


def test_missing_file(run_cli, tmp_path: Path) -> None:
    assert_one_line_error(run_cli(tmp_path / "nope.wav"), "no such file")


def test_unwritable_output(english_wav: Path, run_cli, tmp_path: Path) -> None:
    assert_one_line_error(run_cli(english_wav, "-o", tmp_path / "no" / "dir.txt"), "cannot write")


def test_bad_language_is_a_config_error(english_wav: Path, run_cli) -> None:
    proc = run_cli(english_wav, "--language", "klingon")
    assert proc.returncode == 2
    assert "--language" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_bad_model_setting_is_a_config_error(english_wav: Path, run_cli) -> None:
    proc = run_cli(english_wav, env={"WHISPER_MODEL": "/nowhere/model"})
    assert proc.returncode == 2
    assert "WHISPER_MODEL" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_french_with_the_multilingual_base_model(run_cli) -> None:
    """Language detection and French words need the multilingual base model (not tiny.en)."""
    text = "Bonjour à tous. La réunion commence maintenant. Nous allons parler du budget."
    path = synth_speech(text, "fr")
    result = json.loads(ok(run_cli(path, "-f", "json", env={"WHISPER_MODEL": "base"})))
    assert result["language"] == "fr"
    words = set(normalize_for_wer(result["text"], "fr").split())
    assert {"bonjour", "réunion", "budget"} <= words, words
