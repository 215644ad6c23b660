"""segmentation-3.0 as a real pyannote.audio ``PyanNet``, rebuilt from the MIT ONNX export.

Needs the ``diarization`` extra (torch, pyannote.audio). The ONNX file holds every trained weight
of pyannote/segmentation-3.0: SincNet's 80 band-pass filters (already computed from their learnt
cut-off frequencies, so they go into a fixed ``FreeFB`` filterbank of the same shape), the two
conv layers, the four bidirectional LSTM layers (ONNX gate order i,o,f,c → PyTorch i,f,g,o), the
two linear layers and the 7-class powerset classifier. The converted state dict is cached once
(``.tools/samples/segmentation-3.0/``, loaded with ``weights_only=True``) and loaded into the same
PyanNet, whose ``Specifications`` (10 s, powerset of 3 speakers, at most 2 at once) are those of
segmentation-3.0. Its output matches onnxruntime's to 1e-4 (``tests/diarize`` checks it).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from agent.diarize.segmentation import ONNX_SHA256, segmentation_onnx_path
from agent.samples.cache import cache_lock, samples_cache_dir
from agent.timebase import SAMPLE_RATE

LSTM_LAYERS = 4
_GATES_ONNX_TO_TORCH = [0, 2, 3, 1]  # ONNX blocks i,o,f,c -> PyTorch i,f,g(c),o


def _reorder_gates(w: np.ndarray, hidden: int) -> np.ndarray:
    blocks = [w[k * hidden : (k + 1) * hidden] for k in range(4)]
    return np.concatenate([blocks[k] for k in _GATES_ONNX_TO_TORCH], axis=0)


def onnx_state(onnx_path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """Map the ONNX graph's initializers to PyanNet's state-dict names."""
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(str(onnx_path)).graph
    init = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    nodes = list(graph.node)
    state: dict[str, np.ndarray] = {}

    # waveform InstanceNorm: the first InstanceNormalization node, fed by the graph input
    first_norm = next(n for n in nodes if n.op_type == "InstanceNormalization" and n.input[0] == "input")
    state["sincnet.wav_norm1d.weight"] = init[first_norm.input[1]]
    state["sincnet.wav_norm1d.bias"] = init[first_norm.input[2]]
    # SincNet filters (computed from low_hz_/band_hz_ at export time)
    sinc = next(v for k, v in init.items() if k.startswith("/sincnet/conv1d.0/") and v.shape == (80, 1, 251))
    state["sincnet.conv1d.0.filterbank._filters"] = sinc
    for name in (
        "sincnet.conv1d.1.weight", "sincnet.conv1d.1.bias",
        "sincnet.conv1d.2.weight", "sincnet.conv1d.2.bias",
        "sincnet.norm1d.0.weight", "sincnet.norm1d.0.bias", "sincnet.norm1d.1.weight",
        "sincnet.norm1d.1.bias", "sincnet.norm1d.2.weight", "sincnet.norm1d.2.bias",
        "linear.0.bias", "linear.1.bias",
    ):  # fmt: skip
        state[name] = init[name]
    lstms = [n for n in nodes if n.op_type == "LSTM"]
    if len(lstms) != LSTM_LAYERS:
        raise ValueError(f"expected {LSTM_LAYERS} LSTM nodes, found {len(lstms)}")
    for layer, node in enumerate(lstms):
        w, r, b = init[node.input[1]], init[node.input[2]], init[node.input[3]]
        hidden = r.shape[-1]
        for direction, suffix in enumerate(("", "_reverse")):
            state[f"lstm.weight_ih_l{layer}{suffix}"] = _reorder_gates(w[direction], hidden)
            state[f"lstm.weight_hh_l{layer}{suffix}"] = _reorder_gates(r[direction], hidden)
            state[f"lstm.bias_ih_l{layer}{suffix}"] = _reorder_gates(b[direction][: 4 * hidden], hidden)
            state[f"lstm.bias_hh_l{layer}{suffix}"] = _reorder_gates(b[direction][4 * hidden :], hidden)
    matmuls = {n.name: n for n in nodes if n.op_type == "MatMul"}
    state["linear.0.weight"] = init[matmuls["/linear.0/MatMul"].input[1]].T
    state["linear.1.weight"] = init[matmuls["/linear.1/MatMul"].input[1]].T
    state["classifier.weight"] = init[matmuls["/classifier/MatMul"].input[1]].T
    classifier_add = next(n for n in nodes if n.op_type == "Add" and "/classifier/MatMul_output_0" in n.input)
    state["classifier.bias"] = init[
        next(i for i in classifier_add.input if i != "/classifier/MatMul_output_0")
    ]
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in state.items()}


def build_pyannet(onnx_path: str | os.PathLike[str] | None = None) -> Any:
    """A pyannote.audio ``PyanNet`` with segmentation-3.0's architecture and the ONNX weights."""
    import torch

    model = build_pyannet_skeleton()
    arrays = onnx_state(onnx_path or segmentation_onnx_path())
    state = {k: torch.from_numpy(v.copy()) for k, v in arrays.items()}
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.startswith("powerset")]
    if missing or unexpected:
        raise RuntimeError(f"segmentation-3.0 conversion: missing {missing}, unexpected {unexpected}")
    model.eval()
    return model


