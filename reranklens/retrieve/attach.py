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

import functools
import hashlib
import json
import logging
import os
import shutil
import stat
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np

from reranklens.access.hosts import strip_credentials
from reranklens.config import Settings
from reranklens.errors import InvalidInputError, RerankLensError, StoreUnavailableError
from reranklens.retrieve.conventions import MetadataKeys, majority_convention, map_chunk
from reranklens.retrieve.store import StoredChunks, stored_vectors
from reranklens.types import Chunk, CollectionInfo, Embedder

log = logging.getLogger(__name__)

REGISTRY_FILE = "attachments.json"
SNAPSHOT_DIR = "attached"
READ_BATCH = 1000
PROBE_SIZE = 5
# The name Chroma records for its own default embedding function (all-MiniLM-L6-v2 as ONNX, downloaded
# by Chroma on first use), the embedder name that loads it, and the same model as we ship it offline.
CHROMA_DEFAULT_EF = "default"
CHROMA_DEFAULT = "chroma:default"
CHROMA_DEFAULT_SAME_AS = "sentence-transformers/all-MiniLM-L6-v2"
PARTIAL_PREFIX = ".partial-"
# Free space a snapshot copy must leave on the data dir's disk.
FREE_SPACE_RESERVE = 256 * 2**20
PROCESS_STARTED = time.time()


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

    @classmethod
    def new(cls, name: str, source: str, collection: str, embedder: str, keys: MetadataKeys | None) -> Attachment:
        """An attachment made now, its source as the registry keeps it (``attachment_source``)."""
        return cls(
            name, attachment_source(source), collection, embedder, keys or MetadataKeys(), attached_at=time.time()
        )

    @property
    def is_server(self) -> bool:
        return is_server_source(self.source)

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
    """``attachments.json`` in the data dir: attached name -> ``Attachment``, and the stores opened on them."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.data_dir = settings.data_dir
        self.path = self.data_dir / REGISTRY_FILE
        self._lock = threading.Lock()
        self._opened: dict[str, AttachedStore] = {}

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

    def open(self, name: str) -> AttachedStore | None:
        """The read-only store of the attached collection ``name`` (opened once while its entry stays the
        same), or None when ``name`` is not attached."""
        attachment = self.get(name)
        return None if attachment is None else self._open(attachment)

    def _open(self, attachment: Attachment) -> AttachedStore:
        with self._lock:
            opened = self._opened.get(attachment.name)
        if opened is None or opened.attachment != attachment:
            opened = AttachedStore(attachment, self.settings)
            with self._lock:
                self._opened[attachment.name] = opened
        return opened

    def infos(self) -> list[CollectionInfo]:
        """Every attached collection by name, marked with where it lives; one that cannot be opened now
        (a server down, a directory moved) is listed with 0 chunks and a warning in the log."""
        infos = []
        for name, attachment in sorted(self.all().items()):
            try:
                info = self._open(attachment).info(name)
            except RerankLensError as exc:
                log.warning("attached collection %s unavailable: %s", name, exc)
                info = CollectionInfo(name, attachment.embedder, 0)
            infos.append(replace(info, attached_from=f"{attachment.source} :: {attachment.collection}"))
        return infos

    def remove(self, name: str) -> None:
        """Forget ``name`` and drop our snapshot copy of it (the attached store itself is not touched)."""
        with self._lock:
            entries = {n: a.to_json() for n, a in self.all().items() if n != name}
            self._write(entries)
            self._opened.pop(name, None)
        drop_snapshots(self.data_dir, name)

    def _write(self, entries: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps(entries, indent=2, sort_keys=True), encoding="utf-8")
        os.replace(temporary, self.path)


def is_server_source(source: str) -> bool:
    """True for a Chroma server's address (``http(s)://``), False for a directory."""
    return source.strip().startswith(("http://", "https://"))


def attachment_source(source: str) -> str:
    """``source`` as the registry stores and shows it: a server's URL without ``user:password@``, a
    directory resolved."""
    if is_server_source(source):
        return strip_credentials(source)
    return str(Path(source.strip()).expanduser().resolve())


def parse_server(source: str) -> tuple[str, int, bool]:
    """``http(s)://HOST:PORT`` -> (host, port, ssl); the port defaults to Chroma's 8000 (443 over https)."""
    parsed = urlparse(source.strip())
    try:
        port = parsed.port
    except ValueError:
        port = -1
    if not parsed.hostname or port == -1:
        raise InvalidInputError(f"'{strip_credentials(source)}' is not a server address: use http://HOST:PORT.")
    ssl = parsed.scheme == "https"
    return parsed.hostname, port or (443 if ssl else 8000), ssl


