"""Small frozen value objects passed across every boundary of the engine."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:
    import numpy as np

SearchMode = Literal["vector", "bm25", "hybrid", "logged", "live"]
# What a user can ask for; "logged" is a replayed trace's fixed first stage (see retrieve/traces.py), "live"
# a connected retriever's answer (see retrieve/live.py).
SEARCH_MODES: tuple[SearchMode, ...] = ("vector", "bm25", "hybrid")
HEADING_SEPARATOR = " > "

# Why a logged or live candidate without text stays out of the reranking (shown in tables and warnings).
NO_TEXT = "no text: cannot be reranked"


class Embedder(Protocol):
    """Anything that maps texts to float32 unit vectors of a fixed dimension (``ingest.embed`` makes them;
    search, attaching and evaluation only call them, so the protocol lives here, below all of them)."""

    name: str

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...


@dataclass(frozen=True)
class Document:
    """One source document as text, before chunking.

    ``doc_id`` is stable across machines (a path relative to the ingested folder, or a BEIR ``_id``);
    ``source`` says where it came from, for display. ``markdown`` enables heading-aware chunking.
    """

    doc_id: str
    text: str
    source: str
    title: str = ""
    markdown: bool = False

    def __post_init__(self) -> None:
        if not self.doc_id:
            raise ValueError("Document.doc_id must not be empty")


@dataclass(frozen=True)
class Chunk:
    """A piece of a document small enough for a cross-encoder window.

    ``text`` is exactly ``document.text[char_start:char_end]``; ``heading_path`` is the title and
    the markdown headings above it. ``passage`` (headings + text) is what the models read.
    """

    chunk_id: str
    doc_id: str
    text: str
    source: str
    position: int
    heading_path: tuple[str, ...] = ()
    char_start: int = 0
    char_end: int = 0
    token_count: int = 0

    def __post_init__(self) -> None:
        if not self.chunk_id:
            raise ValueError("Chunk.chunk_id must not be empty")
        if self.char_end < self.char_start:
            raise ValueError(f"Chunk {self.chunk_id}: char_end {self.char_end} < char_start {self.char_start}")

    @property
    def heading(self) -> str:
        return HEADING_SEPARATOR.join(self.heading_path)

    @property
    def passage(self) -> str:
        """The text given to embedders and rerankers: headings give a chunk its context
        (a "Reset your password" section only says *which* version in its title)."""
        return f"{self.heading}\n\n{self.text}" if self.heading_path else self.text

    def to_metadata(self, doc_hash: str) -> dict[str, Any]:
        """Chroma metadata (flat scalars only)."""
        return {
            "doc_id": self.doc_id,
            "source": self.source,
            "position": self.position,
            "heading_path": json.dumps(list(self.heading_path), ensure_ascii=False),
            "char_start": self.char_start,
            "char_end": self.char_end,
            "token_count": self.token_count,
            "doc_hash": doc_hash,
        }

    @classmethod
    def from_metadata(cls, chunk_id: str, text: str, meta: dict[str, Any]) -> Chunk:
        return cls(
            chunk_id=chunk_id,
            doc_id=str(meta["doc_id"]),
            text=text,
            source=str(meta.get("source", "")),
            position=int(meta.get("position", 0)),
            heading_path=tuple(json.loads(str(meta.get("heading_path") or "[]"))),
            char_start=int(meta.get("char_start", 0)),
            char_end=int(meta.get("char_end", 0)),
            token_count=int(meta.get("token_count", 0)),
        )


@dataclass(frozen=True)
class Hit:
    """A chunk at a rank in one ranking. ``score`` is the ranking's own score (higher is better):
    cosine similarity for vector search, BM25 for bm25, the fused RRF value for hybrid.
    ``distance`` and ``similarity`` are set only for vector hits."""

    chunk: Chunk
    rank: int
    score: float
    distance: float | None = None
    similarity: float | None = None

    def __post_init__(self) -> None:
        if self.rank < 1:
            raise ValueError(f"Hit.rank is 1-based, got {self.rank}")


@dataclass(frozen=True)
class SearchResult:
    """One query's first-stage ranking with the time each stage took."""

    query: str
    collection: str
    mode: SearchMode
    hits: tuple[Hit, ...]
    timings_ms: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class CollectionInfo:
    name: str
    embedder: str
    chunk_count: int
    doc_count: int | None = None
    # Attached collections (another application's Chroma, read-only): where they live.
    attached_from: str | None = None


