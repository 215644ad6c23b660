"""Loading a pyannote.audio diarization pipeline: the real one, or an offline one from what ships.

1. ``DIARIZATION_PIPELINE`` names a local folder (a downloaded pipeline with its ``config.yaml``)
   or a hub id; ``HF_TOKEN`` lets pyannote fetch a gated hub pipeline
   (default ``pyannote/speaker-diarization-community-1``). Both go through
   ``pyannote.audio.Pipeline.from_pretrained``: segmentation-3.0 + WeSpeaker embeddings + PLDA/VBx.
2. Without either (or ``DIARIZATION_PIPELINE=offline``): ``SegmentationOnlyDiarization``, pyannote's
   own ``SpeakerDiarization`` pipeline (sliding-window segmentation, speaker counting,
   reconstruction, annotation) on segmentation-3.0 rebuilt from the MIT ONNX weights, with the
   embedding + clustering step replaced by ``OverlapChainClustering``: local speakers of
   overlapping windows (1 s step, so 9 s shared) are linked by how much their activity agrees,
   and clusters that never overlap are then compared by the segmentation model itself, which is
   asked whether a few seconds of one and a few seconds of the other, put in one 10 s window,
   are the same voice. No embedding model is needed; the price is explained in the README.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

from agent.logs import get_logger
from agent.timebase import SAMPLE_RATE

log = get_logger(__name__)

DEFAULT_HUB_PIPELINE = "pyannote/speaker-diarization-community-1"


class DiarizationUnavailableError(RuntimeError):
    """The ``diarization`` extra is missing or the pipeline cannot be loaded; one-line message."""


def extra_installed() -> bool:
    import importlib.util

    return all(importlib.util.find_spec(m) is not None for m in ("torch", "torchaudio", "pyannote.audio"))


def require_extra() -> None:
    if not extra_installed():
        raise DiarizationUnavailableError(
            "diarization needs the optional extra: pip install 'greffier[diarization]'"
            " (or scripts/install-diarization.sh)"
        )
    try:
        import pyannote.audio  # noqa: F401
    except Exception as exc:  # a torch/torchaudio mismatch fails here
        raise DiarizationUnavailableError(
            f"pyannote.audio does not import: {str(exc).splitlines()[0]}"
        ) from None


@dataclass
class OverlapChainClustering:
    """Link local speakers of overlapping segmentation windows into global speakers.

    ``link_threshold``: minimum agreement (intersection over union of activity in the shared
    frames, summed over the previous ``lookback`` windows) to continue a cluster.
    Clusters that never share a window are merged afterwards by voice
    (``SegmentationOnlyDiarization.merge_by_voice``).
    """

    link_threshold: float = 0.3
    lookback: int = 9
    expects_num_clusters: bool = False

    def __call__(
        self,
        embeddings: Any = None,
        segmentations: Any = None,
        num_clusters: int | None = None,
        min_clusters: int | None = None,
        max_clusters: int | None = None,
        file: Any = None,
        frames: Any = None,
        **kwargs: Any,
    ) -> tuple[np.ndarray, None, None]:
        data = np.nan_to_num(segmentations.data) > 0.5  # (chunks, frames, local)
        num_chunks, num_frames, local = data.shape
        shift = segmentations.sliding_window.step / frames.step  # frames between window starts
        hard = np.full((num_chunks, local), -2, dtype=np.int64)
        next_id = 0
        for c in range(num_chunks):
            active = [k for k in range(local) if data[c, :, k].any()]
            if not active:
                continue
            inter: dict[tuple[int, int], float] = {}
            union: dict[tuple[int, int], float] = {}
            for d in range(1, min(self.lookback, c) + 1):
                offset = round(d * shift)
                if offset >= num_frames:
                    break
                p = c - d
                mine = data[c, : num_frames - offset]  # this window's first frames ...
                theirs = data[p, offset:]  # ... are the previous window's last frames
                for k in active:
                    for j in range(local):
                        g = int(hard[p, j])
                        if g < 0:
                            continue
                        a, b = mine[:, k], theirs[:, j]
                        key = (k, g)
                        inter[key] = inter.get(key, 0.0) + float(np.sum(a & b))
                        union[key] = union.get(key, 0.0) + float(np.sum(a | b))
            clusters = sorted({g for (_, g) in inter})
            if clusters:
                from scipy.optimize import linear_sum_assignment

                score = np.zeros((len(active), len(clusters)))
                for i, k in enumerate(active):
                    for j, g in enumerate(clusters):
                        u = union.get((k, g), 0.0)
                        score[i, j] = inter.get((k, g), 0.0) / u if u else 0.0
                rows, cols = linear_sum_assignment(-score)
                for i, j in zip(rows, cols, strict=True):
                    if score[i, j] >= self.link_threshold:
                        hard[c, active[i]] = clusters[j]
            for k in active:
                if hard[c, k] < 0:
                    hard[c, k] = next_id
                    next_id += 1
        return hard, None, None


def _runs(mask: np.ndarray, min_len: int) -> list[tuple[int, int]]:
    """[first, last) index pairs of runs of True at least ``min_len`` long."""
    padded = np.concatenate([[False], mask, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True) if b - a >= min_len]


class SegmentationOnlyDiarization:
    """pyannote's ``SpeakerDiarization`` on segmentation-3.0 alone (see the module docstring)."""

    def __init__(
        self,
        model: Any = None,
        *,
        step: float = 0.2,
        link_threshold: float = 0.3,
        relink: bool = True,
        backend: str = "torch",
        threads: int = 1,
    ):
        require_extra()
        from pyannote.audio.core.plda import PLDA
        from pyannote.audio.pipelines import SpeakerDiarization

        from agent.diarize.pyannote_model import load_segmentation_model, onnx_backed_pyannet

        if model is None:
            model = onnx_backed_pyannet(threads=threads) if backend == "onnx" else load_segmentation_model()
        if backend == "torch":
            import torch

            torch.set_num_threads(threads)  # process-wide; a shared CPU suffers from oversubscription
        self.model = model
        # OracleClustering makes the parent skip loading an embedding model; the PLDA it insists on
        # is never used by that clustering, so an empty instance stands in for it.
        self.pipeline = SpeakerDiarization(
            segmentation=self.model,
            segmentation_step=step,
            embedding=None,
            plda=PLDA.__new__(PLDA),
            clustering="OracleClustering",
        )
        self.pipeline.get_embeddings = lambda *args, **kwargs: None  # type: ignore[method-assign]
        self._embedding_stub()
        self.clustering = OverlapChainClustering(link_threshold=link_threshold)
        self.pipeline.clustering = self.clustering
        self.pipeline._expects_num_speakers = False
        self.pipeline.instantiate({"segmentation": {"min_duration_off": 0.0}})
        self._relink = relink
        self._current: dict[str, Any] = {}
        self._lock = threading.Lock()

    def _embedding_stub(self) -> None:
        class _NoEmbedding:
            dimension = 0

        self.pipeline._embedding = _NoEmbedding()

    # -- relinking with the segmentation model --------------------------------------------------

    def _exclusive_audio(self, hard: np.ndarray, segmentations: Any, frames: Any) -> dict[int, np.ndarray]:
        """Up to 4 s of speech per cluster where it is the only active local speaker."""
        waveform = self._current["waveform"]
        sr = SAMPLE_RATE
        data = np.nan_to_num(segmentations.data) > 0.5
        pieces: dict[int, list[np.ndarray]] = {}
        have: dict[int, int] = {}
        for c in range(data.shape[0]):
            chunk = segmentations.sliding_window[c]
            alone = data[c].sum(axis=1) == 1
            for k in range(data.shape[2]):
                g = int(hard[c, k])
                if g < 0 or have.get(g, 0) >= 4 * sr:
                    continue
                mask = alone & data[c, :, k]
                # the middle third of the window is where the model is most reliable
                lo, hi = data.shape[1] // 3, 2 * data.shape[1] // 3
                for first, last in _runs(mask[lo:hi], min_len=30):
                    a = int((chunk.start + (lo + first) * frames.step) * sr)
                    b = int((chunk.start + (lo + last) * frames.step) * sr)
                    pieces.setdefault(g, []).append(waveform[a:b])
                    have[g] = have.get(g, 0) + (b - a)
        return {g: np.concatenate(p)[: 4 * sr] for g, p in pieces.items()}

    @staticmethod
    def _pair_window(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, int, int, int]:
        sr = SAMPLE_RATE
        gap = np.zeros(sr // 4, dtype=np.float32)
        window = np.zeros(10 * sr, dtype=np.float32)
        joined = np.concatenate([a, gap, b])[: 10 * sr]
        window[: len(joined)] = joined
        frames = 589
        return (
            window,
            int(len(a) / (10 * sr) * frames),
            int((len(a) + len(gap)) / (10 * sr) * frames),
            int(len(joined) / (10 * sr) * frames),
        )

    def same_voice_batch(self, pairs: list[tuple[np.ndarray, np.ndarray]]) -> list[bool]:
        """Ask segmentation-3.0 whether each pair of clips, put in one window, is one local speaker.

        Runs on onnxruntime (the same weights as the PyanNet above, faster on CPU for this)."""
        from agent.diarize.segmentation import POWERSET, shared_segmentation

        if not pairs:
            return []
        built = [self._pair_window(a, b) for a, b in pairs]
        session = shared_segmentation().session
        answers: list[bool] = []
        for i in range(0, len(built), 16):
            batch = np.stack([w for w, *_ in built[i : i + 16]])[:, None, :]
            logp = session.run(None, {"input": batch})[0]
            for (_, end_a, start_b, end_b), out in zip(built[i : i + 16], logp, strict=True):
                hard = POWERSET[np.argmax(out, axis=-1)]
                act_a, act_b = hard[:end_a].sum(axis=0), hard[start_b:end_b].sum(axis=0)
                answers.append(bool(act_a.sum() and act_b.sum() and np.argmax(act_a) == np.argmax(act_b)))
        return answers

    def same_voice(self, a: np.ndarray, b: np.ndarray) -> bool:
        return all(self.same_voice_batch([(a, b), (b, a)]))

    def merge_by_voice(self, hard: np.ndarray, clips: dict[int, np.ndarray]) -> np.ndarray:
        """Greedy: each cluster (in order of appearance) joins the first earlier group that the
        model hears as the same voice both ways round and that it never shared a window with;
        otherwise it starts a group. About 2 x clusters x speakers 10 s windows."""
        ids = sorted({int(g) for g in hard.flat if g >= 0})
        together = {(int(a), int(b)) for row in hard for a in row for b in row if a >= 0 and b >= 0}
        groups: dict[int, set[int]] = {}  # root -> members
        root_of = {g: g for g in ids}
        for c in ids:
            if c not in clips:
                groups[c] = {c}
                continue
            candidates = [r for r in groups if r in clips and not any((c, m) in together for m in groups[r])]
            pairs = [(clips[c], clips[r]) for r in candidates] + [(clips[r], clips[c]) for r in candidates]
            answers = self.same_voice_batch(pairs)
            n = len(candidates)
            match = next((r for i, r in enumerate(candidates) if answers[i] and answers[n + i]), None)
            if match is None:
                groups[c] = {c}
            else:
                groups[match].add(c)
                root_of[c] = match
        dense = {r: i for i, r in enumerate(sorted(groups))}
        out = hard.copy()
        for g in ids:
            out[hard == g] = dense[root_of[g]]
        return out

    # -- apply -------------------------------------------------------------------------------

    def __call__(self, audio: np.ndarray, *, uri: str = "audio", max_speakers: int | None = None) -> Any:
        """Diarize 16 kHz mono float32 audio; returns pyannote's ``DiarizeOutput``."""
        import torch

        waveform = np.asarray(audio, dtype=np.float32).reshape(-1)
        file = {"waveform": torch.from_numpy(waveform.copy())[None], "sample_rate": SAMPLE_RATE, "uri": uri}

        def clustering_with_relink(**kwargs: Any) -> Any:
            hard, _, _ = self.clustering(**kwargs)
            clips = self._exclusive_audio(hard, kwargs["segmentations"], kwargs["frames"])
            return self.merge_by_voice(hard, clips), None, None

        with self._lock:  # the pipeline object is shared: one file at a time
            self._current = {"waveform": waveform}
            if self._relink:
                self.pipeline.clustering = clustering_with_relink  # type: ignore[assignment]
            try:
                return self.pipeline(file, max_speakers=max_speakers)
            finally:
                self.pipeline.clustering = self.clustering
                self._current = {}


def load_pipeline(source: str = "", token: str = "", backend: str = "torch", threads: int = 1) -> Any:
    """A pyannote pipeline: a local folder / hub id (``DIARIZATION_PIPELINE``), the hub default
    with ``HF_TOKEN``, or the offline segmentation-only pipeline when neither is given.

    Returns an object called as ``pipeline(audio_float32_16k, uri=...) -> DiarizeOutput |
    Annotation``; use ``agent.diarize.api.run_pipeline`` to get turns out of either."""
    require_extra()
    if source == "offline" or (not source and not token):
        return SegmentationOnlyDiarization(backend=backend, threads=threads)
    from pathlib import Path

    from pyannote.audio import Pipeline

    checkpoint = source or DEFAULT_HUB_PIPELINE
    if source and Path(source).exists():
        checkpoint = str(Path(source))
    try:
        pipeline = Pipeline.from_pretrained(checkpoint, token=token or None)
    except Exception as exc:
        raise DiarizationUnavailableError(
            f"cannot load diarization pipeline {checkpoint!r}: {_first_line(exc)}"
        ) from None
    if pipeline is None:  # pyannote returns None when the hub refuses a gated download
        raise DiarizationUnavailableError(
            f"cannot load diarization pipeline {checkpoint!r}: gated or missing"
            " (check HF_TOKEN and that the model's terms were accepted)"
        )
    return HubPipeline(pipeline)


def _first_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc).strip() else type(exc).__name__


class HubPipeline:
    """A pipeline from ``Pipeline.from_pretrained``, called like ``SegmentationOnlyDiarization``."""

    def __init__(self, pipeline: Any) -> None:
        self.pipeline = pipeline

    def __call__(self, audio: np.ndarray, *, uri: str = "audio", max_speakers: int | None = None) -> Any:
        import torch

        waveform = torch.from_numpy(np.asarray(audio, dtype=np.float32).reshape(1, -1).copy())
        kwargs = {"max_speakers": max_speakers} if max_speakers else {}
        return self.pipeline({"waveform": waveform, "sample_rate": SAMPLE_RATE, "uri": uri}, **kwargs)
