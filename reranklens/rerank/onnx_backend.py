"""ONNX Runtime inference for cross-encoders: fp32 and dynamic-int8, exported once and cached on disk.

Why ONNX Runtime and our own export: on a CPU without AVX-512, ORT's dynamic int8 MatMuls are
the one lever that roughly halves the cost of a MiniLM cross-encoder (see bench/rerank_bench.py).
sentence-transformers' own ``backend="onnx"`` needs ``optimum``, whose releases pin transformers
below what sentence-transformers 6 requires, so we export with ``torch.onnx`` (the TorchScript
exporter: one trace, no extra dependencies) and quantize with ORT's own ``quantize_dynamic``.

Exports are keyed by a fingerprint of the model's weights and config plus the export options, so
a retrained model in the same directory is exported again and an unchanged one never is.
"""

from __future__ import annotations

import hashlib
import json
import logging
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from reranklens.models.onnx import MODEL_FILE, Precision, ort_session, write_export

log = logging.getLogger(__name__)

# Bump when the export recipe changes, so old cached exports are not reused.
EXPORT_RECIPE = "1"
OPSET = 17
INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")
__all__ = ["INPUT_NAMES", "MODEL_FILE", "OnnxCrossEncoderSession", "Precision", "ensure_export", "export_path"]


def weights_fingerprint(model: Any) -> str:
    """A digest of every parameter and the config: identical weights give identical exports."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(json.dumps(model.config.to_dict(), sort_keys=True, default=str).encode())
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def export_path(cache_dir: Path, fingerprint: str, precision: Precision) -> Path:
    import onnxruntime

    key = hashlib.blake2b(
        f"{fingerprint}|{precision}|recipe{EXPORT_RECIPE}|opset{OPSET}|ort{onnxruntime.__version__}".encode(),
        digest_size=10,
    ).hexdigest()
    return cache_dir / f"cross-encoder-{precision}-{key}" / MODEL_FILE


def ensure_export(model: Any, input_names: tuple[str, ...], cache_dir: Path, precision: Precision) -> Path:
    """The cached ONNX file for ``model`` at ``precision``, exporting it first when missing
    (atomically: see ``reranklens.models.onnx.write_export``)."""
    target = export_path(cache_dir, weights_fingerprint(model), precision)
    return write_export(target, precision, lambda path: _export_fp32(model, input_names, path))


def _export_fp32(model: Any, input_names: tuple[str, ...], path: Path) -> None:
    import torch

    class Logits(torch.nn.Module):
        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
            return self.inner(**dict(zip(input_names, inputs, strict=True))).logits

    # Two rows of different lengths, so the trace cannot bake in a batch size or a padding shape.
    sample = {name: torch.ones((2, 8), dtype=torch.long) for name in input_names}
    sample["attention_mask"][1, 5:] = 0
    if "token_type_ids" in sample:
        sample["token_type_ids"][:, :4] = 0
    axes = {name: {0: "batch", 1: "sequence"} for name in input_names} | {"logits": {0: "batch"}}
    was_training = model.training
    model.eval()
    try:
        with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
            warnings.simplefilter("ignore")  # tracer warnings about shape-dependent Python branches
            torch.onnx.export(
                Logits(model).cpu(),
                tuple(sample[name] for name in input_names),
                str(path),
                input_names=list(input_names),
                output_names=["logits"],
                dynamic_axes=axes,
                opset_version=OPSET,
                dynamo=False,
            )
    finally:
        model.train(was_training)


class OnnxCrossEncoderSession:
    """One ORT session for an exported cross-encoder; ``run`` maps padded numpy inputs to logits."""

    def __init__(self, path: Path, input_names: tuple[str, ...], threads: int | None = None) -> None:
        self.path = path
        self.input_names = input_names
        self._session = ort_session(path, threads)

    def run(self, features: dict[str, np.ndarray]) -> np.ndarray:
        feed = {name: np.asarray(features[name], dtype=np.int64) for name in self.input_names}
        return np.asarray(self._session.run(None, feed)[0], dtype=np.float32).reshape(-1)
