"""The BM25 indexes of a data dir: built once per collection version, saved, loaded by every other process.

An own collection's index is saved under ``data_dir/bm25/<collection>/<fingerprint>``, the fingerprint
being the collection's ``revision`` (renewed by every ingest that changes it), its chunk count (which
catches an ingest killed before it renewed the revision) and ``BM25_RECIPE``. Every other process loads
it memory-mapped instead of reading all chunks and re-tokenizing; a changed collection gets a new
fingerprint, so the index is rebuilt once and the old one removed.

An attached collection's index is built from its documents once per process and kept in memory only:
its store is a snapshot copy or a server we never write to, so nothing is persisted for it.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import threading
from pathlib import Path

from reranklens.retrieve.attach import AttachedStore
from reranklens.retrieve.search import CHUNK_IDS_FILE, BM25Index
from reranklens.retrieve.store import VectorStore

log = logging.getLogger(__name__)

BM25_DIR = "bm25"
# Bump when BM25 tokenization changes (stopwords, stemmer), so persisted indexes are rebuilt.
BM25_RECIPE = "bm25s-lucene-en-snowball-1"


def bm25_fingerprint(store: VectorStore, collection: str) -> str:
    """What the persisted BM25 index of ``collection`` must match: its revision, chunk count and recipe."""
    revision = str(store.metadata(collection).get("revision", ""))
    count = store.info(collection).chunk_count
    return hashlib.blake2b(f"{revision}|{count}|{BM25_RECIPE}".encode(), digest_size=10).hexdigest()


class BM25Indexes:
    """The loaded BM25 index of each collection (one version each), shared by every thread of a process."""

    def __init__(self, data_dir: Path) -> None:
        self.root = data_dir / BM25_DIR
        self._lock = threading.Lock()
        self._loaded: dict[str, tuple[str, BM25Index]] = {}  # collection -> (version, index)

    def folder(self, collection: str) -> Path:
        return self.root / collection

    def get(self, collection: str, store: VectorStore | AttachedStore) -> BM25Index:
        """The index of ``collection`` as ``store`` holds it now: kept, loaded from disk, or built."""
        if isinstance(store, AttachedStore):
            version = "attached:" + str(store.metadata(collection).get("revision", ""))
            return self._kept(collection, version) or self._keep(
                collection, version, BM25Index(store.all_chunks(collection).chunks)
            )
        fingerprint = bm25_fingerprint(store, collection)
        index = self._kept(collection, fingerprint)
        if index is not None:
            return index
        folder = self.folder(collection) / fingerprint
        if (folder / CHUNK_IDS_FILE).is_file():
            index = BM25Index.load(folder, lambda ids: store.get_chunks(collection, ids))
        else:
            index = BM25Index(store.all_chunks(collection).chunks)
            index.save(folder)
            log.info("built the BM25 index of '%s' (%d chunks) into %s", collection, len(index), folder)
            for stale in self.folder(collection).iterdir():
                if stale.name != fingerprint:
                    shutil.rmtree(stale, ignore_errors=True)
        return self._keep(collection, fingerprint, index)

    def forget(self, collection: str, delete_files: bool = False) -> None:
        """Drop the loaded index of ``collection`` (detached, deleted), and its saved files if asked."""
        with self._lock:
            self._loaded.pop(collection, None)
        if delete_files:
            shutil.rmtree(self.folder(collection), ignore_errors=True)

    def _kept(self, collection: str, version: str) -> BM25Index | None:
        with self._lock:
            kept = self._loaded.get(collection)
        return kept[1] if kept is not None and kept[0] == version else None

    def _keep(self, collection: str, version: str, index: BM25Index) -> BM25Index:
        with self._lock:
            self._loaded[collection] = (version, index)
        return index
