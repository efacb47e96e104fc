"""Attached collections: another application's Chroma collection, searched read-only.

An attachment names a Chroma persistent directory or a ``chroma run`` server (``http://HOST:PORT``),
one collection in it, the embedder that built it, and how its metadata maps to document id, source
and heading (see ``conventions``). The registry is a small JSON file in the data dir.

Read-only, by construction: this module calls only Chroma's ``get_collection``, ``count``, ``get``
and ``query``. A *directory* is never opened in place: Chroma 1.x writes to a persistent directory
even when a client only reads (it compacts its log into the index and updates SQLite on open), so
RerankLens copies the directory into its own data dir and opens the copy. The copy is taken again
when the files of the original change (their application wrote to it), keyed by a fingerprint of
every file's path, size and modification time.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np

from reranklens.errors import InvalidInputError, StoreUnavailableError
from reranklens.retrieve.conventions import MetadataKeys, majority_convention, map_chunk
from reranklens.retrieve.store import StoredChunks, stored_vectors
from reranklens.types import Chunk, CollectionInfo

log = logging.getLogger(__name__)

REGISTRY_FILE = "attachments.json"
SNAPSHOT_DIR = "attached"
READ_BATCH = 1000
PROBE_SIZE = 5
CHROMA_DEFAULT_EF = "default"


@dataclass(frozen=True)
class Attachment:
    """One attached collection as the registry stores it."""

    name: str
    source: str
    collection: str
    embedder: str
    keys: MetadataKeys = field(default_factory=MetadataKeys)
    convention: str = "plain"
    dimension: int | None = None
    space: str = "l2"
    attached_at: float = 0.0

    @property
    def is_server(self) -> bool:
        return self.source.startswith(("http://", "https://"))

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Attachment:
        data = dict(data)
        data["keys"] = MetadataKeys(**(data.get("keys") or {}))
        return cls(**data)


@dataclass(frozen=True)
class AttachReport:
    """What attaching found: the stored count, the probe's self-hits, and warnings for the user."""

    attachment: Attachment
    count: int
    probe_hits: int
    probe_total: int
    warnings: tuple[str, ...] = ()


class AttachmentRegistry:
    """``attachments.json`` in the data dir: attached name -> ``Attachment``."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / REGISTRY_FILE
        self._lock = threading.Lock()

    def all(self) -> dict[str, Attachment]:
        if not self.path.is_file():
            return {}
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise InvalidInputError(f"Cannot read {self.path} ({exc}): fix or delete the file.") from exc
        return {name: Attachment.from_json(data) for name, data in raw.items()}

    def get(self, name: str) -> Attachment | None:
        return self.all().get(name)

    def save(self, attachment: Attachment) -> None:
        with self._lock:
            entries = {name: a.to_json() for name, a in self.all().items()}
            entries[attachment.name] = attachment.to_json()
            self._write(entries)

    def remove(self, name: str) -> None:
        with self._lock:
            entries = {n: a.to_json() for n, a in self.all().items() if n != name}
            self._write(entries)

    def _write(self, entries: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps(entries, indent=2, sort_keys=True), encoding="utf-8")
        os.replace(temporary, self.path)


def parse_server(source: str) -> tuple[str, int]:
    """``http://HOST:PORT`` -> (host, port); the port defaults to Chroma's 8000."""
    parsed = urlparse(source)
    if not parsed.hostname:
        raise InvalidInputError(f"'{source}' is not a server address: use http://HOST:PORT.")
    return parsed.hostname, parsed.port or 8000


