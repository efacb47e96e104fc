"""The one place that talks to Chroma: a persistent client under the data dir by default,
a ``chroma run`` server when ``CHROMA_HOST`` is set. Collections use cosine space and never an
embedding function of Chroma's own (its default one downloads a model): we pass vectors in."""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from reranklens.config import Settings
from reranklens.errors import InvalidInputError, StoreUnavailableError, UnknownCollectionError
from reranklens.types import Chunk, CollectionInfo

log = logging.getLogger(__name__)

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,126}[A-Za-z0-9]$")
# ef_search >= the largest candidate count (200) keeps HNSW results close to exact search.
HNSW_CONFIGURATION = {"hnsw": {"space": "cosine", "ef_construction": 200, "ef_search": 256, "max_neighbors": 32}}
WRITE_BATCH = 1000
READ_BATCH = 5000


def validate_collection_name(name: str) -> str:
    """Chroma's rule, checked early so the user sees it before any work is done."""
    if not _NAME.match(name or ""):
        raise InvalidInputError(
            f"Invalid collection name '{name}': use 3-128 letters, digits, '.', '_' or '-', "
            "starting and ending with a letter or digit."
        )
    return name


@dataclass(frozen=True)
class StoredChunks:
    """Everything a collection holds except the vectors, in one read (for BM25 and bookkeeping)."""

    chunks: tuple[Chunk, ...]
    doc_hashes: dict[str, str]


