"""The rerankers a process keeps loaded: a few at most, least recently used out, loads side by side.

A cross-encoder is ~100 MB-1 GB, and a shared app may be asked for several (a registry name, a trained
directory, a Hub name); keeping every one would exhaust memory, loading one for each request would be slow.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import replace
from pathlib import Path

from reranklens.config import Settings
from reranklens.models.registry import ModelRegistry
from reranklens.rerank.rerankers import Reranker, make_reranker, rerank
from reranklens.rerank.score_cache import ScoreCache, text_key
from reranklens.types import NO_TEXT, PassageScore, RerankResult, SearchResult

log = logging.getLogger(__name__)

# Cross-encoders kept loaded at once; the least recently used one is dropped.
MAX_LOADED_RERANKERS = 4
# (model, query, candidates) triples whose first run's timings are kept.
FIRST_RUNS_KEPT = 1_000


def model_key(source: str) -> str:
    """The cache key of a model source: a local directory's resolved path, anything else as given."""
    path = Path(source).expanduser()
    if source.startswith(("/", ".", "~")) or path.is_dir():
        return str(path.resolve())
    return source


class LoadedRerankers:
    """Rerankers by name, loaded once and kept while they are among the ``capacity`` most recently used.

    Loaded models are kept under what they load (a local directory's resolved path, so ``/m/./ce`` and
    ``/m/ce`` are one entry). A load holds only its own model's lock: other models and searches go on.
    """

    def __init__(self, settings: Settings, capacity: int = MAX_LOADED_RERANKERS) -> None:
        self.settings = settings
        self.capacity = capacity
        self._lock = threading.Lock()
        self._models: dict[str, Reranker] = {}  # insertion order = least recently used first
        self._loading: dict[str, threading.Lock] = {}
        self.score_cache: ScoreCache[PassageScore] = ScoreCache()
        # Timings of the run that scored a (model, query, candidates) triple, reported again when the
        # same triple is answered from the score cache (a rerun's own timing is only the lookups).
        self.first_run_ms: ScoreCache[dict[str, float]] = ScoreCache(FIRST_RUNS_KEPT)

    @property
    def keys(self) -> list[str]:
        """What is loaded now, least recently used first."""
        with self._lock:
            return list(self._models)

    def get(self, name: str) -> Reranker:
        """The reranker ``name`` (a registry name, a directory, a Hub name, ``http:``/``openai:MODEL``).

        Raises ``ModelUnavailableError`` with the ways forward when it cannot be loaded.
        """
        # A registry name (trained here, or registered) loads its directory or Hub name.
        source = ModelRegistry(self.settings.data_dir).resolve(name.strip())
        key = model_key(source)
        with self._lock:
            model = self._models.pop(key, None)
            if model is not None:
                self._models[key] = model  # most recently used last
                return model
            loading = self._loading.setdefault(key, threading.Lock())
        with loading:
            with self._lock:
                model = self._models.get(key)
            if model is None:
                model = make_reranker(source, self.settings)
                with self._lock:
                    self._models[key] = model
                    while len(self._models) > self.capacity:
                        evicted = next(iter(self._models))
                        del self._models[evicted]
                        log.info("reranker cache full: dropped %s", evicted)
            with self._lock:
                self._loading.pop(key, None)
            return model

    def rerank(self, search: SearchResult, name: str) -> RerankResult:
        """Rerank a search's candidates with ``name``; scores are cached per (model, query, passage). When
        every score came from the cache, ``first_run_ms`` carries the timings of the run that computed them."""
        model = self.get(name)
        result = rerank(model, search.query, search.hits, self.score_cache)
        key = (
            model.cache_key,
            text_key(search.query),
            text_key("\x1f".join(text_key(hit.chunk.passage) for hit in search.hits)),
        )
        if result.all_cached:
            return replace(result, first_run_ms=self.first_run_ms.get(key))
        self.first_run_ms.put(key, dict(result.timings_ms))
        return result

    def rerank_logged(self, search: SearchResult, name: str) -> RerankResult:
        """Rerank a logged (or live) retrieval; candidates without text are left out (they stay in the
        "before" ranking only), and a warning says how many."""
        with_text = [hit for hit in search.hits if hit.chunk.text]
        result = rerank(self.get(name), search.query, with_text, self.score_cache)
        missing = len(search.hits) - len(with_text)
        if missing:
            kind = "returned" if search.mode == "live" else "logged"
            result = replace(result, warnings=(*result.warnings, f"{missing} {kind} candidate(s): {NO_TEXT}."))
        return result
