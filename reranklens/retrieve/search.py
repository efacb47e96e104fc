"""First-stage retrieval: vector (Chroma), BM25 (bm25s) and hybrid (reciprocal-rank fusion).

bm25s is used for BM25 because it is maintained, fast (sparse matrices, no per-query Python loop)
and implements the standard Lucene variant; PyStemmer gives it an English Snowball stemmer.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from reranklens.errors import EmptyQueryError, InvalidInputError
from reranklens.types import Chunk, Hit

MIN_CANDIDATES, MAX_CANDIDATES = 1, 200
CHUNK_IDS_FILE = "chunk_ids.json"
RRF_K = 60  # the constant from Cormack et al. (2009); damps the weight of the very first ranks


MAX_QUERY_CHARS = 2000  # ~400 words: the embedder reads 256 tokens, the cross-encoder shares its window


def check_query(query: str) -> str:
    """The query without surrounding whitespace; empty or over ``MAX_QUERY_CHARS`` is refused.

    A long paste is refused rather than cut: the models would silently read only its start.
    """
    query = (query or "").strip()
    if not query:
        raise EmptyQueryError()
    if len(query) > MAX_QUERY_CHARS:
        raise InvalidInputError(
            f"The query is {len(query):,} characters long; the limit is {MAX_QUERY_CHARS:,} (the models read only "
            "the first few hundred words): shorten it to the question you want answered."
        )
    return query


def check_candidates(n: int) -> int:
    if not MIN_CANDIDATES <= n <= MAX_CANDIDATES:
        raise InvalidInputError(f"Candidate count must be between {MIN_CANDIDATES} and {MAX_CANDIDATES}, got {n}.")
    return n


class Stopwatch:
    """Collects per-stage wall times in milliseconds: ``with watch("embed"): ...``."""

    def __init__(self) -> None:
        self.timings_ms: dict[str, float] = {}

    def __call__(self, stage: str) -> _Stage:
        return _Stage(self, stage)


class _Stage:
    def __init__(self, watch: Stopwatch, stage: str) -> None:
        self.watch, self.stage = watch, stage

    def __enter__(self) -> None:
        self.start = time.perf_counter()

    def __exit__(self, *exc: object) -> None:
        elapsed = (time.perf_counter() - self.start) * 1000
        self.watch.timings_ms[self.stage] = self.watch.timings_ms.get(self.stage, 0.0) + elapsed


def vector_hits(neighbours: Sequence[tuple[Chunk, float]]) -> list[Hit]:
    """Chroma's (chunk, cosine distance) pairs as ranked hits; similarity = 1 - distance."""
    return [
        Hit(chunk=chunk, rank=rank, score=1.0 - distance, distance=distance, similarity=1.0 - distance)
        for rank, (chunk, distance) in enumerate(neighbours, start=1)
    ]


