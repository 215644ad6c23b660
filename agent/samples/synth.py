"""Synthetic speech with known words (English and French) from espeak-ng, as 16 kHz mono WAV.

Why espeak-ng: it is a Debian package (``apt-get install espeak-ng``), deterministic, fast and has
French, so tests can check exact words in both languages without any downloaded voice or model.
Its robotic voice is harder than real speech for Whisper: use short common words in assertions.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from agent.audio.decode import load_audio
from agent.audio.wav import write_wav
from agent.samples.cache import samples_cache_dir
from agent.samples.wheels import SampleUnavailableError
from agent.timebase import SAMPLE_RATE

# espeak-ng voice per Whisper language code; any other code is passed to espeak-ng as is.
VOICES = {"en": "en-us", "fr": "fr-fr"}
# Whisper base mistakes fast espeak-ng French for Japanese or Thai (measured: 170 wpm detected as
# "th"); at 120 wpm it is detected as French and transcribed almost word for word.
DEFAULT_WPM = {"en": 150, "fr": 120}


def espeak_binary() -> str | None:
    return shutil.which("espeak-ng")


def synth_speech(
    text: str,
    lang: str = "en",
    path: str | os.PathLike[str] | None = None,
    *,
    words_per_minute: int | None = None,
    word_gap: int = 0,
    sample_rate: int = SAMPLE_RATE,
) -> Path:
    """Speak ``text`` into a mono 16-bit WAV at ``sample_rate`` and return its path.

    Without ``path`` the file goes to the samples cache, named by a hash of the inputs, and is
    reused on the next call. ``words_per_minute`` defaults per language (``DEFAULT_WPM``);
    ``word_gap`` adds pauses between words in units of 10 ms.
    """
    binary = espeak_binary()
    if binary is None:
        raise SampleUnavailableError("espeak-ng is not installed (apt-get install espeak-ng)")
    voice = VOICES.get(lang, lang)
    words_per_minute = words_per_minute or DEFAULT_WPM.get(lang, 150)
    key = f"{voice}|{words_per_minute}|{word_gap}|{sample_rate}|{text}"
    if path is None:
        digest = hashlib.sha256(key.encode()).hexdigest()[:16]
        target = samples_cache_dir() / "espeak" / f"{lang}-{digest}.wav"
        if target.exists():
            return target
    else:
        target = Path(path)
    with tempfile.TemporaryDirectory(prefix="greffier-espeak-") as tmp:
        raw = Path(tmp) / "raw.wav"
        cmd = [binary, "-v", voice, "-s", str(words_per_minute), "-g", str(word_gap), "-b", "1",
               "-w", str(raw), "--stdin"]  # fmt: skip
        proc = subprocess.run(cmd, input=text.encode(), capture_output=True, timeout=300, check=False)
        if proc.returncode != 0 or not raw.exists():
            err = proc.stderr.decode(errors="replace").strip().splitlines()
            raise SampleUnavailableError(
                f"espeak-ng failed for voice {voice!r}: {err[-1] if err else proc.returncode}"
            )
        audio = load_audio(raw, sample_rate)  # espeak-ng writes 22.05 kHz
    return write_wav(target, audio, sample_rate)