@dataclass(frozen=True)
class IngestReport:
    """What an ingestion did. ``skipped`` holds one line per input that could not be read."""

    collection: str
    documents: int
    chunks_total: int
    chunks_added: int
    chunks_removed: int
    seconds: float
    skipped: tuple[str, ...] = ()
    golden_set: str | None = None
    golden_queries: int = 0
    golden_judgements: int = 0
    # A BEIR folder's set is imported under a new name when a different set already has its name.
    golden_renamed_from: str | None = None

    @property
    def chunks_per_second(self) -> float:
        return self.chunks_added / self.seconds if self.seconds > 0 else 0.0


ScoreKind = Literal["logit", "relevance"]


@dataclass(frozen=True)
class PassageScore:
    """A reranker's verdict on one (query, passage) pair.

    ``raw`` is the model's own number (a logit for cross-encoders, a 0-1 relevance for hosted
    APIs); ``tokens_seen`` / ``tokens_total`` count the passage tokens the model read / the passage
    has (None when the reranker does not say).
    """

    raw: float
    tokens_seen: int | None = None
    tokens_total: int | None = None
    # Set when the score needed repair (an LLM reranker's malformed answer), saying what was repaired.
    note: str | None = None


@dataclass(frozen=True)
class RerankCost:
    """What the calls to a paid reranker (an LLM) cost for one query. ``usd`` is None when the model's
    price is unknown; a result served from the cache made no calls and cost nothing."""

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    usd: float | None = 0.0

    def __add__(self, other: RerankCost) -> RerankCost:
        usd = None if self.usd is None or other.usd is None else self.usd + other.usd
        return RerankCost(
            self.calls + other.calls,
            self.prompt_tokens + other.prompt_tokens,
            self.completion_tokens + other.completion_tokens,
            usd,
        )


@dataclass(frozen=True)
class RerankedHit:
    """A first-stage hit with its reranked position. ``probability`` is the raw score mapped to
    0-1 (sigmoid of a logit; a relevance score as is), so scores of different models compare."""

    hit: Hit
    rank: int
    raw_score: float
    probability: float
    tokens_seen: int | None = None
    tokens_total: int | None = None

    @property
    def truncated(self) -> bool:
        return is_truncated(self.tokens_seen, self.tokens_total)


def is_truncated(tokens_seen: int | None, tokens_total: int | None) -> bool:
    """The model read fewer passage tokens than the passage has (unknown counts: not truncated)."""
    return tokens_seen is not None and tokens_total is not None and tokens_seen < tokens_total


@dataclass(frozen=True)
class RerankResult:
    """The candidates of one search in reranked order, with timings and any warnings about the model."""

    reranker: str
    score_kind: ScoreKind
    hits: tuple[RerankedHit, ...]
    timings_ms: dict[str, float] = field(default_factory=dict)
    max_tokens: int | None = None
    warnings: tuple[str, ...] = ()
    # How many scores came from the score cache; when all did, ``timings_ms`` times only the lookups and
    # ``first_run_ms`` holds the timings of the run that computed them (None when not known).
    cached_scores: int = 0
    first_run_ms: dict[str, float] | None = None

    # Paid rerankers only (None for local models): calls, tokens and dollars this result cost.
    cost: RerankCost | None = None
    # What had to be repaired in the model's answers (an LLM's malformed permutation), one line each.
    repairs: tuple[str, ...] = ()

    @property
    def all_cached(self) -> bool:
        return bool(self.hits) and self.cached_scores >= len(self.hits)
