"""``python -m agent.samples``: fetch the sample speech now (e.g. in CI before going offline).

Prints the paths it produced, one per line. ``--meeting PATH`` and ``--monologue PATH`` also
build the longer recordings used by the benchmark and the bounded-memory checks.
"""

from __future__ import annotations

import argparse
import sys

from agent.samples import SampleUnavailableError, build_meeting, build_monologue, pyannote_sample


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m agent.samples", description=__doc__)
    parser.add_argument("--meeting", help="write the repeated-utterances meeting WAV here")
    parser.add_argument("--monologue", help="write a continuous-speech WAV here")
    parser.add_argument("--seconds", type=float, default=600.0, help="monologue length (600)")
    parser.add_argument("--source", choices=("sample", "espeak"), default="sample")
    parser.add_argument("--lang", default="en", help="monologue language with --source espeak")
    args = parser.parse_args(argv)
    try:
        sample = pyannote_sample()
        print(sample.wav)
        if args.meeting:
            print(build_meeting(args.meeting).wav)
        if args.monologue:
            rec = build_monologue(args.monologue, seconds=args.seconds, source=args.source, lang=args.lang)
            print(rec.wav)
    except (SampleUnavailableError, ValueError) as exc:
        print(f"greffier: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
