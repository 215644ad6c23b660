"""``python -m agent transcribe FILE``: offline transcription with faster-whisper, or ``--stream``.

Offline mode reads the file in 2-minute blocks (bounded memory on long recordings), cuts blocks at the
quietest moment near their end so no word is split, and transcribes each with word timestamps and
faster-whisper's Silero VAD filter. ``--stream`` hands the decoded audio to the streaming engine
(``agent.asr.offline_stream.run_stream``) instead; both paths produce the same ``Transcript`` and
share the writers below (text, JSON, WebVTT, SRT), so streaming and offline outputs compare
line for line.

Exit codes: 0 success, 1 unreadable input or output file (one line on stderr), 2 bad settings.
"""

from __future__ import annotations

import argparse
import inspect
import json
import math
import os
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from agent.audio.decode import DEFAULT_SAMPLE_RATE, AudioDecodeError, AudioReader
from agent.config import ConfigError, env_choice, env_int, env_str
from agent.formats import Cue, to_srt, to_webvtt

EXIT_OK = 0
EXIT_INPUT = 1
FORMATS = ("text", "json", "vtt", "srt", "rttm")
_SUFFIX_FORMATS = {".txt": "text", ".json": "json", ".vtt": "vtt", ".srt": "srt", ".rttm": "rttm"}
# Scripts written without spaces between words: cue text is joined without separators.
_NO_SPACE_LANGUAGES = {"zh", "ja", "th", "lo", "my", "yue", "bo"}


# --------------------------------------------------------------------------------------------
# Transcript model shared by the offline and streaming paths
# --------------------------------------------------------------------------------------------


@dataclass
class TranscriptWord:
    """One word on the audio clock (seconds from the start of the file).

    ``first_seen`` / ``final_at`` are only set by the streaming path: when the word first appeared
    in an interim hypothesis and when it was committed, on the same simulated audio clock.
    """

    start: float
    end: float
    text: str
    probability: float = 1.0
    first_seen: float | None = None
    final_at: float | None = None


@dataclass
class TranscriptSegment:
    start: float
    end: float
    text: str
    words: list[TranscriptWord] = field(default_factory=list)
    speaker: str | None = None


@dataclass
class Transcript:
    segments: list[TranscriptSegment]
    language: str | None = None
    language_probability: float | None = None
    duration: float | None = None
    source: str = ""
    model: str = ""
    mode: str = "offline"  # or "stream"
    stats: dict[str, Any] = field(default_factory=dict)  # timings, real-time factor

    @property
    def text(self) -> str:
        return " ".join(s.text.strip() for s in self.segments if s.text.strip())


# --------------------------------------------------------------------------------------------
# Writers
# --------------------------------------------------------------------------------------------


