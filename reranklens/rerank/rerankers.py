"""Second-stage rerankers: read query and chunk together, score, reorder the candidates.

Two real implementations of one interface: a sentence-transformers ``CrossEncoder`` (by Hugging
Face name or local directory) and an HTTP client for the common hosted ``/rerank`` API shape
(Cohere-compatible: query + documents -> index + relevance_score). ``rerank()`` adds the score
cache and the bookkeeping (ranks, 0-1 values, tokens seen) on top of either.
"""

from __future__ import annotations

import logging
import math
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from reranklens.config import Settings
from reranklens.errors import InvalidInputError, ModelUnavailableError, RerankLensError
from reranklens.models.hub import load_model
from reranklens.rerank.llm_reranker import OPENAI_PREFIX, LlmReranker
from reranklens.rerank.onnx_backend import INPUT_NAMES, OnnxCrossEncoderSession, Precision, ensure_export
from reranklens.rerank.score_cache import ScoreCache, text_key
from reranklens.retrieve.search import Stopwatch
from reranklens.types import Hit, PassageScore, RerankCost, RerankedHit, RerankResult, ScoreKind

log = logging.getLogger(__name__)

HTTP_PREFIX = "http:"
# The query is read whole unless it is this long; then query and passage are both truncated.
LONG_QUERY_TOKENS = 64
BACKENDS = ("torch", "onnx", "onnx-int8")
AUTO_BACKEND = "auto"
# What "auto" means on a CPU: the fastest backend whose rankings match the plain model's in
# bench/rerank_bench.py (identical top-3 on >= 95 % of queries, nDCG@10 within 0.005). Measured on
# 2 cores: torch 1.23x, onnx fp32 1.13x; onnx-int8 is 1.97x but kept the top-3 on too few queries
# of the models we could train here, so it is one setting away, not the default.
CPU_DEFAULT_BACKEND = "torch"
# Pairs per forward pass. Length-sorted, so a batch pads little; small batches keep the
# activations in cache on a 2-core CPU (8 measured fastest in bench/rerank_bench.py).
DEFAULT_BATCH_SIZE = 8
MIN_MAX_TOKENS = 32
RERANK_STAGES = ("rerank_tokenize", "rerank_model", "rerank_post")
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

    def score(self, query: str, passages: Sequence[str], watch: Stopwatch | None = None) -> list[PassageScore]:
        """One score per passage, in order; stage timings go to ``watch`` when given."""
        ...

    def warnings(self) -> tuple[str, ...]: ...


def make_reranker(name: str, settings: Settings) -> Reranker:
    """``http:MODEL`` for a hosted /rerank API, ``openai:MODEL`` for an LLM on an OpenAI-compatible
    server (see ``llm_reranker``), anything else is a cross-encoder name or directory."""
    name = name.strip()
    if not name:
        raise InvalidInputError("No reranker named: set RERANKLENS_RERANKER or pick one.")
    if name.startswith(OPENAI_PREFIX):
        return LlmReranker(name, settings)
    if name.startswith(HTTP_PREFIX):
        model = name.removeprefix(HTTP_PREFIX) or settings.rerank_api_model
        return HttpReranker(model, settings.rerank_api_url, settings.rerank_api_key)
    return CrossEncoderReranker(
        name,
        backend=settings.rerank_backend,
        max_tokens=settings.rerank_max_tokens,
        export_dir=settings.exports_path,
    )


def resolve_backend(backend: str, device: str) -> str:
    """``auto``: PyTorch on a GPU (CUDA or MPS), the measured CPU default on a CPU; others as given.

    ONNX backends run on the CPU only, so asking for one on a GPU machine is honoured as asked.
    """
    if backend != AUTO_BACKEND:
        return backend
    return CPU_DEFAULT_BACKEND if device.startswith("cpu") else "torch"


