"""One object that holds settings, the store, loaded models and indexes: the engine's front door.

The CLI makes one per command; the app keeps one per server process (``st.cache_resource``), so
models and BM25 indexes are loaded once and shared by every session.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import threading
import time
from collections.abc import Sequence
from dataclasses import replace
from functools import cached_property
from pathlib import Path

import numpy as np

from reranklens.config import DEMO_DIR, Settings
from reranklens.errors import EmbedderMismatchError, InvalidInputError, ModelUnavailableError, RerankLensError
from reranklens.golden.beir import read_beir_judgements
from reranklens.golden.formats import import_set
from reranklens.golden.store import GoldenStore
from reranklens.ingest.chunking import ChunkingOptions
from reranklens.ingest.embed import (
    CHROMA_DEFAULT,
    CHROMA_DEFAULT_SAME_AS,
    Embedder,
    canonical_embedder_name,
    make_embedder,
)
from reranklens.ingest.pipeline import ProgressCallback, ingest
from reranklens.models.registry import ModelRegistry
from reranklens.rerank.rerankers import Reranker, make_reranker, rerank
from reranklens.rerank.score_cache import ScoreCache, text_key
from reranklens.retrieve.attach import (
    CHROMA_DEFAULT_EF,
    PROBE_SIZE,
    AttachedStore,
    Attachment,
    AttachmentRegistry,
    AttachReport,
    drop_snapshots,
)
from reranklens.retrieve.connections import (
    Connection,
    ConnectionRegistry,
    check_connection_name,
    check_timeout,
    check_url,
)
from reranklens.retrieve.conventions import MetadataKeys
from reranklens.retrieve.live import LiveAnswer, live_search
from reranklens.retrieve.search import (
    CHUNK_IDS_FILE,
    BM25Index,
    Stopwatch,
    check_candidates,
    check_query,
    reciprocal_rank_fusion,
    vector_hits,
)
from reranklens.retrieve.store import VectorStore, validate_collection_name
from reranklens.retrieve.traces import NO_TEXT, TraceStore, trace_search
from reranklens.types import (
    SEARCH_MODES,
    Chunk,
    CollectionInfo,
    IngestReport,
    PassageScore,
    RerankResult,
    SearchMode,
    SearchResult,
)
from reranklens.views.explore import ExploreView, alternative_view, check_top_k, reranked_view
from reranklens.views.label_sheet import LabelSheet, label_sheet
from reranklens.views.shootout import Shootout, check_rerankers, shootout

log = logging.getLogger(__name__)

DEMO_COLLECTION = "demo"
QUERY_VECTOR_CACHE = 1_000
DEMO_GOLDEN_SET = "demo"
# Queries that vector search gets wrong for reasons a stakeholder recognises; each says why in its note.
DEMO_HARD_SET = "demo-hard"
# Bump when BM25 tokenization changes (stopwords, stemmer), so persisted indexes are rebuilt.
BM25_RECIPE = "bm25s-lucene-en-snowball-1"
# Cross-encoders kept loaded at once (each ~100 MB-1 GB); the least recently used one is dropped.
MAX_LOADED_RERANKERS = 4


def _model_key(source: str) -> str:
    """The cache key of a model source: a local directory's resolved path, anything else as given."""
    path = Path(source).expanduser()
    if source.startswith(("/", ".", "~")) or path.is_dir():
        return str(path.resolve())
    return source


