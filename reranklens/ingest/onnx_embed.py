"""Bi-encoder embeddings through ONNX Runtime + ``tokenizers``: no torch, no sentence-transformers.

A query needs one embedding, and importing sentence-transformers (and torch with it) costs seconds
per process; ORT and ``tokenizers`` load in a fraction of that. Any sentence-transformers model made
of a Transformer, mean Pooling and optionally Normalize (all-MiniLM-L6-v2 is) is exported once
with ``torch.onnx`` and cached under the export dir, keyed by a fingerprint of the model folder's
files, the precision and the recipe; every later process loads only the ``.onnx`` file and the
model's own ``tokenizer.json``. Pooling and normalisation are done here in numpy, as
sentence-transformers does them, so fp32 vectors match the torch ones (cosine > 0.9999, tested)
and existing collections stay valid. ``int8`` is ORT's dynamic quantization of the same export.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from reranklens.errors import ModelUnavailableError
from reranklens.models.onnx import MODEL_FILE, Precision, ort_session, write_export

log = logging.getLogger(__name__)

# Bump when the export recipe changes, so old cached exports are not reused.
EXPORT_RECIPE = "1"
OPSET = 17
INT8_SUFFIX = "@int8"
MEAN_POOLING = "pooling_mode_mean_tokens"
# Files that change what the model computes; README, .gitattributes and training logs do not.
SOURCE_SUFFIXES = (".json", ".safetensors", ".bin", ".txt", ".model")
SKIPPED_FILES = {"README.md", "data_config.json", "train_script.py"}


def split_precision(name: str) -> tuple[str, Precision]:
    """``all-MiniLM-L6-v2@int8`` -> (``all-MiniLM-L6-v2``, ``int8``); no suffix means fp32."""
    if name.endswith(INT8_SUFFIX):
        return name.removesuffix(INT8_SUFFIX), "int8"
    return name, "fp32"


def unsupported_reason(model_dir: Path) -> str | None:
    """Why ``model_dir`` cannot run on the ONNX path, or None when it can (Transformer + mean
    Pooling [+ Normalize], with a fast-tokenizer ``tokenizer.json``)."""
    modules_file = model_dir / "modules.json"
    if not modules_file.is_file():
        return "no modules.json (not a sentence-transformers model folder)"
    if not (model_dir / "tokenizer.json").is_file():
        return "no tokenizer.json (needs a fast tokenizer)"
    modules = json.loads(modules_file.read_text(encoding="utf-8"))
    kinds = [str(m.get("type", "")).rsplit(".", 1)[-1] for m in modules]
    if kinds not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]):
        return f"modules {kinds} (only Transformer, Pooling[, Normalize] are exported)"
    if modules[0].get("path", "") != "":
        return "the Transformer module is not at the folder's root"
    pooling_file = model_dir / modules[1]["path"] / "config.json"
    pooling = json.loads(pooling_file.read_text(encoding="utf-8")) if pooling_file.is_file() else {}
    modes = sorted(key for key, value in pooling.items() if key.startswith("pooling_mode_") and value)
    if modes != [MEAN_POOLING]:
        return f"pooling {modes or 'unknown'} (only mean pooling is exported)"
    return None


def _source_files(model_dir: Path) -> list[Path]:
    return sorted(
        path
        for path in model_dir.rglob("*")
        if path.is_file()
        and path.suffix in SOURCE_SUFFIXES
        and path.name not in SKIPPED_FILES
        and not any(part.startswith(".") for part in path.relative_to(model_dir).parts)
    )


def source_fingerprint(model_dir: Path, cache_dir: Path) -> str:
    """A digest of the contents of every file that defines the model.

    Hashing 90 MB of weights costs ~0.4 s, too much for every query, so the digest is memoised
    under ``cache_dir`` by the files' names, sizes and modification times: a model retrained in
    place changes those and is hashed (and exported) again.
    """
    files = _source_files(model_dir)
    stat_key = hashlib.blake2b(digest_size=16)
    for path in files:
        stat = path.stat()
        stat_key.update(f"{path.relative_to(model_dir)}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
    memo = cache_dir / "fingerprints" / f"{stat_key.hexdigest()}.txt"
    if memo.is_file():
        return memo.read_text(encoding="utf-8").strip()
    digest = hashlib.blake2b(digest_size=16)
    for path in files:
        digest.update(str(path.relative_to(model_dir)).encode())
        with path.open("rb") as handle:
            while block := handle.read(1 << 22):
                digest.update(block)
    fingerprint = digest.hexdigest()
    memo.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=memo.parent, prefix=".fp-")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(fingerprint)
    os.replace(tmp, memo)
    return fingerprint


def embedder_export_path(model_dir: Path, cache_dir: Path, precision: Precision) -> Path:
    import onnxruntime

    fingerprint = source_fingerprint(model_dir, cache_dir)
    key = hashlib.blake2b(
        f"{fingerprint}|{precision}|recipe{EXPORT_RECIPE}|opset{OPSET}|ort{onnxruntime.__version__}".encode(),
        digest_size=10,
    ).hexdigest()
    return cache_dir / f"bi-encoder-{precision}-{key}" / MODEL_FILE


def ensure_embedder_export(model_dir: Path, cache_dir: Path, precision: Precision) -> Path:
    """The cached ONNX export of the bi-encoder in ``model_dir``; the one call here that may import
    torch (once per model, precision and machine)."""
    target = embedder_export_path(model_dir, cache_dir, precision)
    return write_export(target, precision, lambda path: _export_fp32(model_dir, path))


def _export_fp32(model_dir: Path, path: Path) -> None:
    import torch
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(model_dir), device="cpu")
    transformer = model[0].auto_model
    input_names = tuple(model.tokenizer.model_input_names)

    class TokenEmbeddings(torch.nn.Module):
        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
            return self.inner(**dict(zip(input_names, inputs, strict=True))).last_hidden_state

    # Two rows of different lengths, so the trace cannot bake in a batch size or a padding shape.
    sample = {name: torch.ones((2, 8), dtype=torch.long) for name in input_names}
    sample["attention_mask"][1, 5:] = 0
    if "token_type_ids" in sample:
        sample["token_type_ids"][:] = 0
    axes = {name: {0: "batch", 1: "sequence"} for name in input_names}
    axes["token_embeddings"] = {0: "batch", 1: "sequence"}
    transformer.eval()
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # tracer warnings about shape-dependent Python branches
        torch.onnx.export(
            TokenEmbeddings(transformer).cpu(),
            tuple(sample[name] for name in input_names),
            str(path),
            input_names=list(input_names),
            output_names=["token_embeddings"],
            dynamic_axes=axes,
            opset_version=OPSET,
            dynamo=False,
        )


class OnnxEmbedder:
    """A sentence-transformers bi-encoder (mean pooling) run by ONNX Runtime: the ``Embedder`` protocol.

    ``name`` is the collection-facing name: the model name, plus ``@int8`` for the quantized export,
    so vectors of the two precisions are never mixed in one collection.
    """

    def __init__(
        self, name: str, model_dir: Path, cache_dir: Path, precision: Precision = "fp32", batch_size: int = 32
    ) -> None:
        from tokenizers import Tokenizer

        reason = unsupported_reason(model_dir)
        if reason is not None:
            raise ModelUnavailableError(f"'{name}' cannot run on ONNX Runtime: {reason}.")
        self.name = name if precision == "fp32" else name + INT8_SUFFIX
        self.precision = precision
        self.batch_size = batch_size
        config_file = model_dir / "sentence_bert_config.json"
        config = json.loads(config_file.read_text(encoding="utf-8")) if config_file.is_file() else {}
        self.max_seq_length = int(config.get("max_seq_length") or 512)
        self.lowercase = bool(config.get("do_lower_case", False))
        self.path = ensure_embedder_export(model_dir, cache_dir, precision)
        self._session = ort_session(self.path)
        self._inputs = [item.name for item in self._session.get_inputs()]
        self._tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(self.max_seq_length)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length float32 vectors, one row per text, in the order given."""
        prepared = [str(text).strip() for text in texts]
        if self.lowercase:
            prepared = [text.lower() for text in prepared]
        encodings = self._tokenizer.encode_batch(prepared)
        order = np.argsort([-len(e.ids) for e in encodings], kind="stable")  # little padding per batch
        out = np.zeros((len(prepared), 0), dtype=np.float32)
        for start in range(0, len(order), self.batch_size):
            batch = order[start : start + self.batch_size]
            vectors = self._forward([encodings[i] for i in batch])
            if out.shape[1] == 0:
                out = np.zeros((len(prepared), vectors.shape[1]), dtype=np.float32)
            out[batch] = vectors
        return out

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_documents([text])[0]

    def _forward(self, encodings: list[Any]) -> np.ndarray:
        width = max(len(e.ids) for e in encodings)
        feed = {name: np.zeros((len(encodings), width), dtype=np.int64) for name in self._inputs}
        for row, encoding in enumerate(encodings):
            size = len(encoding.ids)
            feed["input_ids"][row, :size] = encoding.ids
            feed["attention_mask"][row, :size] = 1
            if "token_type_ids" in feed:
                feed["token_type_ids"][row, :size] = encoding.type_ids
        tokens = np.asarray(self._session.run(None, feed)[0], dtype=np.float32)
        mask = feed["attention_mask"][:, :, None].astype(np.float32)
        pooled = (tokens * mask).sum(axis=1) / np.clip(mask.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return pooled / np.where(norms == 0, 1, norms)