def _r(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(float(value), digits)


def to_text(transcript: Transcript) -> str:
    """One line per segment: what a human wants to read or grep."""
    lines = [s.text.strip() for s in transcript.segments if s.text.strip()]
    return "\n".join(lines) + ("\n" if lines else "")


def to_json_dict(transcript: Transcript) -> dict[str, Any]:
    segments = []
    for index, seg in enumerate(transcript.segments):
        words = []
        for w in seg.words:
            word: dict[str, Any] = {
                "start": _r(w.start),
                "end": _r(w.end),
                "text": w.text.strip(),
                "probability": _r(w.probability, 4),
            }
            if w.first_seen is not None:
                word["first_seen"] = _r(w.first_seen)
            if w.final_at is not None:
                word["final_at"] = _r(w.final_at)
            words.append(word)
        item: dict[str, Any] = {
            "id": index,
            "start": _r(seg.start),
            "end": _r(seg.end),
            "text": seg.text.strip(),
            "words": words,
        }
        if seg.speaker is not None:
            item["speaker"] = seg.speaker
        segments.append(item)
    return {
        "source": transcript.source,
        "mode": transcript.mode,
        "model": transcript.model,
        "language": transcript.language,
        "language_probability": _r(transcript.language_probability, 4),
        "duration": _r(transcript.duration),
        "text": transcript.text,
        "segments": segments,
        "stats": transcript.stats,
    }


def to_json(transcript: Transcript) -> str:
    return json.dumps(to_json_dict(transcript), ensure_ascii=False, indent=2) + "\n"


_SENTENCE_END = (".", "?", "!", "。", "？", "！")
_CLAUSE_END = (*_SENTENCE_END, ",", ";", ":", "，", "、")


def _clause_cut(group: list[TranscriptWord]) -> int:
    """Where to split an over-long cue: after the last punctuated word in its last two thirds."""
    for i in range(len(group), max(1, len(group) // 3), -1):
        if group[i - 1].text.strip().endswith(_CLAUSE_END):
            return i
    return len(group)


def to_cues(
    transcript: Transcript, max_chars: int = 84, max_duration: float = 7.0, max_pause: float = 1.0
) -> list[Cue]:
    """Caption-sized cues re-flowed from the words, not Whisper's segments.

    Whisper segments run up to 30 s and often end mid-sentence ("... At" / "least, you know");
    subtitles read best as at most two lines of 42 characters, shown at most 7 s, broken at
    sentence ends, clause punctuation, pauses and speaker changes. Segments without word
    timestamps are kept whole.
    """
    joiner = "" if (transcript.language or "") in _NO_SPACE_LANGUAGES else " "
    cues: list[Cue] = []

    def text_of(words: list[TranscriptWord]) -> str:
        return joiner.join(w.text.strip() for w in words).strip()

    def flush(words: list[TranscriptWord], speaker: str | None) -> None:
        if words:
            cues.append(Cue(words[0].start, words[-1].end, text_of(words), speaker))

    group: list[TranscriptWord] = []
    speaker: str | None = None
    for seg in transcript.segments:
        if not seg.text.strip():
            continue
        if not seg.words or seg.speaker != speaker:
            flush(group, speaker)
            group, speaker = [], seg.speaker
        if not seg.words:
            cues.append(Cue(seg.start, seg.end, seg.text.strip(), seg.speaker))
            continue
        for word in seg.words:
            if not word.text.strip():
                continue
            if group:
                current = text_of(group)
                pause = word.start - group[-1].end > max_pause
                sentence = current.endswith(_SENTENCE_END) and len(current) >= max_chars // 2
                too_long = (
                    len(text_of([*group, word])) > max_chars or word.end - group[0].start > max_duration
                )
                if pause or sentence:
                    flush(group, speaker)
                    group = []
                elif too_long:
                    cut = _clause_cut(group)
                    flush(group[:cut], speaker)
                    group = group[cut:]
            group.append(word)
    flush(group, speaker)
    return cues


def render(transcript: Transcript, fmt: str) -> str:
    """The transcript in one of ``FORMATS``."""
    if fmt == "text":
        return to_text(transcript)
    if fmt == "json":
        return to_json(transcript)
    if fmt == "vtt":
        return to_webvtt(to_cues(transcript))
    if fmt == "srt":
        return to_srt(to_cues(transcript))
    raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")


def coerce_transcript(result: Any, **defaults: Any) -> Transcript:
    """Accept what the streaming engine returns: a Transcript, an object with ``segments``
    (and optionally ``language``), or an iterable of segment-like objects (duck-typed: ``start``,
    ``end``, ``text``, ``words`` whose items have ``start``, ``end``, ``text`` or ``word``,
    ``probability`` and optionally ``first_seen`` / ``final_at``)."""
    if isinstance(result, Transcript):
        for key, value in defaults.items():
            if not getattr(result, key, None):
                setattr(result, key, value)
        return result
    raw_segments = getattr(result, "segments", result)
    segments = [_coerce_segment(s) for s in raw_segments]
    fields = dict(defaults)
    for key in ("language", "language_probability", "duration", "stats"):
        value = getattr(result, key, None)
        if value is not None:
            fields[key] = value
    return Transcript(segments=segments, **fields)


def _coerce_segment(seg: Any) -> TranscriptSegment:
    if isinstance(seg, TranscriptSegment):
        return seg
    words = [
        w if isinstance(w, TranscriptWord) else TranscriptWord(
            start=float(w.start),
            end=float(w.end),
            text=str(getattr(w, "text", None) or getattr(w, "word", "")),
            probability=float(getattr(w, "probability", 1.0)),
            first_seen=getattr(w, "first_seen", None),
            final_at=getattr(w, "final_at", None),
        )
        for w in (getattr(seg, "words", None) or [])
    ]  # fmt: skip
    return TranscriptSegment(
        start=float(seg.start),
        end=float(seg.end),
        text=str(seg.text),
        words=words,
        speaker=getattr(seg, "speaker", None),
    )


# --------------------------------------------------------------------------------------------
# Settings and model
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WhisperSettings:
    """Resolved model settings; ``model_path`` is what faster_whisper.WhisperModel receives."""

    model: str
    model_path: str
    device: str  # "cpu" or "cuda", never "auto" once resolved
    compute_type: str
    language: str | None  # None = detect
    local_files_only: bool
    cpu_threads: int = 0  # 0 = CTranslate2's default
    initial_prompt: str = ""
    hotwords: str = ""


def _cuda_available() -> bool:
    try:
        import ctranslate2

        return ctranslate2.get_cuda_device_count() > 0
    except Exception:  # a broken CUDA install means "no GPU", not a crash
        return False


def _check_language(code: str, variable: str) -> str | None:
    code = code.strip().lower()
    if code in ("", "auto"):
        return None
    from faster_whisper.tokenizer import _LANGUAGE_CODES

    if code not in _LANGUAGE_CODES:
        raise ConfigError(
            f"{variable}={code!r} is invalid: expected auto or a Whisper language code (en, fr, ...)"
        )
    return code


def whisper_settings(model: str | None = None, language: str | None = None) -> WhisperSettings:
    """Settings from the environment, with command-line overrides (which are named in errors)."""
    from agent.asr.models import is_local_model, resolve_whisper_model

    name = model if model is not None else env_str("WHISPER_MODEL", "base") or "base"
    path = resolve_whisper_model(name, variable="--model" if model is not None else "WHISPER_MODEL")
    local = is_local_model(path)
    if local and not (Path(path) / "tokenizer.json").exists():
        # faster-whisper would fetch a tokenizer from the hub: refuse, a local model stays local.
        variable = "--model" if model is not None else "WHISPER_MODEL"
        raise ConfigError(f"{variable}={name!r} is invalid: the folder has no tokenizer.json")
    device = env_choice("WHISPER_DEVICE", "auto", ("auto", "cpu", "cuda"))
    if device == "auto":
        device = "cuda" if _cuda_available() else "cpu"
    compute_type = env_str("WHISPER_COMPUTE_TYPE", "") or ("int8" if device == "cpu" else "float16")
    if language is not None:
        lang = _check_language(language, "--language")
    else:
        lang = _check_language(env_str("WHISPER_LANGUAGE", "auto"), "WHISPER_LANGUAGE")
    return WhisperSettings(
        model=name,
        model_path=path,
        device=device,
        compute_type=compute_type,
        language=lang,
        local_files_only=local,
        cpu_threads=env_int("WHISPER_CPU_THREADS", 0, minimum=0, maximum=256),
        initial_prompt=env_str("WHISPER_INITIAL_PROMPT", ""),
        hotwords=env_str("WHISPER_HOTWORDS", ""),
    )


def load_model(settings: WhisperSettings) -> Any:
    """Load faster-whisper once; a local model never reaches a hub (``local_files_only``)."""
    if settings.local_files_only:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from faster_whisper import WhisperModel

    try:
        return WhisperModel(
            settings.model_path,
            device=settings.device,
            compute_type=settings.compute_type,
            cpu_threads=settings.cpu_threads,
            local_files_only=settings.local_files_only,
        )
    except ValueError as exc:  # CTranslate2 rejects an unsupported compute type this way
        raise ConfigError(
            f"WHISPER_COMPUTE_TYPE={settings.compute_type!r} is invalid on {settings.device}:"
            f" {str(exc).splitlines()[0]}"
        ) from None


# --------------------------------------------------------------------------------------------
# Offline transcription
# --------------------------------------------------------------------------------------------


def _quietest_cut(audio: np.ndarray, lo: int, hi: int, sample_rate: int) -> int:
    """Sample index of the quietest 100 ms window between ``lo`` and ``hi`` (a likely pause)."""
    win = sample_rate // 10
    lo, hi = max(0, lo), min(len(audio), hi)
    if hi - lo < 2 * win:
        return hi
    span = audio[lo:hi]
    frames = span[: len(span) // win * win].reshape(-1, win)
    energy = np.mean(frames * frames, axis=1)
    return lo + int(np.argmin(energy)) * win + win // 2


def _blocks(
    reader: AudioReader, block_seconds: float, search_seconds: float = 20.0
) -> Iterator[tuple[float, np.ndarray]]:
    """(offset seconds, audio) blocks of about ``block_seconds``, cut in pauses."""
    sr = reader.sample_rate
    block = round(block_seconds * sr)
    buffer = np.zeros(0, dtype=np.float32)
    offset = 0
    for chunk in reader.chunks(chunk_seconds=min(60.0, block_seconds)):
        buffer = np.concatenate([buffer, chunk])
        if len(buffer) >= block + round(search_seconds * sr):
            cut = _quietest_cut(buffer, block - round(search_seconds * sr), block, sr)
            yield offset / sr, buffer[:cut]
            offset += cut
            buffer = buffer[cut:]
    if len(buffer):
        yield offset / sr, buffer


def _progress_bar(total: float | None, enabled: bool | None, stream: TextIO) -> Any:
    from tqdm import tqdm

    if enabled is None:  # auto: long files, interactive terminal
        enabled = bool(total and total >= 60.0 and stream.isatty())
    # Counted in seconds of audio; raw streams without a duration get a counter, not a bar.
    known = "{desc}: {percentage:3.0f}%|{bar}| {n:.0f}/{total:.0f} s [{elapsed}<{remaining}]"
    return tqdm(
        total=round(total, 1) if total else None,
        unit="s",
        desc="transcribing",
        file=stream,
        disable=not enabled,
        bar_format=known if total else "{desc}: {n:.0f} s of audio [{elapsed}]",
    )


def transcribe_offline(
    reader: AudioReader,
    model: Any,
    settings: WhisperSettings,
    *,
    beam_size: int = 5,
    vad: bool = True,
    block_seconds: float = 120.0,
    progress: bool | None = None,
) -> Transcript:
    """Transcribe an open file block by block, so memory does not grow with the file's length.

    faster-whisper computes the features of its whole input at once. Measured on a 10-minute
    file (2 cores, int8): 600 s blocks peaked at 860 MB (tiny.en) / 930 MB (base); 120 s blocks at
    460 / 530 MB, with WER 0.18 / 0.18 versus 0.19 / 0.19. Blocks are cut at the quietest 100 ms
    of their last 20 s, and the language detected on the first block is kept for the others.
    """
    segments: list[TranscriptSegment] = []
    language = settings.language
    language_probability: float | None = 1.0 if language else None
    # No text is carried from one block to the next: measured on a looped 10-minute recording
    # with base, it made Whisper skip repeated sentences (WER 0.28 instead of 0.19).
    prompt: str | None = settings.initial_prompt or None
    total = 0.0
    bar = _progress_bar(reader.duration, progress, sys.stderr)
    try:
        for offset, audio in _blocks(reader, block_seconds):
            total = offset + len(audio) / reader.sample_rate
            raw_segments, info = model.transcribe(
                audio,
                language=language,
                beam_size=beam_size,
                word_timestamps=True,
                vad_filter=vad,
                initial_prompt=prompt,
                hotwords=settings.hotwords or None,
            )
            if language is None:  # detected once, kept for the later blocks of the same file
                language, language_probability = info.language, info.language_probability
            for seg in raw_segments:
                segments.append(_from_faster_whisper(seg, offset))
                bar.update(max(0.0, round(offset + seg.end, 1) - bar.n))
            bar.update(max(0.0, round(total, 1) - bar.n))
    finally:
        bar.close()
    return Transcript(
        segments=segments,
        language=language,
        language_probability=language_probability,
        duration=total,
        mode="offline",
    )


def _from_faster_whisper(seg: Any, offset: float) -> TranscriptSegment:
    words = [
        TranscriptWord(offset + w.start, offset + w.end, w.word.strip(), float(w.probability))
        for w in (seg.words or [])
    ]
    return TranscriptSegment(offset + seg.start, offset + seg.end, seg.text.strip(), words)


# --------------------------------------------------------------------------------------------
# Streaming hook
# --------------------------------------------------------------------------------------------


def transcribe_stream(
    audio: np.ndarray,
    speed: float,
    settings: WhisperSettings,
    *,
    beam_size: int | None = None,
    progress: bool | None = None,
) -> Transcript:
    """Feed decoded audio to the streaming engine at ``speed`` x real time (simulated clock).

    Contract with ``agent.asr.offline_stream.run_stream(audio, speed, **keywords)``: ``audio`` is
    16 kHz mono float32; keywords are ``model`` (the name as configured), ``model_path``
    (resolved), ``device``, ``compute_type``, ``local_files_only``, ``language`` (None = detect),
    ``beam_size`` (None = the engine's default), ``sample_rate`` and ``progress`` (a callable
    taking audio seconds done). Keywords its signature does not accept are not passed, so the
    engine can start small. It returns a ``Transcript``, an object with ``segments`` (and
    optionally ``language``), or an iterable of segments whose words carry ``first_seen`` /
    ``final_at``.
    """

    from agent.asr.offline_stream import run_stream  # ImportError handled by the caller

    duration = len(audio) / DEFAULT_SAMPLE_RATE
    bar = _progress_bar(duration, progress, sys.stderr)

    def advance(seconds_done: float) -> None:
        bar.update(max(0.0, round(min(seconds_done, duration), 1) - bar.n))

    keywords: dict[str, Any] = {
        "model": settings.model,
        "model_path": settings.model_path,
        "device": settings.device,
        "compute_type": settings.compute_type,
        "local_files_only": settings.local_files_only,
        "language": settings.language,
        "beam_size": beam_size,
        "sample_rate": DEFAULT_SAMPLE_RATE,
        "progress": advance,
    }
    try:
        result = run_stream(audio, speed, **_accepted(run_stream, keywords))
    finally:
        bar.close()
    return coerce_transcript(result, mode="stream", duration=duration)


def _accepted(function: Any, keywords: dict[str, Any]) -> dict[str, Any]:
    """The subset of ``keywords`` that ``function`` accepts (all of them if it takes **kwargs)."""
    try:
        params = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return keywords
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return keywords
    names = {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    return {k: v for k, v in keywords.items() if k in names}


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m agent transcribe",
        description="Transcribe an audio or video file (any common format and sample rate).",
        epilog="Settings: WHISPER_MODEL (base), WHISPER_DEVICE (auto), WHISPER_COMPUTE_TYPE"
        " (int8 on CPU, float16 on CUDA), WHISPER_LANGUAGE (auto), WHISPER_CPU_THREADS,"
        " WHISPER_INITIAL_PROMPT, WHISPER_HOTWORDS. Exit codes: 1 unreadable file, 2 bad setting.",
    )
    parser.add_argument("file", help="audio/video file: wav, mp3, ogg, opus, flac, m4a, webm...")
    parser.add_argument(
        "--format", "-f", choices=FORMATS, default=None,
        help="output format (default: from --output's suffix, else text)",
    )  # fmt: skip
    parser.add_argument("--output", "-o", help="write to this file instead of standard output")
    parser.add_argument("--model", help="override WHISPER_MODEL: base, tiny.en, a size or a folder")
    parser.add_argument("--language", help="override WHISPER_LANGUAGE: auto or a code (en, fr...)")
    parser.add_argument(
        "--beam-size", type=_positive_int, default=None,
        help="beam search width (default: 5 offline, the engine's own with --stream)",
    )  # fmt: skip
    parser.add_argument("--no-vad", dest="vad", action="store_false", help="offline: do not skip non-speech")
    parser.add_argument(
        "--diarize",
        action="store_true",
        help="label speakers with pyannote.audio (diarization extra); implied by --format rttm",
    )
    parser.add_argument(
        "--progress", action=argparse.BooleanOptionalAction, default=None,
        help="progress bar on stderr (default: files over 60 s on a terminal)",
    )  # fmt: skip
    parser.add_argument(
        "--stream", action="store_true",
        help="run the streaming engine (interim/final words) instead of offline decoding",
    )  # fmt: skip
    parser.add_argument(
        "--speed", type=_positive_float, default=None,
        help="with --stream: feed audio at N x real time on a simulated clock (implies --stream;"
        " default 1)",
    )  # fmt: skip
    return parser


def _fail(message: str) -> int:
    print(f"greffier: {' '.join(message.split())}", file=sys.stderr)
    return EXIT_INPUT


def _write_output(text: str, output: str | None) -> None:
    if output is None or output == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    target = Path(output)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, target)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(list(argv) if argv is not None else None)
    fmt = args.format or _SUFFIX_FORMATS.get(Path(args.output or "").suffix.lower(), "text")
    stream_mode = args.stream or args.speed is not None
    if args.output and args.output != "-" and not Path(args.output).resolve().parent.is_dir():
        return _fail(f"cannot write {args.output}: no such directory")

    try:
        reader = AudioReader(args.file)  # fail on unreadable input before loading a model
    except AudioDecodeError as exc:
        return _fail(str(exc))
    settings = whisper_settings(args.model, args.language)  # ConfigError -> exit 2 in __main__

    started = time.perf_counter()
    try:
        with reader:
            if stream_mode:
                try:
                    import agent.asr.offline_stream  # noqa: F401  (probe before decoding)
                except ImportError as exc:
                    return _fail(
                        "--stream needs the streaming engine (agent.asr.offline_stream), which is"
                        f" not available: {exc}"
                    )
                audio = reader.read()
                load_seconds = 0.0
                transcript = transcribe_stream(
                    audio, args.speed or 1.0, settings, beam_size=args.beam_size, progress=args.progress
                )
            else:
                model = load_model(settings)
                load_seconds = time.perf_counter() - started
                transcript = transcribe_offline(
                    reader, model, settings, beam_size=args.beam_size or 5, vad=args.vad,
                    progress=args.progress,
                )  # fmt: skip
    except AudioDecodeError as exc:
        return _fail(str(exc))
    elapsed = time.perf_counter() - started

    transcript.source = str(args.file)
    transcript.model = settings.model
    if transcript.mode == "offline":
        decode_seconds = elapsed - load_seconds
        transcript.stats.update(
            model_load_s=round(load_seconds, 3),
            transcribe_s=round(decode_seconds, 3),
            real_time_factor=round(decode_seconds / transcript.duration, 4) if transcript.duration else None,
            device=settings.device,
            compute_type=settings.compute_type,
        )
    if args.diarize or fmt == "rttm":
        from agent.diarize.cli import DiarizationUnavailableError, diarize_for_cli, render_labelled

        try:
            transcript, turns = diarize_for_cli(transcript, args.file)
        except (DiarizationUnavailableError, AudioDecodeError) as exc:
            return _fail(str(exc))
        text = render_labelled(transcript, turns, fmt, str(args.file))
    else:
        text = render(transcript, fmt)
    try:
        _write_output(text, args.output)
    except OSError as exc:
        return _fail(f"cannot write {args.output}: {exc.strerror or exc}")
    return EXIT_OK


def iter_words(transcript: Transcript) -> Iterable[TranscriptWord]:
    """All words in order, e.g. for latency statistics in the benchmark."""
    for seg in transcript.segments:
        yield from seg.words


if __name__ == "__main__":
    sys.exit(main())