def segmentation_checkpoint() -> Path:
    """The converted model saved as a pyannote checkpoint in the cache (built once, ~6 MB)."""
    import torch

    target = samples_cache_dir() / "segmentation-3.0" / f"pyannet-v2-{ONNX_SHA256[:12]}.pt"
    if target.exists():
        return target
    with cache_lock("segmentation-3.0-ckpt"):
        if not target.exists():
            model = build_pyannet()
            tmp = target.with_name(f".{target.name}.tmp")
            torch.save({"state_dict": model.state_dict()}, tmp)  # tensors only: loads weights_only
            tmp.replace(target)
    return target


def load_segmentation_model() -> Any:
    """segmentation-3.0 as a pyannote ``Model`` (PyanNet), from the cached converted weights."""
    import torch

    model = build_pyannet_skeleton()
    saved = torch.load(segmentation_checkpoint(), map_location="cpu", weights_only=True)
    model.load_state_dict(saved["state_dict"], strict=True)
    model.eval()
    return model


def build_pyannet_skeleton() -> Any:
    """The architecture without weights (used to load the cached checkpoint quickly)."""
    from asteroid_filterbanks import Encoder, FreeFB
    from pyannote.audio.core.task import Problem, Resolution, Specifications
    from pyannote.audio.models.segmentation import PyanNet

    model = PyanNet(
        sincnet={"stride": 10},
        lstm={"hidden_size": 128, "num_layers": LSTM_LAYERS, "bidirectional": True, "monolithic": True,
              "dropout": 0.5},
        linear={"hidden_size": 128, "num_layers": 2},
        sample_rate=SAMPLE_RATE,
        num_channels=1,
    )  # fmt: skip
    # the learnt sinc filters, frozen into a free filterbank of the same shape (no padding, stride 10)
    model.sincnet.conv1d[0] = Encoder(FreeFB(80, 251, stride=10))
    model.specifications = Specifications(
        problem=Problem.MONO_LABEL_CLASSIFICATION,
        resolution=Resolution.FRAME,
        duration=10.0,
        warm_up=(0.0, 0.0),
        classes=["speaker#1", "speaker#2", "speaker#3"],
        powerset_max_classes=2,
        permutation_invariant=True,
    )
    model.setup()
    return model


def onnx_backed_pyannet(onnx_path: str | os.PathLike[str] | None = None, threads: int = 1) -> Any:
    """The same PyanNet (pyannote ``Model``: specifications, receptive field, powerset) whose
    forward pass runs the ONNX export on onnxruntime instead of torch.

    Same weights, same outputs (to float rounding). ``DIARIZATION_BACKEND=onnx`` selects it: an
    option where torch is slow (measured here with one thread each: torch 1.3 s, onnxruntime 1.9 s
    per minute of audio, so torch is the default)."""
    import torch

    from agent.diarize.segmentation import OnnxSegmentation

    model = build_pyannet_skeleton()
    session = OnnxSegmentation(onnx_path, threads=threads).session

    def forward(waveforms: torch.Tensor) -> torch.Tensor:
        x = waveforms.detach().cpu().numpy().astype(np.float32, copy=False)
        return torch.from_numpy(session.run(None, {"input": x})[0])

    model.forward = forward  # type: ignore[method-assign]
    model.eval()
    return model
