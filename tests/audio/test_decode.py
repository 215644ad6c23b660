"""load_audio / AudioReader: every common format and rate to 16 kHz mono float32, clear errors."""

from __future__ import annotations

import tracemalloc
import wave
from pathlib import Path

import av
import numpy as np
import pytest

from agent.audio import (
    AudioDecodeError,
    AudioReader,
    iter_audio,
    load_audio,
    probe_audio,
    write_wav,
)
from tests.audio.audio_helpers import encode, sox, tone


def dominant_frequency(audio: np.ndarray, rate: int = 16_000) -> float:
    spectrum = np.abs(np.fft.rfft(audio * np.hanning(len(audio))))
    return float(np.argmax(spectrum) * rate / len(audio))


def check_tone(audio: np.ndarray, seconds: float, freq: float = 440.0, tolerance: float = 0.1):
    assert audio.dtype == np.float32
    assert audio.ndim == 1
    assert abs(len(audio) / 16_000 - seconds) <= tolerance
    assert float(np.abs(audio).max()) <= 1.0
    assert abs(dominant_frequency(audio) - freq) < 3.0


@pytest.mark.parametrize("rate", [8_000, 16_000, 22_050, 44_100, 48_000])
def test_wav_any_rate_is_resampled_to_16k(audio_dir: Path, rate: int) -> None:
    path = write_wav(audio_dir / f"tone-{rate}.wav", tone(2.0, rate), rate)
    audio = load_audio(path)
    check_tone(audio, 2.0, tolerance=0.01)
    assert 0.45 < float(np.abs(audio).max()) < 0.55


def test_other_sample_rate_on_request(audio_dir: Path) -> None:
    path = write_wav(audio_dir / "tone-48k.wav", tone(1.0, 48_000), 48_000)
    assert len(load_audio(path, sample_rate=8_000)) == 8_000


@pytest.mark.parametrize(
    ("name", "codec", "container"),
    [
        ("tone.mp3", "libmp3lame", None),
        ("tone.opus", "libopus", "ogg"),
        ("tone.flac", "flac", None),
        ("tone.m4a", "aac", "mp4"),
        ("tone.webm", "libopus", "webm"),
    ],
)
def test_compressed_formats_48k_stereo(audio_dir: Path, name: str, codec: str, container) -> None:
    signal = tone(2.0, 48_000)
    path = encode(audio_dir / name, np.stack([signal, signal]), 48_000, codec, container)
    check_tone(load_audio(path), 2.0)


def test_ogg_vorbis_from_sox(audio_dir: Path, need_sox: None) -> None:
    path = audio_dir / "tone.ogg"
    sox("-n", "-r", "44100", "-c", "2", str(path), "synth", "1.5", "sine", "440", "vol", "0.5")
    check_tone(load_audio(path), 1.5)


def test_8k_telephone_wav_from_sox(audio_dir: Path, need_sox: None) -> None:
    path = audio_dir / "phone.wav"
    sox("-n", "-r", "8000", "-b", "16", "-e", "u-law", str(path), "synth", "1", "sine", "440")
    check_tone(load_audio(path), 1.0, tolerance=0.01)
    assert probe_audio(path).source_rate == 8000


def test_stereo_is_averaged_not_summed(audio_dir: Path) -> None:
    """A full-scale in-phase stereo signal must not clip (FFmpeg's default matrix would)."""
    loud = tone(1.0, 48_000, amplitude=0.9)
    both = load_audio(write_wav(audio_dir / "loud-stereo.wav", np.stack([loud, loud], 1), 48_000))
    assert 0.85 < float(np.abs(both).max()) <= 0.91
    left_only = np.stack([loud, np.zeros_like(loud)], 1)
    half = load_audio(write_wav(audio_dir / "left-only.wav", left_only, 48_000))
    assert 0.40 < float(np.abs(half).max()) < 0.50


def test_clipped_input_stays_in_range(audio_dir: Path) -> None:
    square = np.clip(tone(1.0, 16_000, amplitude=4.0), -1.0, 1.0)  # hard-clipped int16 wav
    audio = load_audio(write_wav(audio_dir / "clipped.wav", square, 16_000))
    assert float(np.abs(audio).max()) <= 1.0
    assert float(np.mean(np.abs(audio) > 0.99)) > 0.5
    # float WAV can carry samples beyond full scale: they are clipped to [-1, 1]
    hot = encode(audio_dir / "hot.wav", tone(1.0, 16_000, amplitude=3.0)[None], 16_000, "pcm_f32le")
    audio = load_audio(hot)
    assert float(np.abs(audio).max()) == pytest.approx(1.0)