class VectorStore:
    """Chroma collections as RerankLens sees them: chunks with metadata and an embedder name."""

    def __init__(self, settings: Settings) -> None:
        import chromadb

        self.settings = settings
        chroma_settings = chromadb.Settings(anonymized_telemetry=False)
        try:
            if settings.chroma_host:
                self.client = chromadb.HttpClient(
                    host=settings.chroma_host, port=settings.chroma_port, settings=chroma_settings
                )
                self.client.heartbeat()
            else:
                settings.chroma_path.mkdir(parents=True, exist_ok=True)
                self.client = chromadb.PersistentClient(path=str(settings.chroma_path), settings=chroma_settings)
        except Exception as exc:  # noqa: BLE001 - chromadb raises bare Exceptions for connection problems
            raise StoreUnavailableError(self._unavailable_message(exc)) from exc

    @property
    def location(self) -> str:
        if self.settings.chroma_host:
            return f"chroma server {self.settings.chroma_host}:{self.settings.chroma_port}"
        return str(self.settings.chroma_path)

    def _unavailable_message(self, exc: Exception) -> str:
        if self.settings.chroma_host:
            return (
                f"Cannot reach the Chroma server at {self.settings.chroma_host}:{self.settings.chroma_port} "
                f"({type(exc).__name__}): start it with `chroma run --port {self.settings.chroma_port}` "
                "or unset CHROMA_HOST to use the local store."
            )
        return f"Cannot open the Chroma store at {self.settings.chroma_path}: {exc}"

    def _call(self, function: Any, *args: Any, **kwargs: Any) -> Any:
        """Run a Chroma call, turning connection failures into one clear error.

        A server that restarted drops the client's pooled keep-alive connections, so the first
        call after it is back fails once at the transport level: that call is retried once, on a
        fresh connection. The client itself is kept, so a long-running app recovers on its own.
        """
        try:
            return function(*args, **kwargs)
        except Exception as exc:
            if not self._is_unavailable(exc):
                raise
            log.info("chroma server call failed (%s), retrying once", type(exc).__name__)
        try:
            return function(*args, **kwargs)
        except Exception as exc:
            if self._is_unavailable(exc):
                raise StoreUnavailableError(self._unavailable_message(exc)) from exc
            raise

    def _is_unavailable(self, exc: Exception) -> bool:
        if isinstance(exc, UnknownCollectionError | InvalidInputError) or _is_not_found(exc):
            return False
        return bool(self.settings.chroma_host) and _is_connection_error(exc)

    def names(self) -> list[str]:
        return sorted(c.name for c in self._call(self.client.list_collections))

    def exists(self, name: str) -> bool:
        return name in self.names()

    def collection(self, name: str) -> Any:
        """The Chroma collection ``name``; ``UnknownCollectionError`` lists the ones that exist."""
        try:
            return self._call(self.client.get_collection, name)
        except Exception as exc:
            if _is_not_found(exc):
                raise UnknownCollectionError(name, self.names()) from exc
            raise

    def create(self, name: str, embedder: str, extra: dict[str, Any] | None = None) -> Any:
        metadata = {"embedder": embedder, "revision": uuid.uuid4().hex, "created_by": "reranklens"}
        metadata.update(extra or {})
        return self._call(
            self.client.create_collection,
            name,
            configuration=HNSW_CONFIGURATION,
            metadata=metadata,
            embedding_function=None,
        )

    def delete(self, name: str) -> None:
        if not self.exists(name):
            raise UnknownCollectionError(name, self.names())
        self._call(self.client.delete_collection, name)

    def rename(self, old: str, new: str) -> None:
        self._call(self.collection(old).modify, name=new)

    def info(self, name: str) -> CollectionInfo:
        collection = self.collection(name)
        metadata = collection.metadata or {}
        return CollectionInfo(
            name=name,
            embedder=str(metadata.get("embedder", "unknown")),
            chunk_count=self._call(collection.count),
            doc_count=int(metadata["doc_count"]) if "doc_count" in metadata else None,
        )

    def metadata(self, name: str) -> dict[str, Any]:
        return dict(self.collection(name).metadata or {})

    def update_metadata(self, name: str, **changes: Any) -> None:
        collection = self.collection(name)
        merged = dict(collection.metadata or {})
        merged.update(changes)
        self._call(collection.modify, metadata=merged)

    def add(self, name: str, chunks: Sequence[Chunk], embeddings: np.ndarray, doc_hashes: dict[str, str]) -> None:
        collection = self.collection(name)
        for start in range(0, len(chunks), WRITE_BATCH):
            batch = chunks[start : start + WRITE_BATCH]
            self._call(
                collection.upsert,
                ids=[c.chunk_id for c in batch],
                embeddings=embeddings[start : start + WRITE_BATCH],
                documents=[c.text for c in batch],
                metadatas=[c.to_metadata(doc_hashes[c.doc_id]) for c in batch],
            )

    def remove(self, name: str, chunk_ids: Sequence[str]) -> None:
        collection = self.collection(name)
        for start in range(0, len(chunk_ids), WRITE_BATCH):
            self._call(collection.delete, ids=list(chunk_ids[start : start + WRITE_BATCH]))

    def all_chunks(self, name: str) -> StoredChunks:
        """Every chunk, read in pages of ``READ_BATCH`` (one giant ``get`` of a 200k-chunk collection
        holds several copies of it in memory at once, and over HTTP can exceed request limits)."""
        collection = self.collection(name)
        chunks: list[Chunk] = []
        hashes: dict[str, str] = {}
        offset = 0
        while True:
            result = self._call(collection.get, include=["documents", "metadatas"], limit=READ_BATCH, offset=offset)
            for chunk_id, text, meta in zip(result["ids"], result["documents"], result["metadatas"], strict=True):
                chunks.append(Chunk.from_metadata(chunk_id, text or "", meta or {}))
                if meta:
                    hashes[str(meta["doc_id"])] = str(meta.get("doc_hash", ""))
            if len(result["ids"]) < READ_BATCH:
                break
            offset += READ_BATCH
        return StoredChunks(chunks=tuple(chunks), doc_hashes=hashes)

    def get_chunks(self, name: str, chunk_ids: Sequence[str]) -> list[Chunk]:
        """The chunks ``chunk_ids``, in that order (one read; a persisted BM25 index asks for its top n)."""
        if not chunk_ids:
            return []
        result = self._call(self.collection(name).get, ids=list(chunk_ids), include=["documents", "metadatas"])
        found = {
            chunk_id: Chunk.from_metadata(chunk_id, text or "", meta or {})
            for chunk_id, text, meta in zip(result["ids"], result["documents"], result["metadatas"], strict=True)
        }
        missing = [i for i in chunk_ids if i not in found]
        if missing:
            raise StoreUnavailableError(
                f"Collection '{name}' changed while it was searched ({len(missing)} chunks gone): search again."
            )
        return [found[i] for i in chunk_ids]

    def chunk_page(self, name: str, offset: int, limit: int) -> list[Chunk]:
        """``limit`` chunks from ``offset`` in the store's own order (for browsing a collection page by page)."""
        result = self._call(self.collection(name).get, offset=offset, limit=limit, include=["documents", "metadatas"])
        return [
            Chunk.from_metadata(chunk_id, text or "", meta or {})
            for chunk_id, text, meta in zip(result["ids"], result["documents"], result["metadatas"], strict=True)
        ]

    def chunks_by_id(self, name: str, chunk_ids: Sequence[str]) -> dict[str, Chunk]:
        """Those of ``chunk_ids`` the collection holds, by id (ids it lacks are simply absent)."""
        if not chunk_ids:
            return {}
        result = self._call(self.collection(name).get, ids=list(chunk_ids), include=["documents", "metadatas"])
        return {
            chunk_id: Chunk.from_metadata(chunk_id, text or "", meta or {})
            for chunk_id, text, meta in zip(result["ids"], result["documents"], result["metadatas"], strict=True)
        }

    def existing_ids(self, name: str, chunk_ids: Sequence[str]) -> set[str]:
        """Which of ``chunk_ids`` the collection still holds (labels of the others are orphaned)."""
        if not chunk_ids:
            return set()
        result = self._call(self.collection(name).get, ids=list(chunk_ids), include=[])
        return set(result["ids"])

    def embeddings(self, name: str) -> tuple[list[str], np.ndarray]:
        """All chunk ids and their stored vectors (for exact-search checks and analysis)."""
        result = self._call(self.collection(name).get, include=["embeddings"])
        return list(result["ids"]), np.asarray(result["embeddings"], dtype=np.float32)

    def vectors(self, name: str, chunk_ids: Sequence[str]) -> dict[str, np.ndarray]:
        """The stored vectors of those of ``chunk_ids`` the collection holds, by id (an embedding map
        places a query's candidates with the very vectors vector search compared)."""
        return stored_vectors(self.collection(name), chunk_ids, self._call)

    def query(self, name: str, embedding: np.ndarray, n: int) -> list[tuple[Chunk, float]]:
        """Nearest chunks by cosine distance, closest first.

        No ``count()`` first: Chroma returns fewer than ``n`` (none for an empty collection) by itself,
        and counting costs O(chunks), 13 ms a query at 200,000 chunks.
        """
        result = self._call(
            self.collection(name).query,
            query_embeddings=[np.asarray(embedding, dtype=np.float32)],
            n_results=n,
            include=["documents", "metadatas", "distances"],
        )
        return [
            (Chunk.from_metadata(chunk_id, text or "", meta or {}), float(distance))
            for chunk_id, text, meta, distance in zip(
                result["ids"][0], result["documents"][0], result["metadatas"][0], result["distances"][0], strict=True
            )
        ]


def stored_vectors(collection: Any, chunk_ids: Sequence[str], call: Any = None) -> dict[str, np.ndarray]:
    """``{id: vector}`` for those of ``chunk_ids`` in a Chroma ``collection``, read in batches of ``READ_BATCH``."""
    call = call or (lambda function, *args, **kwargs: function(*args, **kwargs))
    found: dict[str, np.ndarray] = {}
    ids = list(dict.fromkeys(chunk_ids))
    for start in range(0, len(ids), READ_BATCH):
        result = call(collection.get, ids=ids[start : start + READ_BATCH], include=["embeddings"])
        vectors = np.asarray(result["embeddings"], dtype=np.float32)
        found.update({chunk_id: vectors[i] for i, chunk_id in enumerate(result["ids"])})
    return found


def _is_not_found(exc: Exception) -> bool:
    return type(exc).__name__ == "NotFoundError" or "does not exist" in str(exc)


def _is_connection_error(exc: Exception) -> bool:
    text = f"{type(exc).__name__} {exc}".lower()
    return any(word in text for word in ("connect", "timeout", "refused", "unreachable", "remoteprotocol"))