def length_batches(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Indices grouped ``batch_size`` at a time in order of length, so each batch pads little.

    >>> length_batches([5, 1, 3, 2], 2)
    [[1, 3], [2, 0]]
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    return [order[start : start + batch_size] for start in range(0, len(order), batch_size)]


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
    Timings: ``rerank`` (total, cache lookups included) and the reranker's own stages inside it:
    ``rerank_tokenize``, ``rerank_model``, ``rerank_post`` (all 0 when every score was cached).
    """
    watch = Stopwatch()
    cost: RerankCost | None = RerankCost() if isinstance(reranker, LlmReranker) else None
    with watch("rerank"):
        model_key = reranker.cache_key
        if getattr(reranker, "listwise", False):
            # A listwise score depends on the other candidates: only the same set, in the same order,
            # may reuse it, so a cached set is all-or-nothing.
            model_key += ":set:" + text_key("\x1f".join(hit.chunk.passage for hit in hits))
        keys = [(model_key, text_key(query), text_key(hit.chunk.passage)) for hit in hits]
        scores: list[PassageScore | None] = [cache.get(key) if cache is not None else None for key in keys]
        missing = [i for i, score in enumerate(scores) if score is None]
        if getattr(reranker, "listwise", False) and missing:
            missing = list(range(len(hits)))
        if missing:
            passages = [hits[i].chunk.passage for i in missing]
            if isinstance(reranker, LlmReranker):
                batch = reranker.score_batch(query, passages, watch)
                fresh, cost = batch.scores, batch.cost
            else:
                fresh = reranker.score(query, passages, watch)
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
    for stage in RERANK_STAGES:
        timings.setdefault(stage, 0.0)
    return RerankResult(
        reranker=reranker.name,
        score_kind=reranker.score_kind,
        hits=reranked,
        timings_ms=timings,
        max_tokens=reranker.max_tokens,
        warnings=reranker.warnings(),
        cached_scores=len(hits) - len(missing),
        cost=cost,
        repairs=tuple(dict.fromkeys(line for s in final if s.note for line in s.note.split(" · "))),
    )


class CrossEncoderReranker:
    """A sentence-transformers cross-encoder, run in length-sorted batches on one of three backends.

    We tokenize ourselves (instead of ``CrossEncoder.predict``) to keep the query whole, cut only
    the passage, record how many passage tokens the model actually saw, and batch by length so
    no batch pads a short pair to a long one. ``backend``: ``torch`` (the model as trained, and
    the only one that uses a GPU), ``onnx`` (ONNX Runtime fp32) or ``onnx-int8`` (dynamic int8,
    about twice as fast on CPU, with rankings close to but not identical with torch's, as
    bench/rerank_bench.py measures);
    ``auto`` picks for the device. ``max_tokens`` caps the pair length below the model's window:
    a token budget that trades fidelity for speed on long chunks.
    """

    score_kind: ScoreKind = "logit"

    def __init__(
        self,
        name: str,
        batch_size: int = DEFAULT_BATCH_SIZE,
        device: str | None = None,
        backend: str = "torch",
        max_tokens: int | None = None,
        export_dir: Path | None = None,
    ) -> None:
        from sentence_transformers import CrossEncoder

        if backend not in (*BACKENDS, AUTO_BACKEND):
            raise InvalidInputError(f"Unknown reranker backend '{backend}': choose auto, {', '.join(BACKENDS)}.")
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
        window = int(self.model.max_seq_length)
        if max_tokens is not None and not MIN_MAX_TOKENS <= max_tokens:
            raise InvalidInputError(f"The reranker token budget must be at least {MIN_MAX_TOKENS}, got {max_tokens}.")
        self.max_tokens: int | None = min(window, max_tokens) if max_tokens else window
        self.backend = resolve_backend(backend, str(self.model.device))
        self._input_names = tuple(name for name in INPUT_NAMES if name in self.model.tokenizer.model_input_names)
        self._session = None
        if self.backend != "torch":
            self._session = self._onnx_session(export_dir or Path(tempfile.gettempdir()) / "reranklens-exports")

    def _onnx_session(self, export_dir: Path) -> OnnxCrossEncoderSession:
        precision: Precision = "int8" if self.backend == "onnx-int8" else "fp32"
        try:
            path = ensure_export(self.model.transformers_model, self._input_names, export_dir, precision)
            return OnnxCrossEncoderSession(path, self._input_names)
        except Exception as exc:  # noqa: BLE001 - any exporter/runtime failure means: use torch
            raise ModelUnavailableError(
                f"Could not prepare the {self.backend} backend for '{self.name}' ({type(exc).__name__}: {exc}). "
                "Set RERANKLENS_RERANK_BACKEND=torch to use the PyTorch model."
            ) from exc

    @property
    def cache_key(self) -> str:
        """Model, backend and token window: each changes the scores, so each gets its own cache entries."""
        return f"cross-encoder:{self.name}:{self.backend}:max{self.max_tokens}"

    def score(self, query: str, passages: Sequence[str], watch: Stopwatch | None = None) -> list[PassageScore]:
        """Raw logits for each passage against ``query``; stages go to ``watch`` as
        ``rerank_tokenize``, ``rerank_model`` and ``rerank_post``."""
        if not passages:
            return []
        watch = watch or Stopwatch()
        tokenizer = self.model.tokenizer
        with watch("rerank_tokenize"):
            query_tokens = len(tokenizer(query, add_special_tokens=False)["input_ids"])
            truncation = "only_second" if query_tokens <= LONG_QUERY_TOKENS else "longest_first"
            totals = [
                len(ids) for ids in tokenizer(list(passages), add_special_tokens=False, verbose=False)["input_ids"]
            ]
            encoded = tokenizer(
                [query] * len(passages), list(passages), truncation=truncation, max_length=self.max_tokens
            )
            # Passage tokens = tokens of the second sequence (works with or without token_type_ids).
            seen = [sum(1 for s in encoded.sequence_ids(i) if s == 1) for i in range(len(passages))]
            inputs = [key for key in self._input_names if key in encoded]
            lengths = [len(ids) for ids in encoded["input_ids"]]
        raw = np.zeros(len(passages), dtype=np.float32)
        for batch in length_batches(lengths, self.batch_size):
            with watch("rerank_tokenize"):
                features = tokenizer.pad(
                    {key: [encoded[key][i] for i in batch] for key in inputs},
                    return_tensors="np",
                )
            with watch("rerank_model"):
                raw[batch] = self._forward(features)
        with watch("rerank_post"):
            return [PassageScore(float(raw[i]), seen[i], totals[i]) for i in range(len(passages))]

    def _forward(self, features: dict[str, np.ndarray]) -> np.ndarray:
        if self._session is not None:
            return self._session.run(features)
        import torch

        device = self.model.device
        with torch.inference_mode():
            tensors = {key: torch.from_numpy(np.asarray(value)).to(device) for key, value in features.items()}
            return self.model.transformers_model(**tensors).logits.view(-1).float().cpu().numpy()

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

    def score(self, query: str, passages: Sequence[str], watch: Stopwatch | None = None) -> list[PassageScore]:
        import httpx

        if not passages:
            return []
        body = {"model": self.model, "query": query, "documents": list(passages), "top_n": len(passages)}
        watch = watch or Stopwatch()
        try:
            with watch("rerank_model"):
                response = self._client.post(self.url, json=body)
        except httpx.HTTPError as exc:
            # The URL is not quoted: it may carry credentials, and the message reaches every visitor.
            raise RerankerRequestError(
                f"Cannot reach the rerank API (RERANKLENS_RERANK_URL): {type(exc).__name__}."
            ) from exc
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
                "The rerank API did not answer JSON: check RERANKLENS_RERANK_URL (the base URL, "
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