class AttachedStore:
    """The read-only view of one attached collection, with ``VectorStore``'s read methods.

    Methods take the attached ``name`` like ``VectorStore``'s do, so the workspace calls either the
    same way; it is always this attachment's collection.
    """

    def __init__(self, attachment: Attachment, settings: Settings) -> None:
        self.attachment = attachment
        self.data_dir = settings.data_dir
        snapshots = self.data_dir / SNAPSHOT_DIR / attachment.name
        self._client, self.revision = _open_client(attachment.source, snapshots, settings)
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


def check_attachment(attachment: Attachment, store: AttachedStore, model: Embedder) -> AttachReport:
    """Check an opened attachment against the embedder that should have built it, and detect its convention.

    The stored vectors' dimension must match the embedder's (else ``InvalidInputError``); a probe embeds a
    few stored documents and expects each to be its own nearest neighbour, and warns when fewer are
    (another model, or documents embedded with extra text around them).
    """
    collection, embedder_name = attachment.collection, attachment.embedder
    warnings: list[str] = []
    if store.embedding_function_name() == CHROMA_DEFAULT_EF and embedder_name != CHROMA_DEFAULT:
        warnings.append(
            f"'{collection}' was created with Chroma's default embedding function (all-MiniLM-L6-v2 as ONNX); "
            f"{CHROMA_DEFAULT_SAME_AS} is the same model (--embedder {CHROMA_DEFAULT} loads Chroma's own, "
            "which needs the internet the first time)."
        )
    count = store.count()
    sample = store.sample(PROBE_SIZE)
    dimension = None
    hits = total = 0
    if count:
        stored = np.asarray(sample["embeddings"], dtype=np.float32)
        dimension = int(stored.shape[1])
        produced = int(model.embed_query("dimension check").shape[0])
        if produced != dimension:
            raise InvalidInputError(
                f"'{collection}' stores {dimension}-dimensional vectors, but embedder '{embedder_name}' makes "
                f"{produced}-dimensional ones: name the embedder the collection was built with (--embedder)."
            )
        texts = [text or "" for text in sample["documents"] or []]
        probe_ids = [i for i, text in zip(sample["ids"], texts, strict=True) if text.strip()]
        vectors = model.embed_documents([t for t in texts if t.strip()]) if probe_ids else np.zeros((0, 0))
        total = len(probe_ids)
        for own_id, vector in zip(probe_ids, vectors, strict=True):
            nearest = store.query(attachment.name, vector, 1)
            hits += bool(nearest) and nearest[0][0].chunk_id == own_id
        if hits < total:
            warnings.append(
                f"Probe: only {hits} of {total} stored documents are their own nearest neighbour when embedded "
                f"with '{embedder_name}': the collection was probably built with another model, and vector "
                "search will be poor. Attach again with the embedder its application uses."
            )
    else:
        warnings.append(f"'{collection}' is empty: nothing to search yet.")
    attachment = replace(
        attachment, convention=store.detected_convention(sample), dimension=dimension, space=store.space()
    )
    return AttachReport(attachment, count, hits, total, tuple(warnings))


def _open_client(source: str, snapshot_root: Path, settings: Settings) -> tuple[Any, str]:
    """A Chroma client on the attached source, and a revision string for caches."""
    if is_server_source(source):
        return _open_server(source, settings), "server"
    return _open_directory(source, snapshot_root)


def _open_server(source: str, settings: Settings) -> Any:
    """An ``HttpClient`` over https when the address says so. Chroma's credentials from the environment
    (``CHROMA_CLIENT_AUTH_*``, a ``.env`` file) go only to the configured ``CHROMA_HOST``: an address a
    person typed gets a client built from explicit settings alone."""
    import chromadb

    host, port, ssl = parse_server(source)
    configured = bool(settings.chroma_host) and (host, port) == (
        str(settings.chroma_host).lower(),
        settings.chroma_port,
    )
    settings_type = chromadb.Settings if configured else _explicit_settings()
    try:
        client = chromadb.HttpClient(host=host, port=port, ssl=ssl, settings=settings_type(anonymized_telemetry=False))
        client.heartbeat()
    except Exception as exc:  # noqa: BLE001 - chromadb raises bare Exceptions for connection problems
        scheme = "https" if ssl else "http"
        raise StoreUnavailableError(
            f"Cannot reach the Chroma server at {scheme}://{host}:{port} ({type(exc).__name__}): is it running?"
        ) from exc
    return client


@functools.cache
def _explicit_settings() -> type[Any]:
    """Chroma's ``Settings`` read from the arguments only, never from the environment or a ``.env`` file."""
    import chromadb

    class ExplicitSettings(chromadb.Settings):  # type: ignore[misc]
        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[Any],
            init_settings: Any,
            env_settings: Any,
            dotenv_settings: Any,
            file_secret_settings: Any,
        ) -> tuple[Any, ...]:
            return (init_settings,)

    return ExplicitSettings