class BM25Index:
    """BM25 over a fixed list of chunks (their passages: headings + text).

    Built in memory from the chunks, or loaded from a folder that ``save`` wrote: then it holds only
    the chunk ids and the sparse score matrix (memory-mapped), and ``fetch`` turns the top ids of a
    query into chunks, so a query reads ``n`` chunks from the store, never the whole collection.
    """

    def __init__(self, chunks: Sequence[Chunk]) -> None:
        import bm25s

        chunks = list(chunks)
        by_id = {c.chunk_id: c for c in chunks}
        self.chunk_ids: list[str] = [c.chunk_id for c in chunks]
        self._fetch: Callable[[Sequence[str]], list[Chunk]] = lambda ids: [by_id[i] for i in ids]
        self._retriever = bm25s.BM25()
        if chunks:
            tokens = bm25s.tokenize(
                [c.passage for c in chunks], stopwords="en", stemmer=_stemmer(), show_progress=False
            )
            self._retriever.index(tokens, show_progress=False)

    def __len__(self) -> int:
        return len(self.chunk_ids)

    def save(self, folder: Path) -> None:
        """Write the index into ``folder`` atomically (a temporary sibling renamed into place)."""
        folder.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=".bm25-", dir=folder.parent))
        try:
            if self.chunk_ids:
                self._retriever.save(str(work), show_progress=False)
            (work / CHUNK_IDS_FILE).write_text(json.dumps(self.chunk_ids), encoding="utf-8")
            try:
                work.rename(folder)
            except OSError:
                if not (folder / CHUNK_IDS_FILE).is_file():  # not a concurrent writer's finished index
                    raise
        finally:
            shutil.rmtree(work, ignore_errors=True)

    @classmethod
    def load(cls, folder: Path, fetch: Callable[[Sequence[str]], list[Chunk]]) -> BM25Index:
        """The index ``save`` wrote into ``folder``; ``fetch(ids)`` returns those chunks in that order."""
        import bm25s

        index = cls.__new__(cls)
        index.chunk_ids = json.loads((folder / CHUNK_IDS_FILE).read_text(encoding="utf-8"))
        index._fetch = fetch
        index._retriever = (
            bm25s.BM25.load(str(folder), mmap=True, show_progress=False) if index.chunk_ids else bm25s.BM25()
        )
        return index

    def search(self, query: str, n: int) -> list[Hit]:
        """Top ``n`` chunks with a positive BM25 score (a chunk sharing no term is not a candidate)."""
        import bm25s

        if not self.chunk_ids:
            return []
        tokens = bm25s.tokenize([query], stopwords="en", stemmer=_stemmer(), return_ids=False, show_progress=False)
        known = [[t for t in tokens[0] if t in self._retriever.vocab_dict]]
        if not known[0]:
            return []
        documents, scores = self._retriever.retrieve(known, k=min(n, len(self.chunk_ids)), show_progress=False)
        top = [(int(index), float(score)) for index, score in zip(documents[0], scores[0], strict=True) if score > 0]
        chunks = self._fetch([self.chunk_ids[index] for index, _ in top])
        return [
            Hit(chunk=chunk, rank=rank, score=score)
            for rank, (chunk, (_, score)) in enumerate(zip(chunks, top, strict=True), start=1)
        ]


_local = threading.local()


def _stemmer() -> Any:
    """One Snowball stemmer per thread (PyStemmer objects keep a cache and are not thread-safe)."""
    stemmer = getattr(_local, "stemmer", None)
    if stemmer is None:
        import Stemmer

        stemmer = _local.stemmer = Stemmer.Stemmer("english")
    return stemmer


def reciprocal_rank_fusion(rankings: Sequence[Sequence[Hit]], n: int, k: int = RRF_K) -> list[Hit]:
    """Fuse rankings by summing 1 / (k + rank) per chunk; ties keep first-seen order.

    The fused hit keeps the vector distance/similarity when the chunk came from a vector ranking.
    """
    fused: dict[str, float] = {}
    first: dict[str, Hit] = {}
    for ranking in rankings:
        for hit in ranking:
            chunk_id = hit.chunk.chunk_id
            fused[chunk_id] = fused.get(chunk_id, 0.0) + 1.0 / (k + hit.rank)
            if chunk_id not in first or (first[chunk_id].similarity is None and hit.similarity is not None):
                first[chunk_id] = hit
    order = sorted(fused, key=lambda cid: -fused[cid])[:n]
    return [
        Hit(
            chunk=first[cid].chunk,
            rank=rank,
            score=fused[cid],
            distance=first[cid].distance,
            similarity=first[cid].similarity,
        )
        for rank, cid in enumerate(order, start=1)
    ]


def exact_cosine_top_k(query: np.ndarray, matrix: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` rows of ``matrix`` most cosine-similar to ``query`` (brute force)."""
    norms = np.linalg.norm(matrix, axis=1) * np.linalg.norm(query)
    similarity = matrix @ query / np.where(norms == 0, 1, norms)
    k = min(k, len(similarity))
    top = np.argpartition(-similarity, k - 1)[:k]
    return top[np.argsort(-similarity[top], kind="stable")]
