"""``python -m agent transcribe FILE``: a file's transcript, offline or with ``--stream``.

The work is done below the command line: ``agent.asr.offline`` (offline block transcription and
the streaming engine on a simulated clock), ``agent.transcript.writers`` (text, JSON, WebVTT,
SRT) and, with ``--diarize``, ``agent.cli.diarize``. This module only parses arguments, reports
errors in one line and writes the output.

Exit codes: 0 success, 1 unreadable input or output file (one line on stderr), 2 bad settings.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from agent.asr.offline import load_model, resolve_model, transcribe_offline, transcribe_stream
from agent.asr.settings import AsrSettings
from agent.audio.decode import AudioDecodeError, AudioReader
from agent.transcript.writers import FORMATS as TEXT_FORMATS
from agent.transcript.writers import render

EXIT_OK = 0
EXIT_INPUT = 1
FORMATS = (*TEXT_FORMATS, "rttm")
_SUFFIX_FORMATS = {".txt": "text", ".json": "json", ".vtt": "vtt", ".srt": "srt", ".rttm": "rttm"}


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
    asr = AsrSettings.from_env()  # ConfigError -> exit 2 in __main__
    settings = resolve_model(asr, model=args.model, language=args.language)

    started = time.perf_counter()
    try:
        with reader:
            if stream_mode:
                audio = reader.read()
                load_seconds = 0.0
                stream_settings = dataclasses.replace(
                    asr,
                    model=settings.model,
                    language=settings.language,
                    beam_size=args.beam_size or asr.beam_size,
                )
                transcript = transcribe_stream(
                    audio, args.speed or 1.0, stream_settings, progress=args.progress
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
        from agent.cli.diarize import DiarizationUnavailableError, diarize_for_cli, render_labelled

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


if __name__ == "__main__":
    sys.exit(main())
