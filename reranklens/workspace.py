"""One object that holds settings, the store, loaded models and indexes: the engine's front door.

The CLI makes one per command; the app keeps one per server process (``st.cache_resource``), so
models and BM25 indexes are loaded once and shared by every session.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from reranklens.config import Settings
from reranklens.errors import EmbedderMismatchError, InvalidInputError, ModelUnavailableError
from reranklens.ingest.chunking import ChunkingOptions
from reranklens.ingest.demo import DEMO_COLLECTION, DEMO_DOCS, demo_pending, import_demo_golden_sets
from reranklens.ingest.embed import canonical_embedder_name, make_embedder
from reranklens.ingest.pipeline import ProgressCallback, ingest
from reranklens.rerank.loaded import LoadedRerankers
from reranklens.rerank.rerankers import Reranker
from reranklens.rerank.score_cache import ScoreCache
from reranklens.retrieve.attach import (
    AttachedStore,
    Attachment,
    AttachmentRegistry,
    AttachReport,
    check_attachment,
    drop_snapshots,
)
from reranklens.retrieve.bm25_store import BM25Indexes, bm25_fingerprint
from reranklens.retrieve.connections import (
    Connection,
    ConnectionRegistry,
    check_connection_name,
    check_timeout,
    check_url,
)
from reranklens.retrieve.conventions import MetadataKeys
from reranklens.retrieve.search import (
    BM25Index,
    Stopwatch,
    check_candidates,
    check_query,
    reciprocal_rank_fusion,
    vector_hits,
)
from reranklens.retrieve.store import VectorStore, validate_collection_name
from reranklens.types import (
    SEARCH_MODES,
    Chunk,
    CollectionInfo,
    Embedder,
    IngestReport,
    RerankResult,
    SearchMode,
    SearchResult,
)
from reranklens.views.explore import ExploreView, alternative_view, check_top_k, reranked_view
from reranklens.views.label_sheet import LabelSheet, label_sheet
from reranklens.views.shootout import Shootout, run_shootout

if TYPE_CHECKING:
    from reranklens.golden.store import GoldenStore
    from reranklens.retrieve.live import LiveAnswer
    from reranklens.retrieve.traces import TraceStore

log = logging.getLogger(__name__)

QUERY_VECTOR_CACHE = 1_000


class Workspace:
    """Ingest, search and look up collections with the models and stores named by ``settings``."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings.from_env()
        self._lock = threading.Lock()
        self._embedders: dict[str, Embedder] = {}
        self.bm25 = BM25Indexes(self.settings.data_dir)
        self.rerankers = LoadedRerankers(self.settings)
        self.score_cache = self.rerankers.score_cache
        # A repeated query (a Streamlit rerun, an evaluation run again) skips the embedder too.
        self.query_vectors: ScoreCache[np.ndarray] = ScoreCache(QUERY_VECTOR_CACHE)
        self.attachments = AttachmentRegistry(self.settings)

    @cached_property
    def store(self) -> VectorStore:
        return VectorStore(self.settings)

    # The SQL-backed stores and the live client are imported when first used: a plain query or listing needs
    # none of them, and their imports (SQLAlchemy, httpx) are a good part of a cold command's start-up.
    @cached_property
    def traces(self) -> TraceStore:
        from reranklens.retrieve.traces import TraceStore

        return TraceStore(self.settings.traces_db_path)

    @cached_property
    def connections(self) -> ConnectionRegistry:
        return ConnectionRegistry(self.settings.data_dir)

    @cached_property
    def golden(self) -> GoldenStore:
        from reranklens.golden.store import GoldenStore

        return GoldenStore(self.settings.golden_db_path)

    def embedder(self, name: str | None = None) -> Embedder:
        """The embedder ``name`` (default: the configured one), loaded once per workspace."""
        key = canonical_embedder_name(name or self.settings.embedder)
        with self._lock:
            if key not in self._embedders:
                self._embedders[key] = make_embedder(key, self.settings)
            return self._embedders[key]

    def reranker(self, name: str | None = None) -> Reranker:
        """The reranker ``name`` (default: ``RERANKLENS_RERANKER``), loaded once per workspace and kept
        while it is among the most recently used (see ``LoadedRerankers``)."""
        return self.rerankers.get(name or self.settings.reranker)

    def rerank(self, search: SearchResult, reranker: str | None = None) -> RerankResult:
        """Rerank a search's candidates; scores are cached per (model, query, passage). When every score
        came from the cache, ``first_run_ms`` carries the timings of the run that computed them."""
        return self.rerankers.rerank(search, reranker or self.settings.reranker)

    def shootout(self, search: SearchResult, rerankers: Sequence[str], k: int = 3) -> Shootout:
        """Rerank ``search``'s candidates with each of (at most three) ``rerankers``, one after another so
        each one's latency is its own. One that fails (cannot load, a 429, a timeout) gets its error line;
        the others' results stand."""
        return run_shootout(search, rerankers, self.rerank, k)

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
            def first_stage(mode: SearchMode) -> SearchResult:
                return search if search.mode == mode else self.search(search.query, search.collection, mode, candidates)

            return alternative_view(first_stage("vector"), first_stage("hybrid"), k), str(exc)

    def trace_search(self, trace_set: str, trace_id: str) -> SearchResult:
        """A logged retrieval as a first-stage result: logged order, logged scores, mode ``logged``."""
        from reranklens.retrieve.traces import trace_search

        return trace_search(self.traces.get(trace_set, trace_id), trace_set)

    def rerank_trace(self, search: SearchResult, reranker: str | None = None) -> RerankResult:
        """Rerank a logged (or live) retrieval; candidates without text are left out (they stay in
        the "before" ranking only), and a warning says how many."""
        return self.rerankers.rerank_logged(search, reranker or self.settings.reranker)

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
        from reranklens.retrieve.live import live_search

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

    def label_sheet(self, view: ExploreView, golden_set: str, who: str | None = None) -> LabelSheet:
        """The Label page's candidates for ``view``'s query, with grades (``who``'s own and the others',
        when given) and orphaned labels."""
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
        return label_sheet(view, self.golden, golden_set, existing, who)

    def collections(self) -> list[CollectionInfo]:
        """Own collections, then attached ones (marked with where they live)."""
        own = [self.store.info(name) for name in self.store.names() if ".building-" not in name]
        return own + self.attachments.infos()

    def store_for(self, collection: str) -> VectorStore | AttachedStore:
        """The store that holds ``collection``: our own, or the read-only view of an attached one."""
        return self.attachments.open(collection) or self.store

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
        attachment = Attachment.new(name, source, collection, canonical_embedder_name(embedder), keys)
        try:
            report = check_attachment(
                attachment, AttachedStore(attachment, self.settings), self.embedder(attachment.embedder)
            )
        except BaseException:
            drop_snapshots(self.settings.data_dir, name)  # a refused attachment leaves no copy behind
            raise
        self.attachments.save(report.attachment)
        return report

    def detach(self, name: str) -> None:
        """Forget an attached collection (its store is not touched; our snapshot copy is removed)."""
        if not self.is_attached(name):
            raise InvalidInputError(f"'{name}' is not an attached collection (see: reranklens collections).")
        self.attachments.remove(name)
        self.bm25.forget(name)

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
        self.bm25.forget(name, delete_files=True)

    def collection_embedder_name(self, collection: str) -> str:
        return str(self.store_for(collection).metadata(collection).get("embedder", ""))

    def collection_embedder(self, collection: str, asked: str | None = None) -> Embedder:
        """The embedder a collection was built with; asking for another one is an error."""
        built_with = self.collection_embedder_name(collection)
        if asked and canonical_embedder_name(asked) != built_with:
            raise EmbedderMismatchError(collection, built_with, canonical_embedder_name(asked))
        return self.embedder(built_with)

    def bm25_index(self, collection: str) -> BM25Index:
        """BM25 over the collection's chunks, built once per collection version and kept on disk
        (an attached collection's: in memory only); see ``retrieve.bm25_store``."""
        return self.bm25.get(collection, self.store_for(collection))

    def bm25_fingerprint(self, collection: str) -> str:
        """What the persisted BM25 index of an own ``collection`` must match: its revision and chunk count."""
        return bm25_fingerprint(self.store, collection)

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

    def demo_pending(self) -> bool:
        """True on first start: the demo was never ingested into this data dir."""
        return demo_pending(self.settings.data_dir, self.store)

    def ingest_demo(self, progress: ProgressCallback | None = None) -> IngestReport:
        """Ingest the bundled Acme Cloud corpus into ``demo`` and its golden sets into ``demo`` and ``demo-hard``."""
        report = self.ingest([DEMO_DOCS], DEMO_COLLECTION, progress=progress)
        return import_demo_golden_sets(self.golden, self.settings.data_dir, report)
