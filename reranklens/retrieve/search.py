"""First-stage retrieval: vector (Chroma), BM25 (bm25s) and hybrid (reciprocal-rank fusion).

bm25s is used for BM25 because it is maintained, fast (sparse matrices, no per-query Python loop)
and implements the standard Lucene variant; PyStemmer gives it an English Snowball stemmer.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np

from reranklens.errors import EmptyQueryError, InvalidInputError
from reranklens.types import Chunk, Hit

MIN_CANDIDATES, MAX_CANDIDATES = 1, 200
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
    """BM25 over a fixed list of chunks (their passages: headings + text)."""

    def __init__(self, chunks: Sequence[Chunk]) -> None:
        import bm25s
        import Stemmer

        self.chunks = list(chunks)
        self._stemmer = Stemmer.Stemmer("english")
        self._retriever = bm25s.BM25()
        if self.chunks:
            tokens = bm25s.tokenize(
                [c.passage for c in self.chunks], stopwords="en", stemmer=self._stemmer, show_progress=False
            )
            self._retriever.index(tokens, show_progress=False)

    def search(self, query: str, n: int) -> list[Hit]:
        """Top ``n`` chunks with a positive BM25 score (a chunk sharing no term is not a candidate)."""
        import bm25s

        if not self.chunks:
            return []
        tokens = bm25s.tokenize([query], stopwords="en", stemmer=self._stemmer, return_ids=False, show_progress=False)
        known = [[t for t in tokens[0] if t in self._retriever.vocab_dict]]
        if not known[0]:
            return []
        documents, scores = self._retriever.retrieve(known, k=min(n, len(self.chunks)), show_progress=False)
        hits: list[Hit] = []
        for index, score in zip(documents[0], scores[0], strict=True):
            if score <= 0:
                break
            hits.append(Hit(chunk=self.chunks[int(index)], rank=len(hits) + 1, score=float(score)))
        return hits


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
