"""What every ONNX export here shares: an atomic write into a fingerprinted cache folder, ORT's dynamic
int8 quantization, and sessions on the best execution provider installed (CUDA when present).

Used by the cross-encoder backend (``rerank/onnx_backend.py``) and the bi-encoder query path
(``ingest/onnx_embed.py``). Nothing here imports torch: callers that export pass a function that does.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

log = logging.getLogger(__name__)

Precision = Literal["fp32", "int8"]
PRECISIONS: tuple[Precision, ...] = ("fp32", "int8")
MODEL_FILE = "model.onnx"


def physical_cores() -> int:
    """Threads for ORT's intra-op pool: every core we may use, none oversubscribed."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


def ort_providers() -> list[str]:
    """CUDA first when this onnxruntime build has it (onnxruntime-gpu), always CPU as the fallback."""
    import onnxruntime

    available = onnxruntime.get_available_providers()
    return [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider") if p in available] or available


def ort_session(path: Path, threads: int | None = None) -> Any:
    """An ORT inference session for ``path`` with all graph optimisations, on ``ort_providers()``."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or physical_cores()
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # ORT's pool threads otherwise busy-wait after every run, taking the cores the next stage needs (a cold
    # query's Chroma search ran ~1.5x slower behind them on 2 cores); a batch is long enough that waking
    # the threads costs nothing measurable.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3  # CUDA provider chatter about fallbacks to CPU for shape ops
    return ort.InferenceSession(str(path), options, providers=ort_providers())


def write_export(
    target: Path, precision: Precision, export_fp32: Callable[[Path], None], extra_files: dict[str, str] | None = None
) -> Path:
    """Build ``target`` (``.../<key>/model.onnx``) with ``export_fp32`` and, for int8, quantize it.

    Written into a temporary folder next to it and renamed into place, so a crash or a concurrent
    export never leaves a half-written model where the next run would load it. ``extra_files``
    (name -> text) are written beside the model in the same rename.
    """
    if target.is_file():
        return target
    cache_dir = target.parent.parent
    cache_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".export-", dir=cache_dir))
    try:
        fp32 = work / "fp32.onnx"
        export_fp32(fp32)
        final = work / MODEL_FILE
        if precision == "int8":
            quantize_int8(fp32, final)
            fp32.unlink()
        else:
            fp32.rename(final)
        for name, text in (extra_files or {}).items():
            (work / name).write_text(text, encoding="utf-8")
        try:
            work.rename(target.parent)
        except OSError:
            if not target.is_file():  # not a concurrent writer's finished export: a real failure
                raise
        log.info("exported %s model to %s", precision, target)
        return target
    finally:
        shutil.rmtree(work, ignore_errors=True)


def quantize_int8(source: Path, target: Path) -> None:
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