def directory_fingerprint(path: Path) -> str:
    """A hash of every file's relative path, size and modification time under ``path``."""
    digest = hashlib.sha256()
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        stat = file.stat()
        digest.update(f"{file.relative_to(path)}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


class AttachedStore:
    """The read-only view of one attached collection, with ``VectorStore``'s read methods.

    Methods take the attached ``name`` like ``VectorStore``'s do, so the workspace calls either the
    same way; it is always this attachment's collection.
    """

    def __init__(self, attachment: Attachment, data_dir: Path) -> None:
        self.attachment = attachment
        self.data_dir = data_dir
        self._client, self.revision = _open_client(attachment.source, data_dir / SNAPSHOT_DIR / attachment.name)
        self._collection = _get_collection(self._client, attachment.collection, attachment.source)

    # -- VectorStore's read interface ------------------------------------------------------------
    def collection(self, name: str) -> Any:
        return self._collection

    def metadata(self, name: str) -> dict[str, Any]:
        return {"embedder": self.attachment.embedder, "revision": f"{self.revision}:{self.count()}"}

    def info(self, name: str) -> CollectionInfo:
        return CollectionInfo(
            name=self.attachment.name, embedder=self.attachment.embedder, chunk_count=self.count(), doc_count=None
        )

    def count(self) -> int:
        return int(self._collection.count())

    def all_chunks(self, name: str) -> StoredChunks:
        chunks: list[Chunk] = []
        total = self.count()
        for offset in range(0, total, READ_BATCH):
            result = self._collection.get(include=["documents", "metadatas"], limit=READ_BATCH, offset=offset)
            chunks += self._chunks(result["ids"], result["documents"], result["metadatas"])
        return StoredChunks(chunks=tuple(chunks), doc_hashes={})

    def chunk_page(self, name: str, offset: int, limit: int) -> list[Chunk]:
        """``limit`` chunks from ``offset`` in the store's own order (the Corpus page browses with it)."""
        result = self._collection.get(include=["documents", "metadatas"], limit=limit, offset=offset)
        return self._chunks(result["ids"], result["documents"], result["metadatas"])

    def existing_ids(self, name: str, chunk_ids: Sequence[str]) -> set[str]:
        if not chunk_ids:
            return set()
        return set(self._collection.get(ids=list(chunk_ids), include=[])["ids"])

    def query(self, name: str, embedding: np.ndarray, n: int) -> list[tuple[Chunk, float]]:
        """Nearest chunks, closest first, with the distance as a cosine distance (1 - similarity),
        whatever space the collection uses (l2 on unit vectors: d/2; ip: 1 - dot = as is)."""
        result = self._collection.query(  # no count() first: O(chunks), and Chroma caps n by itself
            query_embeddings=[np.asarray(embedding, dtype=np.float32)],
            n_results=n,
            include=["documents", "metadatas", "distances"],
        )
        chunks = self._chunks(result["ids"][0], result["documents"][0], result["metadatas"][0])
        scale = 0.5 if self.attachment.space == "l2" else 1.0
        return [(chunk, float(d) * scale) for chunk, d in zip(chunks, result["distances"][0], strict=True)]

    def vectors(self, name: str, chunk_ids: Sequence[str]) -> dict[str, np.ndarray]:
        """The stored vectors of those of ``chunk_ids`` the collection holds, by id."""
        return stored_vectors(self._collection, chunk_ids)

    # -- what attaching needs -------------------------------------------------------------------
    def sample(self, n: int = PROBE_SIZE) -> dict[str, Any]:
        """The first ``n`` stored items with documents, metadata and embeddings."""
        return self._collection.get(include=["documents", "metadatas", "embeddings"], limit=n)

    def space(self) -> str:
        hnsw = (self._collection.configuration or {}).get("hnsw") or {}
        return str(hnsw.get("space") or (self._collection.metadata or {}).get("hnsw:space") or "l2")

    def embedding_function_name(self) -> str | None:
        """The name of the embedding function the collection was created with, if Chroma recorded one."""
        function = (self._collection.configuration or {}).get("embedding_function")
        if function is None:
            return None
        try:
            return str(function.name())
        except Exception:  # noqa: BLE001 - legacy or custom functions may not name themselves
            return None

    def _chunks(self, ids: Sequence[str], documents: Sequence[str | None], metas: Sequence[Any]) -> list[Chunk]:
        keys = self.attachment.keys
        texts = documents or [None] * len(ids)
        metadatas = metas or [None] * len(ids)
        return [map_chunk(i, text, meta, keys) for i, text, meta in zip(ids, texts, metadatas, strict=True)]

    def detected_convention(self, sample: dict[str, Any]) -> str:
        return majority_convention(sample.get("metadatas") or [])


def _open_client(source: str, snapshot_root: Path) -> tuple[Any, str]:
    """A Chroma client on the attached source, and a revision string for caches."""
    import chromadb

    settings = chromadb.Settings(anonymized_telemetry=False)
    if source.startswith(("http://", "https://")):
        host, port = parse_server(source)
        try:
            client = chromadb.HttpClient(host=host, port=port, settings=settings)
            client.heartbeat()
        except Exception as exc:  # noqa: BLE001 - chromadb raises bare Exceptions for connection problems
            raise StoreUnavailableError(
                f"Cannot reach the Chroma server at {host}:{port} ({type(exc).__name__}): is it running?"
            ) from exc
        return client, "server"
    path = Path(source).expanduser()
    if not (path / "chroma.sqlite3").is_file():
        raise InvalidInputError(
            f"'{source}' is not a Chroma persistent directory (no chroma.sqlite3 in it): "
            "give the directory passed to chromadb.PersistentClient(path=...), or http://HOST:PORT of a server."
        )
    fingerprint = directory_fingerprint(path)
    snapshot = snapshot_root / fingerprint
    if not (snapshot / ".complete").is_file():
        started = time.perf_counter()
        partial = snapshot_root / f".partial-{fingerprint}-{os.getpid()}"
        shutil.rmtree(partial, ignore_errors=True)
        shutil.copytree(path, partial)
        (partial / ".complete").touch()
        shutil.rmtree(snapshot, ignore_errors=True)
        os.replace(partial, snapshot)
        log.info("snapshot of %s taken in %.1f s", path, time.perf_counter() - started)
    for old in snapshot_root.iterdir():
        if old.name != fingerprint and not old.name.startswith(".partial-"):
            shutil.rmtree(old, ignore_errors=True)
    return chromadb.PersistentClient(path=str(snapshot), settings=settings), fingerprint


def _get_collection(client: Any, name: str, source: str) -> Any:
    try:
        return client.get_collection(name)
    except Exception as exc:
        if type(exc).__name__ == "NotFoundError" or "does not exist" in str(exc):
            known = ", ".join(sorted(c.name for c in client.list_collections())) or "none"
            raise InvalidInputError(
                f"No collection named '{name}' in {source} (it has: {known}): pass one of those with --collection."
            ) from exc
        raise


def drop_snapshots(data_dir: Path, name: str) -> None:
    shutil.rmtree(data_dir / SNAPSHOT_DIR / name, ignore_errors=True)
