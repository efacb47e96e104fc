"""Second-stage rerankers: read query and chunk together, score, reorder the candidates.

Two real implementations of one interface: a sentence-transformers ``CrossEncoder`` (by Hugging
Face name or local directory) and an HTTP client for the common hosted ``/rerank`` API shape
(Cohere-compatible: query + documents -> index + relevance_score). ``rerank()`` adds the score
cache and the bookkeeping (ranks, 0-1 values, tokens seen) on top of either.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Any, Protocol

from reranklens.config import Settings
from reranklens.errors import InvalidInputError, ModelUnavailableError, RerankLensError
from reranklens.hub import load_model
from reranklens.score_cache import ScoreCache, text_key
from reranklens.search import Stopwatch
from reranklens.types import Hit, PassageScore, RerankedHit, RerankResult, ScoreKind

log = logging.getLogger(__name__)

HTTP_PREFIX = "http:"
# The query is read whole unless it is this long; then query and passage are both truncated.
LONG_QUERY_TOKENS = 64
OFFLINE_FIXES = (
    "Ways forward: set RERANKLENS_RERANKER to a local cross-encoder directory (copy one in from a "
    "connected machine), use a reranker fine-tuned in RerankLens, or compare vector with hybrid "
    "search, which works offline."
)


class RerankerRequestError(RerankLensError):
    """A hosted reranker refused or failed a request."""


class Reranker(Protocol):
    """Scores passages against a query; higher is more relevant."""

    name: str
    score_kind: ScoreKind
    max_tokens: int | None

    @property
    def cache_key(self) -> str:
        """Identifies the model *and* the options that change its scores."""
        ...

    def score(self, query: str, passages: Sequence[str]) -> list[PassageScore]: ...

    def warnings(self) -> tuple[str, ...]: ...


def make_reranker(name: str, settings: Settings) -> Reranker:
    """``http:MODEL`` for a hosted /rerank API, anything else is a cross-encoder name or directory."""
    name = name.strip()
    if not name:
        raise InvalidInputError("No reranker named: set RERANKLENS_RERANKER or pick one.")
    if name.startswith(HTTP_PREFIX):
        model = name.removeprefix(HTTP_PREFIX) or settings.rerank_api_model
        return HttpReranker(model, settings.rerank_api_url, settings.rerank_api_key)
    return CrossEncoderReranker(name)


def to_probability(raw: float, kind: ScoreKind) -> float:
    """Logits go through a sigmoid; relevance scores are already 0-1 (clamped for safety)."""
    if kind == "logit":
        return 1.0 / (1.0 + math.exp(-raw)) if raw >= -700 else 0.0
    return min(1.0, max(0.0, raw))


def rerank(
    reranker: Reranker,
    query: str,
    hits: Sequence[Hit],
    cache: ScoreCache[PassageScore] | None = None,
) -> RerankResult:
    """Score every first-stage hit with ``reranker`` and return them best first.

    Ties keep first-stage order (a stable sort), so an uninformative model changes nothing.
    Cached scores are reused; only new (model, query, passage) triples reach the model.
    Timings: ``rerank`` (total), and ``rerank_model`` for the part spent in the model.
    """
    watch = Stopwatch()
    with watch("rerank"):
        keys = [(reranker.cache_key, text_key(query), text_key(hit.chunk.passage)) for hit in hits]
        scores: list[PassageScore | None] = [cache.get(key) if cache is not None else None for key in keys]
        missing = [i for i, score in enumerate(scores) if score is None]
        if missing:
            with watch("rerank_model"):
                fresh = reranker.score(query, [hits[i].chunk.passage for i in missing])
            for i, score in zip(missing, fresh, strict=True):
                scores[i] = score
                if cache is not None:
                    cache.put(keys[i], score)
        final = [s for s in scores if s is not None]
        order = sorted(range(len(hits)), key=lambda i: -final[i].raw)
        reranked = tuple(
            RerankedHit(
                hit=hits[i],
                rank=rank,
                raw_score=final[i].raw,
                probability=to_probability(final[i].raw, reranker.score_kind),
                tokens_seen=final[i].tokens_seen,
                tokens_total=final[i].tokens_total,
            )
            for rank, i in enumerate(order, start=1)
        )
    timings = dict(watch.timings_ms)
    timings.setdefault("rerank_model", 0.0)
    return RerankResult(
        reranker=reranker.name,
        score_kind=reranker.score_kind,
        hits=reranked,
        timings_ms=timings,
        max_tokens=reranker.max_tokens,
        warnings=reranker.warnings(),
    )


class CrossEncoderReranker:
    """A sentence-transformers cross-encoder run batch by batch with length-sorted inputs.

    We tokenize ourselves (instead of ``CrossEncoder.predict``) to keep the query whole, cut only
    the passage, and record how many passage tokens the model actually saw.
    """

    score_kind: ScoreKind = "logit"

    def __init__(self, name: str, batch_size: int = 16, device: str | None = None) -> None:
        from sentence_transformers import CrossEncoder

        self.name = name
        self.batch_size = batch_size
        self.model = load_model(
            name,
            lambda source: CrossEncoder(source, device=device),
            "cross-encoder",
            OFFLINE_FIXES,
        )
        num_labels = self.model.transformers_model.config.num_labels
        if num_labels != 1:
            raise ModelUnavailableError(
                f"'{name}' has {num_labels} output labels; reranking needs a cross-encoder with num_labels=1 "
                "(e.g. cross-encoder/ms-marco-MiniLM-L-6-v2)."
            )
        self.max_tokens: int | None = int(self.model.max_seq_length)

    @property
    def cache_key(self) -> str:
        return f"cross-encoder:{self.name}:max{self.max_tokens}"

    def score(self, query: str, passages: Sequence[str]) -> list[PassageScore]:
        import torch

        if not passages:
            return []
        tokenizer = self.model.tokenizer
        query_tokens = len(tokenizer(query, add_special_tokens=False)["input_ids"])
        truncation = "only_second" if query_tokens <= LONG_QUERY_TOKENS else "longest_first"
        totals = [len(ids) for ids in tokenizer(list(passages), add_special_tokens=False, verbose=False)["input_ids"]]
        encoded = tokenizer([query] * len(passages), list(passages), truncation=truncation, max_length=self.max_tokens)
        # Passage tokens = tokens of the second sequence (works with or without token_type_ids).
        seen = [sum(1 for s in encoded.sequence_ids(i) if s == 1) for i in range(len(passages))]
        inputs = [key for key in ("input_ids", "token_type_ids", "attention_mask") if key in encoded]
        order = sorted(range(len(passages)), key=lambda i: len(encoded["input_ids"][i]))
        raw = [0.0] * len(passages)
        device = self.model.device
        with torch.inference_mode():
            for start in range(0, len(order), self.batch_size):
                batch = order[start : start + self.batch_size]
                features = tokenizer.pad(
                    {key: [encoded[key][i] for i in batch] for key in inputs},
                    return_tensors="pt",
                )
                logits = self.model.transformers_model(**{k: v.to(device) for k, v in features.items()}).logits
                for i, value in zip(batch, logits.view(-1).tolist(), strict=True):
                    raw[i] = float(value)
        return [PassageScore(raw[i], seen[i], totals[i]) for i in range(len(passages))]

    def seen_text(self, passage: str, tokens_seen: int) -> str:
        """The beginning of ``passage`` that fits in ``tokens_seen`` tokens: what the model read."""
        offsets = self.model.tokenizer(passage, add_special_tokens=False, return_offsets_mapping=True, verbose=False)[
            "offset_mapping"
        ]
        if tokens_seen >= len(offsets):
            return passage
        return passage[: offsets[tokens_seen - 1][1]] if tokens_seen > 0 else ""

    def warnings(self) -> tuple[str, ...]:
        """A classification head still at its initial values (weights ~ N(0, initializer_range),
        bias 0) means the model was never trained for relevance: its scores are noise."""
        head = getattr(self.model.transformers_model, "classifier", None)
        weight = getattr(head, "weight", None)
        bias = getattr(head, "bias", None)
        if weight is None or bias is None:
            return ()
        init = float(getattr(self.model.transformers_model.config, "initializer_range", 0.02))
        std = float(weight.detach().float().std())
        if float(bias.detach().abs().max()) == 0.0 and 0.5 * init <= std <= 1.5 * init:
            return (
                f"'{self.name}' has an untrained classification head (weights at their random initial values, "
                "bias 0): its scores are meaningless. Use a trained cross-encoder.",
            )
        return ()


class HttpReranker:
    """A hosted reranker speaking the Cohere-style ``POST {base}/rerank`` API.

    Request ``{"model", "query", "documents": [...], "top_n"}``; response
    ``{"results": [{"index": i, "relevance_score": s}, ...]}``. Base URL and key come from
    ``RERANKLENS_RERANK_URL`` / ``RERANKLENS_RERANK_API_KEY``.
    """

    score_kind: ScoreKind = "relevance"
    max_tokens: int | None = None

    def __init__(self, model: str, base_url: str | None, api_key: str | None, timeout: float = 30.0) -> None:
        if not base_url:
            raise InvalidInputError(
                "RERANKLENS_RERANK_URL is not set: point it at a /rerank API (e.g. https://api.cohere.com/v2) "
                "to use the 'http:' reranker."
            )
        import httpx

        self.name = HTTP_PREFIX + model
        self.model = model
        self.url = base_url.rstrip("/") + "/rerank"
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(headers=headers, timeout=timeout)

    @property
    def cache_key(self) -> str:
        return f"http:{self.url}:{self.model}"

    def score(self, query: str, passages: Sequence[str]) -> list[PassageScore]:
        import httpx

        if not passages:
            return []
        body = {"model": self.model, "query": query, "documents": list(passages), "top_n": len(passages)}
        try:
            response = self._client.post(self.url, json=body)
        except httpx.HTTPError as exc:
            raise RerankerRequestError(f"Cannot reach the rerank API at {self.url}: {type(exc).__name__}.") from exc
        if response.status_code in (401, 403):
            raise RerankerRequestError(
                f"The rerank API refused the key ({response.status_code}): check RERANKLENS_RERANK_API_KEY."
            )
        if response.status_code == 429:
            raise RerankerRequestError("The rerank API rate limit was reached (429): wait and retry.")
        if response.status_code >= 400:
            raise RerankerRequestError(f"The rerank API answered {response.status_code}.")
        try:
            payload = response.json()
        except ValueError as exc:
            raise RerankerRequestError(
                f"The rerank API at {self.url} did not answer JSON: check RERANKLENS_RERANK_URL (the base URL, "
                "without /rerank, e.g. https://api.cohere.com/v2)."
            ) from exc
        return _parse_rerank_response(payload, len(passages))

    def warnings(self) -> tuple[str, ...]:
        return ()


def _parse_rerank_response(payload: Any, count: int) -> list[PassageScore]:
    try:
        results = payload["results"]
        scores = {int(item["index"]): float(item["relevance_score"]) for item in results}
    except (KeyError, TypeError, ValueError) as exc:
        raise RerankerRequestError("The rerank API's answer has no results[].index/relevance_score.") from exc
    if set(scores) != set(range(count)):
        raise RerankerRequestError(f"The rerank API scored {len(scores)} of {count} documents.")
    return [PassageScore(scores[i]) for i in range(count)]
