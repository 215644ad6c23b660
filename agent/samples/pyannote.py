"""Real speech with a reference: the 30 s two-speaker phone call shipped in pyannote.audio's wheel.

Why this source: it is the only real speech with a timed, speaker-labelled transcript that installs
from a package registry (no model hub, no account). We do not install pyannote.audio (it pulls
torch); ``agent.samples.wheels`` fetches the 0.9 MB wheel once and the three files are extracted
into the samples cache and verified by SHA-256. If pyannote.audio happens to be installed, its copy
is used directly.
"""

from __future__ import annotations

import importlib.util
import wave
from dataclasses import dataclass
from pathlib import Path

from agent.samples.cache import samples_cache_dir
from agent.samples.text import normalize_for_wer
from agent.samples.wheels import extract_verified, verified

PYANNOTE_VERSION = "4.0.7"
_MEMBER_DIR = "pyannote/audio/sample/"
SAMPLE_SHA256 = {
    "sample.wav": "c319b4abca767b124e41432d364fd7df006cb26bb79d09326c487d606a134e6e",
    "sample.stm": "f861f3004927e1c4429199f9695bfd252def75d7d5e4bdf735d3d85fd4a667f7",
    "sample.rttm": "d78fe62c69d8e6dcbb42c26adfce83faccb374c5a1e6d987fe37f85f1c173c87",
}


@dataclass(frozen=True)
class Utterance:
    """One line of the STM reference: who said what, when (seconds)."""

    speaker: str
    start: float
    end: float
    text: str


@dataclass(frozen=True)
class Turn:
    """One RTTM speaker turn (seconds). Turns may overlap."""

    speaker: str
    start: float
    end: float


@dataclass(frozen=True)
class Sample:
    wav: Path
    utterances: tuple[Utterance, ...]
    turns: tuple[Turn, ...]
    duration: float
    language: str = "en"

    @property
    def speakers(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(u.speaker for u in self.utterances))

    def reference_text(self) -> str:
        """The transcript in time order, as written (punctuation and case kept)."""
        return " ".join(u.text for u in sorted(self.utterances, key=lambda u: u.start))

    def normalized_reference(self) -> str:
        """The transcript normalised for WER (see ``agent.samples.text``)."""
        return normalize_for_wer(self.reference_text(), self.language)


def parse_stm(text: str) -> tuple[Utterance, ...]:
    """STM lines: ``file channel speaker start end [<label>] transcript``; ``;;`` comments."""
    out: list[Utterance] = []
    for line in text.splitlines():
        if not line.strip() or line.startswith(";;"):
            continue
        fields = line.split(maxsplit=5)
        if len(fields) < 5:
            raise ValueError(f"bad STM line: {line!r}")
        rest = fields[5] if len(fields) > 5 else ""
        if rest.startswith("<"):  # optional label such as <o,f0,male>
            rest = rest.split(">", 1)[1] if ">" in rest else ""
        out.append(Utterance(fields[2], float(fields[3]), float(fields[4]), rest.strip()))
    return tuple(out)


def parse_rttm(text: str) -> tuple[Turn, ...]:
    """RTTM ``SPEAKER file chan onset duration <NA> <NA> speaker <NA> <NA>`` lines."""
    out: list[Turn] = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 8 and fields[0] == "SPEAKER":
            onset, duration = float(fields[3]), float(fields[4])
            out.append(Turn(fields[7], onset, onset + duration))
    return tuple(out)


def _installed_copy() -> Path | None:
    try:
        spec = importlib.util.find_spec("pyannote.audio")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "sample"
    return folder if all((folder / name).exists() for name in SAMPLE_SHA256) else None


def fetch_pyannote_sample_files() -> Path:
    """Return a folder holding sample.wav/.stm/.rttm, fetching and extracting once."""
    installed = _installed_copy()
    if installed is not None and verified(installed, SAMPLE_SHA256):
        return installed
    return extract_verified(
        f"pyannote.audio=={PYANNOTE_VERSION}",
        f"pyannote_audio-{PYANNOTE_VERSION}-*.whl",
        {_MEMBER_DIR + name: name for name in SAMPLE_SHA256},
        SAMPLE_SHA256,
        samples_cache_dir() / f"pyannote-{PYANNOTE_VERSION}",
    )


def pyannote_sample() -> Sample:
    """The 30 s English two-speaker call (Diane and Sheila) with STM transcript and RTTM turns."""
    folder = fetch_pyannote_sample_files()
    utterances = parse_stm((folder / "sample.stm").read_text(encoding="utf-8"))
    turns = parse_rttm((folder / "sample.rttm").read_text(encoding="utf-8"))
    wav = folder / "sample.wav"
    with wave.open(str(wav), "rb") as fh:
        duration = fh.getnframes() / fh.getframerate()
    return Sample(wav=wav, utterances=utterances, turns=turns, duration=duration)