def _open_directory(source: str, snapshot_root: Path) -> tuple[Any, str]:
    """A ``PersistentClient`` on a copy of the directory (see the module docstring), taken when the
    directory changed since the last copy."""
    import chromadb

    path = Path(source).expanduser()
    if not (path / "chroma.sqlite3").is_file():
        raise InvalidInputError(
            f"'{source}' is not a Chroma persistent directory (no chroma.sqlite3 in it): "
            "give the directory passed to chromadb.PersistentClient(path=...), or http://HOST:PORT of a server."
        )
    files = plain_files(path)
    fingerprint = directory_fingerprint(files)
    snapshot = snapshot_root / fingerprint
    if not (snapshot / ".complete").is_file():
        snapshot_root.mkdir(parents=True, exist_ok=True)
        clear_stale_partials(snapshot_root.parent)
        check_free_space(source, sum(info.st_size for _, info in files), snapshot_root)
        started = time.perf_counter()
        partial = snapshot_root / f"{PARTIAL_PREFIX}{fingerprint}-{os.getpid()}"
        shutil.rmtree(partial, ignore_errors=True)
        try:
            shutil.copytree(path, partial, symlinks=True)  # links were refused above; never follow one
            (partial / ".complete").touch()
            shutil.rmtree(snapshot, ignore_errors=True)
            os.replace(partial, snapshot)
        finally:
            shutil.rmtree(partial, ignore_errors=True)
        log.info("snapshot of %s taken in %.1f s", path, time.perf_counter() - started)
    for old in snapshot_root.iterdir():
        if old.name != fingerprint and not old.name.startswith(PARTIAL_PREFIX):
            shutil.rmtree(old, ignore_errors=True)
    client = chromadb.PersistentClient(path=str(snapshot), settings=chromadb.Settings(anonymized_telemetry=False))
    return client, fingerprint


def plain_files(path: Path) -> list[tuple[Path, os.stat_result]]:
    """Every file under ``path`` (relative path, ``lstat``), or ``InvalidInputError`` naming the first
    symbolic link or special file: the copy must hold the directory's own files, never what a link points to
    (a link to ``/etc`` would be copied into the data dir and searched)."""
    files: list[tuple[Path, os.stat_result]] = []
    for folder, folders, names in os.walk(path):  # a link to a folder is listed, never entered
        for name in sorted(folders + names):
            entry = Path(folder) / name
            info = entry.lstat()
            relative = entry.relative_to(path)
            if stat.S_ISLNK(info.st_mode) or not (stat.S_ISREG(info.st_mode) or stat.S_ISDIR(info.st_mode)):
                kind = "a symbolic link" if stat.S_ISLNK(info.st_mode) else "a special file"
                raise InvalidInputError(
                    f"'{path}' holds {kind} ({relative}): a Chroma directory is copied with its own files only. "
                    "Attach a copy without links, or its Chroma server (http://HOST:PORT)."
                )
            if stat.S_ISREG(info.st_mode):
                files.append((relative, info))
    return files


def directory_fingerprint(files: Sequence[tuple[Path, os.stat_result]]) -> str:
    """A hash of every file's relative path, size and modification time (``plain_files``)."""
    digest = hashlib.sha256()
    for relative, info in sorted(files, key=lambda item: str(item[0])):
        digest.update(f"{relative}\0{info.st_size}\0{info.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


def check_free_space(source: str, needed: int, target: Path) -> None:
    """``InvalidInputError`` unless copying ``needed`` bytes leaves ``FREE_SPACE_RESERVE`` free at ``target``."""
    free = shutil.disk_usage(target).free
    if needed + FREE_SPACE_RESERVE > free:
        raise InvalidInputError(
            f"Copying '{source}' needs {needed / 2**20:,.0f} MiB, but the data dir has {free / 2**20:,.0f} MiB free "
            f"(and keeps {FREE_SPACE_RESERVE // 2**20} MiB spare): free some space, or attach its Chroma server."
        )


def clear_stale_partials(attached_root: Path) -> None:
    """Remove the ``.partial-*`` copies no process is still writing: their process has exited, or it is this
    one's own pid from before it started (a restarted server in a container often gets the same pid)."""
    for partial in attached_root.glob(f"*/{PARTIAL_PREFIX}*"):
        if not _copy_in_progress(partial):
            shutil.rmtree(partial, ignore_errors=True)


def _copy_in_progress(partial: Path) -> bool:
    try:
        pid = int(partial.name.rsplit("-", 1)[-1])
        if pid == os.getpid():
            return partial.stat().st_mtime >= PROCESS_STARTED
        os.kill(pid, 0)
    except (ValueError, ProcessLookupError, FileNotFoundError):
        return False
    except PermissionError:
        return True  # another user's live process
    return True


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