def test_probe_reports_header(audio_dir: Path) -> None:
    path = write_wav(audio_dir / "probe.wav", np.stack([tone(3.0, 44_100)] * 2, 1), 44_100)
    info = probe_audio(path)
    assert info.duration == pytest.approx(3.0, abs=0.01)
    assert (info.source_rate, info.channels, info.codec) == (44_100, 2, "pcm_s16le")


def test_reader_chunks_match_whole_file(audio_dir: Path) -> None:
    path = write_wav(audio_dir / "chunks.wav", tone(5.3, 44_100), 44_100)
    whole = load_audio(path)
    with AudioReader(path) as reader:
        assert reader.duration == pytest.approx(5.3, abs=0.01)
        chunks = list(reader.chunks(chunk_seconds=1.0))
    assert [len(c) for c in chunks[:-1]] == [16_000] * 5
    assert 0 < len(chunks[-1]) <= 16_000
    np.testing.assert_array_equal(np.concatenate(chunks), whole)


def test_streaming_a_long_file_keeps_memory_bounded(audio_dir: Path) -> None:
    """Ten minutes at 48 kHz: chunked reading never holds the file (38 MB as float32 at 16 kHz)."""
    path = audio_dir / "long.wav"
    rate, seconds = 48_000, 600
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        block = (tone(10.0, rate, amplitude=0.3) * 32767).astype("<i2").tobytes()
        for _ in range(seconds // 10):
            out.writeframes(block)
    tracemalloc.start()
    total = 0
    try:
        for chunk in iter_audio(path, chunk_seconds=10.0):
            total += len(chunk)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert total == seconds * 16_000
    assert peak < 8 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB"


def test_truncated_or_damaged_files_keep_what_decodes(audio_dir: Path) -> None:
    signal = tone(2.0, 48_000)
    data = encode(audio_dir / "src.mp3", np.stack([signal, signal]), 48_000, "libmp3lame")
    raw = data.read_bytes()
    truncated = audio_dir / "truncated.mp3"
    truncated.write_bytes(raw[: len(raw) // 2])
    assert 0.5 < len(load_audio(truncated)) / 16_000 < 1.5
    damaged = bytearray(raw)
    noise = np.random.default_rng(0).integers(0, 256, 2000, dtype=np.uint8).tobytes()
    damaged[len(raw) // 3 : len(raw) // 3 + 2000] = noise
    (audio_dir / "damaged.mp3").write_bytes(bytes(damaged))
    assert len(load_audio(audio_dir / "damaged.mp3")) > 16_000


def one_line_error(path: Path) -> str:
    with pytest.raises(AudioDecodeError) as info:
        load_audio(path)
    message = str(info.value)
    assert "\n" not in message
    assert str(path) in message
    return message


def test_missing_file(tmp_path: Path) -> None:
    assert "no such file" in one_line_error(tmp_path / "absent.wav")


def test_directory(tmp_path: Path) -> None:
    assert "directory" in one_line_error(tmp_path)


def test_zero_byte_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.wav"
    path.touch()
    assert "empty" in one_line_error(path)


@pytest.mark.parametrize("name", ["noise.wav", "noise.mp3", "noise.bin"])
def test_random_bytes(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(np.random.default_rng(1).integers(0, 256, 20_000, dtype=np.uint8).tobytes())
    assert "not a readable media file" in one_line_error(path)


def test_text_file(tmp_path: Path) -> None:
    path = tmp_path / "notes.wav"
    path.write_text("this is not audio\n" * 50)
    one_line_error(path)


def test_header_only_wav(tmp_path: Path) -> None:
    path = tmp_path / "header.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16_000)
    assert "no audio samples" in one_line_error(path)


def test_video_without_audio(tmp_path: Path) -> None:
    path = tmp_path / "silent-film.mp4"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        for _ in range(5):
            frame = av.VideoFrame.from_ndarray(np.zeros((64, 64, 3), np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    assert "no audio stream" in one_line_error(path)


def test_iter_audio_fails_at_call_not_at_first_chunk(tmp_path: Path) -> None:
    with pytest.raises(AudioDecodeError):
        iter_audio(tmp_path / "absent.ogg")