class Workspace:
    """Ingest, search and look up collections with the models and stores named by ``settings``."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings.from_env()
        self._lock = threading.Lock()
        self._embedders: dict[str, Embedder] = {}
        self._bm25: dict[tuple[str, str], BM25Index] = {}
        self._rerankers: dict[str, Reranker] = {}  # insertion order = least recently used first
        self._loading: dict[str, threading.Lock] = {}
        self.max_rerankers = MAX_LOADED_RERANKERS
        self.score_cache: ScoreCache[PassageScore] = ScoreCache()
        # A repeated query (a Streamlit rerun, an evaluation run again) skips the embedder too.
        self.query_vectors: ScoreCache[np.ndarray] = ScoreCache(QUERY_VECTOR_CACHE)
        # Timings of the run that scored a (model, query, candidates) triple, reported again when the
        # same triple is answered from the score cache (a rerun's own timing is only the lookups).
        self.first_rerank_ms: ScoreCache[dict[str, float]] = ScoreCache(QUERY_VECTOR_CACHE)
        self.attachments = AttachmentRegistry(self.settings.data_dir)
        self._attached: dict[str, AttachedStore] = {}

    @cached_property
    def store(self) -> VectorStore:
        return VectorStore(self.settings)

    @cached_property
    def traces(self) -> TraceStore:
        return TraceStore(self.settings.traces_db_path)

    @cached_property
    def connections(self) -> ConnectionRegistry:
        return ConnectionRegistry(self.settings.data_dir)

    @cached_property
    def golden(self) -> GoldenStore:
        return GoldenStore(self.settings.golden_db_path)

    def embedder(self, name: str | None = None) -> Embedder:
        """The embedder ``name`` (default: the configured one), loaded once per workspace."""
        key = canonical_embedder_name(name or self.settings.embedder)
        with self._lock:
            if key not in self._embedders:
                self._embedders[key] = make_embedder(key, self.settings)
            return self._embedders[key]

    def reranker(self, name: str | None = None) -> Reranker:
        """The reranker ``name`` (default: ``RERANKLENS_RERANKER``), loaded once per workspace.

        Loaded models are cached under what they load (a local directory's resolved path, so
        ``/m/./ce`` and ``/m/ce`` are one entry), at most ``max_rerankers`` of them (least recently
        used out). A load holds only its own model's lock: searches and other models go on meanwhile.
        Raises ``ModelUnavailableError`` with the ways forward when it cannot be loaded.
        """
        # A registry name (trained here, or registered) loads its directory or Hub name.
        source = ModelRegistry(self.settings.data_dir).resolve((name or self.settings.reranker).strip())
        key = _model_key(source)
        with self._lock:
            model = self._rerankers.pop(key, None)
            if model is not None:
                self._rerankers[key] = model  # most recently used last
                return model
            loading = self._loading.setdefault(key, threading.Lock())
        with loading:
            with self._lock:
                model = self._rerankers.get(key)
            if model is None:
                model = make_reranker(source, self.settings)
                with self._lock:
                    self._rerankers[key] = model
                    while len(self._rerankers) > self.max_rerankers:
                        evicted = next(iter(self._rerankers))
                        del self._rerankers[evicted]
                        log.info("reranker cache full: dropped %s", evicted)
            with self._lock:
                self._loading.pop(key, None)
            return model

    def rerank(self, search: SearchResult, reranker: str | None = None) -> RerankResult:
        """Rerank a search's candidates; scores are cached per (model, query, passage). When every score
        came from the cache, ``first_run_ms`` carries the timings of the run that computed them."""
        model = self.reranker(reranker)
        result = rerank(model, search.query, search.hits, self.score_cache)
        key = (
            model.cache_key,
            text_key(search.query),
            text_key("\x1f".join(text_key(hit.chunk.passage) for hit in search.hits)),
        )
        if result.all_cached:
            return replace(result, first_run_ms=self.first_rerank_ms.get(key))
        self.first_rerank_ms.put(key, dict(result.timings_ms))
        return result

    def shootout(self, search: SearchResult, rerankers: Sequence[str], k: int = 3) -> Shootout:
        """Rerank ``search``'s candidates with each of (at most three) ``rerankers``, one after another so
        each one's latency is its own. One that fails (cannot load, a 429, a timeout) gets its error line;
        the others' results stand."""
        check_top_k(k)
        results: dict[str, RerankResult | str] = {}
        for name in check_rerankers(list(rerankers)):
            try:
                results[name] = self.rerank(search, name)
            except RerankLensError as exc:
                log.info("reranker %s failed: %s", name, exc)
                results[name] = str(exc)
        return shootout(search, results, k)

    def explore(
        self,
        query: str,
        collection: str,
        mode: SearchMode = "vector",
        candidates: int = 50,
        k: int = 3,
        reranker: str | None = None,
    ) -> tuple[ExploreView, str | None]:
        """The Explore view, and the reason when no reranker could be used.

        Without a reranker the comparison is vector search (before) against hybrid search (after),
        whichever first stage was asked for, so it stays useful offline.
        """
        check_top_k(k)
        return self.second_stage(self.search(query, collection, mode, candidates), candidates, k, reranker)

    def second_stage(
        self, search: SearchResult, candidates: int, k: int = 3, reranker: str | None = None
    ) -> tuple[ExploreView, str | None]:
        """The Explore view for first-stage results already in hand, so a page can show them while
        the cross-encoder runs. Falls back to a second first-stage mode as ``explore`` describes."""
        check_top_k(k)
        try:
            return reranked_view(search, self.rerank(search, reranker), k), None
        except ModelUnavailableError as exc:
            # Always vector (before) vs hybrid (after), whichever the first stage was: the other way
            # round the weaker method would be "after", and chunks it misses would look like losses.
            before = (
                search
                if search.mode == "vector"
                else self.search(search.query, search.collection, "vector", candidates)
            )
            after = (
                search
                if search.mode == "hybrid"
                else self.search(search.query, search.collection, "hybrid", candidates)
            )
            return alternative_view(before, after, k), str(exc)

    def trace_search(self, trace_set: str, trace_id: str) -> SearchResult:
        """A logged retrieval as a first-stage result: logged order, logged scores, mode ``logged``."""
        return trace_search(self.traces.get(trace_set, trace_id), trace_set)

    def rerank_trace(self, search: SearchResult, reranker: str | None = None) -> RerankResult:
        """Rerank a logged (or live) retrieval; candidates without text are left out (they stay in
        the "before" ranking only), and a warning says how many."""
        with_text = [hit for hit in search.hits if hit.chunk.text]
        result = rerank(self.reranker(reranker), search.query, with_text, self.score_cache)
        missing = len(search.hits) - len(with_text)
        if missing:
            kind = "returned" if search.mode == "live" else "logged"
            result = replace(result, warnings=(*result.warnings, f"{missing} {kind} candidate(s): {NO_TEXT}."))
        return result

    def connect(self, url: str, name: str, headers: dict[str, str], timeout_s: float) -> Connection:
        """Keep a live retriever under ``name`` (its header values apart, owner-only). Which hosts may be
        named is the caller's check (``reranklens.access.hosts``: the CLI and the Corpus page)."""
        check_connection_name(name)
        url = check_url(url)
        check_timeout(timeout_s)
        if name in self.connections.names():
            raise InvalidInputError(
                f"A connection named '{name}' exists: disconnect it first (reranklens disconnect {name}) "
                "or pick another."
            )
        if self.store.exists(name) or self.is_attached(name):
            raise InvalidInputError(
                f"A collection named '{name}' exists, and both are picked by name: give the connection another name."
            )
        connection = Connection(name=name, url=url, timeout_s=timeout_s, header_names=tuple(headers))
        self.connections.save(connection, headers)
        return connection

    def disconnect(self, name: str) -> None:
        self.connections.remove(name)

    def is_connection(self, name: str) -> bool:
        return name in self.connections.names()

    def live_search(self, connection: str, query: str, candidates: int = 50) -> LiveAnswer:
        """Ask a connected retriever for ``candidates`` candidates: its order and scores, mode ``live``, its
        answer's time as the ``endpoint`` stage, and one line per contract problem it had."""
        query = check_query(query)
        check_candidates(candidates)
        found = self.connections.get(connection)
        return live_search(found, self.connections.headers(connection), query, candidates)

    def live_view(
        self, connection: str, query: str, candidates: int = 50, k: int = 3, reranker: str | None = None
    ) -> tuple[ExploreView, LiveAnswer]:
        """Explore for a live retriever: its ranking before, reranked after (candidates without text stay
        in "before" only)."""
        check_top_k(k)
        answer = self.live_search(connection, query, candidates)
        return reranked_view(answer.search, self.rerank_trace(answer.search, reranker), k), answer

    def trace_view(
        self, trace_set: str, trace_id: str, k: int = 3, reranker: str | None = None
    ) -> tuple[ExploreView, SearchResult]:
        """Explore for one logged retrieval: logged ranking before, reranked after."""
        check_top_k(k)
        search = self.trace_search(trace_set, trace_id)
        return reranked_view(search, self.rerank_trace(search, reranker), k), search

    def label_sheet(self, view: ExploreView, golden_set: str) -> LabelSheet:
        """The Label page's candidates for ``view``'s query, with grades and orphaned labels."""
        labelled: list[str] = []
        if golden_set in self.golden.names():
            query = self.golden.find_query(golden_set, view.query)
            if query is not None:
                labelled = [
                    j.target_id for j in self.golden.judgements(golden_set, query.query_id) if j.level == "chunk"
                ]
        if view.left.mode == "logged":
            existing = self.traces.existing_ids(view.collection, labelled)
        elif view.left.mode == "live":
            # A live retriever's corpus is not ours to list: a label it did not return now is no orphan.
            existing = set(labelled)
        else:
            existing = self.store_for(view.collection).existing_ids(view.collection, labelled)
        return label_sheet(view, self.golden, golden_set, existing)

    def collections(self) -> list[CollectionInfo]:
        """Own collections, then attached ones (marked with where they live)."""
        own = [self.store.info(name) for name in self.store.names() if ".building-" not in name]
        attached = []
        for name, attachment in sorted(self.attachments.all().items()):
            try:
                info = self.store_for(name).info(name)
            except RerankLensError as exc:
                log.warning("attached collection %s unavailable: %s", name, exc)
                info = CollectionInfo(name, attachment.embedder, 0)
            attached.append(replace(info, attached_from=f"{attachment.source} :: {attachment.collection}"))
        return own + attached

    def store_for(self, collection: str) -> VectorStore | AttachedStore:
        """The store that holds ``collection``: our own, or the read-only view of an attached one."""
        attachment = self.attachments.get(collection)
        if attachment is None:
            return self.store
        with self._lock:
            opened = self._attached.get(collection)
        if opened is None or opened.attachment != attachment:
            opened = AttachedStore(attachment, self.settings.data_dir)
            with self._lock:
                self._attached[collection] = opened
        return opened

    def is_attached(self, collection: str) -> bool:
        return self.attachments.get(collection) is not None

    def attach(
        self,
        source: str,
        collection: str,
        embedder: str,
        name: str | None = None,
        keys: MetadataKeys | None = None,
    ) -> AttachReport:
        """Attach another application's Chroma collection read-only, after checking the embedder.

        The stored vectors' dimension must match the embedder's (else ``InvalidInputError``); a probe
        embeds a few stored documents and expects each to be its own nearest neighbour, and warns when
        fewer are (another model, or the documents were embedded with extra text around them).
        """
        name = validate_collection_name(name or collection)
        if self.store.exists(name) or self.is_attached(name) or self.is_connection(name):
            raise InvalidInputError(
                f"A collection or connection named '{name}' already exists here: choose another with --name "
                f"(or detach it first: reranklens detach {name})."
            )
        embedder_name = canonical_embedder_name(embedder)
        attachment = Attachment(
            name=name,
            source=source if source.startswith(("http://", "https://")) else str(Path(source).expanduser().resolve()),
            collection=collection,
            embedder=embedder_name,
            keys=keys or MetadataKeys(),
            attached_at=time.time(),
        )
        try:
            report = self._check_attachment(attachment)
        except BaseException:
            drop_snapshots(self.settings.data_dir, name)  # a refused attachment leaves no copy behind
            raise
        self.attachments.save(report.attachment)
        return report

    def _check_attachment(self, attachment: Attachment) -> AttachReport:
        """Open, check the embedder (dimension, probe) and detect the metadata convention."""
        name, collection, embedder_name = attachment.name, attachment.collection, attachment.embedder
        store = AttachedStore(attachment, self.settings.data_dir)
        warnings: list[str] = []
        if store.embedding_function_name() == CHROMA_DEFAULT_EF and embedder_name != CHROMA_DEFAULT:
            warnings.append(
                f"'{collection}' was created with Chroma's default embedding function (all-MiniLM-L6-v2 as ONNX); "
                f"{CHROMA_DEFAULT_SAME_AS} is the same model (--embedder {CHROMA_DEFAULT} loads Chroma's own, "
                "which needs the internet the first time)."
            )
        count = store.count()
        sample = store.sample(PROBE_SIZE)
        model = self.embedder(embedder_name)
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
                nearest = store.query(name, vector, 1)
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
            attachment,
            convention=store.detected_convention(sample),
            dimension=dimension,
            space=store.space(),
        )
        return AttachReport(attachment, count, hits, total, tuple(warnings))

    def detach(self, name: str) -> None:
        """Forget an attached collection (its store is not touched; our snapshot copy is removed)."""
        if not self.is_attached(name):
            raise InvalidInputError(f"'{name}' is not an attached collection (see: reranklens collections).")
        self.attachments.remove(name)
        with self._lock:
            self._attached.pop(name, None)
            self._bm25 = {key: index for key, index in self._bm25.items() if key[0] != name}
        drop_snapshots(self.settings.data_dir, name)

    def ingest(
        self,
        paths: Sequence[Path],
        collection: str,
        embedder: str | None = None,
        options: ChunkingOptions | None = None,
        rebuild: bool = False,
        progress: ProgressCallback | None = None,
    ) -> IngestReport:
        if self.is_attached(collection):
            raise InvalidInputError(
                f"'{collection}' is attached read-only: RerankLens never writes to it. Ingest into another name."
            )
        if self.is_connection(collection):
            raise InvalidInputError(
                f"'{collection}' names a connected live retriever, and both are picked by name: ingest into another."
            )
        options = options or ChunkingOptions(self.settings.chunk_tokens, self.settings.chunk_overlap)
        if embedder is None and self.store.exists(collection):
            embedder = str(self.store.metadata(collection).get("embedder") or self.settings.embedder)
        return ingest(
            paths,
            collection,
            self.store,
            self.embedder(embedder),
            golden=self.golden,
            options=options,
            rebuild=rebuild,
            progress=progress,
        )

    def browse_chunks(self, collection: str, page: int, page_size: int = 20) -> tuple[list[Chunk], int]:
        """Page ``page`` (from 1) of a collection's chunks, and the number of pages (at least 1).

        A page past the end gives the last page. Raises ``UnknownCollectionError`` for an unknown name.
        """
        if page_size < 1:
            raise InvalidInputError(f"A page holds at least 1 chunk, got {page_size}.")
        store = self.store_for(collection)  # an attached collection is browsed through its read-only view
        total = store.info(collection).chunk_count
        pages = max(1, -(-total // page_size))
        page = min(max(1, page), pages)
        return store.chunk_page(collection, (page - 1) * page_size, page_size), pages

    def delete_collection(self, name: str) -> None:
        if self.is_attached(name):
            raise InvalidInputError(
                f"'{name}' is attached read-only: RerankLens never deletes it. Detach it with: reranklens detach {name}"
            )
        self.store.delete(name)
        with self._lock:
            self._bm25 = {key: index for key, index in self._bm25.items() if key[0] != name}
        shutil.rmtree(self._bm25_dir(name), ignore_errors=True)

    def collection_embedder_name(self, collection: str) -> str:
        return str(self.store_for(collection).metadata(collection).get("embedder", ""))

    def collection_embedder(self, collection: str, asked: str | None = None) -> Embedder:
        """The embedder a collection was built with; asking for another one is an error."""
        built_with = self.collection_embedder_name(collection)
        if asked and canonical_embedder_name(asked) != built_with:
            raise EmbedderMismatchError(collection, built_with, canonical_embedder_name(asked))
        return self.embedder(built_with)

    def bm25_index(self, collection: str) -> BM25Index:
        """BM25 over the collection's chunks, built once per collection version and kept on disk.

        The index is saved under ``data_dir/bm25/<collection>/<fingerprint>``, the fingerprint being
        the collection's ``revision`` (renewed by every ingest that changes it) and its chunk count
        (which catches an ingest killed before it renewed the revision). Every other process loads
        it (memory-mapped) instead of reading all chunks and re-tokenizing; a changed collection
        gets a new fingerprint, so the index is rebuilt once and the old one removed.
        """
        store = self.store_for(collection)
        if store is not self.store:
            # An attached collection: built from its documents once per process and kept in memory
            # (its store is a snapshot copy or a server we never write to; nothing is persisted for it).
            key = (collection, "attached:" + str(store.metadata(collection).get("revision", "")))
            with self._lock:
                index = self._bm25.get(key)
            if index is None:
                index = BM25Index(store.all_chunks(collection).chunks)
                with self._lock:
                    self._bm25 = {k: v for k, v in self._bm25.items() if k[0] != collection}
                    self._bm25[key] = index
            return index
        fingerprint = self.bm25_fingerprint(collection)
        key = (collection, fingerprint)
        with self._lock:
            index = self._bm25.get(key)
        if index is not None:
            return index
        folder = self._bm25_dir(collection) / fingerprint
        if (folder / CHUNK_IDS_FILE).is_file():
            index = BM25Index.load(folder, lambda ids: self.store.get_chunks(collection, ids))
        else:
            index = BM25Index(self.store.all_chunks(collection).chunks)
            index.save(folder)
            log.info("built the BM25 index of '%s' (%d chunks) into %s", collection, len(index), folder)
            for stale in self._bm25_dir(collection).iterdir():
                if stale.name != fingerprint:
                    shutil.rmtree(stale, ignore_errors=True)
        with self._lock:
            self._bm25 = {k: v for k, v in self._bm25.items() if k[0] != collection}
            self._bm25[key] = index
        return index

    def bm25_fingerprint(self, collection: str) -> str:
        """What the persisted BM25 index of ``collection`` must match: its revision and chunk count."""
        revision = str(self.store.metadata(collection).get("revision", ""))
        count = self.store.info(collection).chunk_count
        return hashlib.blake2b(f"{revision}|{count}|{BM25_RECIPE}".encode(), digest_size=10).hexdigest()

    def _bm25_dir(self, collection: str) -> Path:
        return self.settings.data_dir / "bm25" / collection

    def search(
        self,
        query: str,
        collection: str,
        mode: SearchMode = "vector",
        candidates: int = 50,
        embedder: str | None = None,
    ) -> SearchResult:
        """First-stage candidates for ``query`` with per-stage timings (ms).

        ``vector``: Chroma cosine top-N; ``bm25``: bm25s top-N; ``hybrid``: reciprocal-rank fusion
        of both top-N lists, cut to N. Timings: ``embed``, ``vector_search``, ``bm25_search``, ``fuse``.
        """
        query = check_query(query)
        check_candidates(candidates)
        if mode not in SEARCH_MODES:
            raise InvalidInputError(f"Unknown search mode '{mode}': choose one of {', '.join(SEARCH_MODES)}.")
        watch = Stopwatch()
        rankings = []
        if mode in ("vector", "hybrid"):
            model = self.collection_embedder(collection, embedder)
            with watch("embed"):
                key = (model.name, query)
                vector = self.query_vectors.get(key)
                if vector is None:
                    vector = model.embed_query(query)
                    self.query_vectors.put(key, vector)
            with watch("vector_search"):
                rankings.append(vector_hits(self.store_for(collection).query(collection, vector, candidates)))
        if mode in ("bm25", "hybrid"):
            index = self.bm25_index(collection)
            with watch("bm25_search"):
                rankings.append(index.search(query, candidates))
        if mode == "hybrid":
            with watch("fuse"):
                hits = reciprocal_rank_fusion(rankings, candidates)
        else:
            hits = rankings[0]
        return SearchResult(query, collection, mode, tuple(hits), watch.timings_ms)

    @property
    def _demo_marker(self) -> Path:
        return self.settings.data_dir / ".demo-ingested"

    def demo_pending(self) -> bool:
        """True on first start: the demo was never ingested into this data dir (a user who deleted
        it afterwards is not overruled; ``reranklens demo`` brings it back)."""
        return not self._demo_marker.exists() and not self.store.exists(DEMO_COLLECTION)

    def ingest_demo(self, progress: ProgressCallback | None = None) -> IngestReport:
        """Ingest the bundled Acme Cloud corpus into ``demo`` and its golden sets into ``demo`` and ``demo-hard``."""
        report = self.ingest([DEMO_DIR / "docs"], DEMO_COLLECTION, progress=progress)
        judgements = read_beir_judgements(DEMO_DIR / "golden")
        if judgements is not None:
            queries, qrels = judgements
            info = self.golden.replace_set(DEMO_GOLDEN_SET, queries, qrels, level="doc", source="data/demo/golden")
            report = replace(
                report, golden_set=info.name, golden_queries=info.queries, golden_judgements=info.judgements
            )
        import_set(self.golden, DEMO_DIR / "golden-hard", DEMO_HARD_SET, "beir")
        self._demo_marker.parent.mkdir(parents=True, exist_ok=True)
        self._demo_marker.touch()
        return report
