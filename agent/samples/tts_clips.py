"""Short neural-TTS clips with references, from pytest-audioeval's wheel (MIT).

Why: Whisper base detects espeak-ng's French at 0.3-0.5 with English close behind (and hears
"Il faut plus de professeurs" as "for Pluto, Professor"), so a test of language handling on it
tests the voice, not greffier. These clips are detected like real speech (French at 0.97-1.00).
Only three per language (about 7 s each); we never install the package (it is a pytest plugin
and needs a compiled PESQ), we extract the files and verify them by SHA-256.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from agent.samples.cache import samples_cache_dir
from agent.samples.wheels import extract_verified

AUDIOEVAL_VERSION = "0.1.3"
_MEMBER_DIR = "pytest_audioeval/samples/audio/"
CLIP_SHA256 = {
    "en/counting.wav": "2b69b8f7894de9774e7433db6bfa1874944e25ed806826c507bed27b9e69fe15",
    "en/counting.txt": "0ebcf955e872b31b95b748d39aa0e6188fb79812173442193f2f155dd2eb0b0c",
    "en/hello_world.wav": "264c92e881fcc3bb7585ff666d129095fb5717c2cc333d10f253a34186be78ac",
    "en/hello_world.txt": "aa3ec16e6acc809d8b2818662276256abfd2f1b441cb51574933f3d4bd115d11",
    "en/quick_brown_fox.wav": "adc24a9b99267932370842f0d5be866dc2cd09e65af9762469c198493e36870b",
    "en/quick_brown_fox.txt": "ef537f25c895bfa782526529a9b63d97aa631564d5d789c2b765448c8635fb6c",
    "fr/bonjour_monde.wav": "f7190d41c9773c9337db40020c74be9e1b965fdddb1da91f90b5d57aa28d38d7",
    "fr/bonjour_monde.txt": "4178c4d4c2fd95163ebbe7eca64d886ca5e6f69a9c1f51d0760ac80207a343e6",
    "fr/comptage.wav": "aee8ec3208fe97fbc708c986f30c3fd1d808b70ff1fde61a1d3cadeb85ef2c2f",
    "fr/comptage.txt": "006ce16b2736d208376c4f1220ecf0b82afc7ed7633b8cba784ed7e7fa491914",
    "fr/pangrama.wav": "97aee6fca112f4c562aed53be97fb715f744f5ec072e1f4a30ffaf94324da361",
    "fr/pangrama.txt": "1fee9c5f8f3ce450a79759ef205528ff0149afaa9af6862d522628cda27926f5",
}


@dataclass(frozen=True)
class TtsClip:
    language: str
    name: str
    wav: Path  # 32-bit float WAV: read it with ``agent.audio.decode.load_audio``
    text: str


def _folder() -> Path:
    flat = {name: name.replace("/", "-") for name in CLIP_SHA256}
    return extract_verified(
        f"pytest-audioeval=={AUDIOEVAL_VERSION}",
        f"pytest_audioeval-{AUDIOEVAL_VERSION}-*.whl",
        {_MEMBER_DIR + name: flat[name] for name in CLIP_SHA256},
        {flat[name]: digest for name, digest in CLIP_SHA256.items()},
        samples_cache_dir() / f"audioeval-{AUDIOEVAL_VERSION}",
    )


def tts_clip(language: str, name: str) -> TtsClip:
    """One clip, e.g. ``tts_clip("fr", "pangrama")``; ``KeyError`` for one not shipped."""
    if f"{language}/{name}.wav" not in CLIP_SHA256:
        raise KeyError(f"no TTS clip {language}/{name}")
    folder = _folder()
    text = (folder / f"{language}-{name}.txt").read_text(encoding="utf-8").strip()
    return TtsClip(language, name, folder / f"{language}-{name}.wav", text)


def tts_clips(language: str) -> list[TtsClip]:
    names = sorted(n[3:-4] for n in CLIP_SHA256 if n.startswith(f"{language}/") and n.endswith(".wav"))
    return [tts_clip(language, n) for n in names]
