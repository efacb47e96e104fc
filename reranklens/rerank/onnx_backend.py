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
import os
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Any, Literal

import numpy as np

log = logging.getLogger(__name__)

Precision = Literal["fp32", "int8"]
# Bump when the export recipe changes, so old cached exports are not reused.
EXPORT_RECIPE = "1"
OPSET = 17
MODEL_FILE = "model.onnx"
INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")


def physical_cores() -> int:
    """Threads for ORT's intra-op pool: every core we may use, none oversubscribed."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


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
    """The cached ONNX file for ``model`` at ``precision``, exporting it first when missing.

    Written into a temporary folder and renamed into place, so a crash or a concurrent export never
    leaves a half-written model where the next run would load it.
    """
    target = export_path(cache_dir, weights_fingerprint(model), precision)
    if target.is_file():
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".export-", dir=cache_dir))
    try:
        fp32 = work / "fp32.onnx"
        _export_fp32(model, input_names, fp32)
        final = work / MODEL_FILE
        if precision == "int8":
            _quantize_int8(fp32, final)
            fp32.unlink()
        else:
            fp32.rename(final)
        try:
            work.rename(target.parent)
        except OSError:
            if not target.is_file():  # not a concurrent writer's finished export: a real failure
                raise
        log.info("exported %s cross-encoder to %s", precision, target)
        return target
    finally:
        shutil.rmtree(work, ignore_errors=True)


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


def _quantize_int8(source: Path, target: Path) -> None:
    """Dynamic int8 (weights per output channel, activations per batch): the accuracy-friendlier of
    ORT's two dynamic schemes at nearly the same speed, see bench/rerank_bench.py."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # ORT logs a "consider pre-processing" hint on the root logger
    try:
        quantize_dynamic(
            str(source),
            str(target),
            weight_type=QuantType.QInt8,
            per_channel=True,
            extra_options={"DefaultTensorType": 1},  # FLOAT, for tensors shape inference cannot type
        )
    finally:
        root.setLevel(level)


class OnnxCrossEncoderSession:
    """One ORT session for an exported cross-encoder; ``run`` maps padded numpy inputs to logits."""

    def __init__(self, path: Path, input_names: tuple[str, ...], threads: int | None = None) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or physical_cores()
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.path = path
        self.input_names = input_names
        self._session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def run(self, features: dict[str, np.ndarray]) -> np.ndarray:
        feed = {name: np.asarray(features[name], dtype=np.int64) for name in self.input_names}
        return np.asarray(self._session.run(None, feed)[0], dtype=np.float32).reshape(-1)
