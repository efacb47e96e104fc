"""A live retriever as a first stage: the HTTP client of the retriever contract.

The contract (``docs/retriever-contract.schema.json``)::

    POST URL  {"query": "How do I reset my password?", "n": 50}
    200       {"candidates": [{"id": "kb-12", "text": "...", "score": 0.83, "metadata": {"source": "..."}}]}

candidates in the retriever's order, at most ``n``; ``score`` and ``metadata`` are optional. Each candidate
becomes a ``Chunk`` exactly as a logged one does (``retrieve/traces.py``): its id is the returned id plus a
hash of its text, so a label stays with that text, and document id, source and heading come from the
metadata by the LangChain / LlamaIndex conventions.

An answer that breaks the contract in a way the rest can survive (a candidate without text, more candidates
than asked, a repeated id, a malformed candidate) is kept as far as it is usable, with one line per problem
naming the connection; one that cannot be used at all (the endpoint is down, too slow, answers an HTTP
error or something that is not JSON) raises ``LiveRetrieverError`` with one line naming the connection.
httpx is the client: it is already installed (the OpenAI SDK uses it) and times the whole exchange.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

import httpx

from reranklens.errors import RerankLensError
from reranklens.retrieve.connections import Connection
from reranklens.retrieve.traces import NO_TEXT, TraceCandidate, candidate_chunk, parse_candidate
from reranklens.types import Hit, SearchResult

ENDPOINT_STAGE = "endpoint"  # the timing stage of the live retriever's answer
MAX_LISTED = 5  # ids named in one problem line; the rest are counted


class LiveRetrieverError(RerankLensError):
    """The connection gave no usable answer (down, timeout, HTTP error, not JSON, not the contract)."""


@dataclass(frozen=True)
class LiveAnswer:
    """One live retrieval: the candidates as a first-stage result and one line per contract problem."""

    search: SearchResult
    candidates: tuple[TraceCandidate, ...]
    problems: tuple[str, ...] = ()


def _listed(ids: list[str]) -> str:
    shown = ", ".join(f"'{i}'" for i in ids[:MAX_LISTED])
    return shown + (f" and {len(ids) - MAX_LISTED} more" if len(ids) > MAX_LISTED else "")


def live_search(connection: Connection, headers: dict[str, str], query: str, n: int) -> LiveAnswer:
    """Ask ``connection`` for ``n`` candidates of ``query``; mode ``live``, the exchange timed as ``endpoint``."""
    name = f"Connection '{connection.name}'"
    started = time.perf_counter()
    try:
        response = httpx.post(
            connection.url, json={"query": query, "n": n}, headers=headers, timeout=connection.timeout_s
        )
    except httpx.TimeoutException as exc:
        raise LiveRetrieverError(
            f"{name}: no answer from {connection.url} within {connection.timeout_s:g} s (timeout)."
        ) from exc
    except httpx.HTTPError as exc:
        raise LiveRetrieverError(
            f"{name}: endpoint down, {connection.url} cannot be reached ({type(exc).__name__}): is the retriever "
            "running? (reranklens serve-retriever module:object)"
        ) from exc
    elapsed_ms = (time.perf_counter() - started) * 1000
    if response.status_code >= 400:
        raise LiveRetrieverError(f"{name}: {connection.url} answered HTTP {response.status_code}.")
    try:
        data = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise LiveRetrieverError(
            f"{name}: the answer is not JSON (it starts {response.text[:40]!r}): see the contract in the README."
        ) from exc
    raw = data.get("candidates") if isinstance(data, dict) else None
    if not isinstance(raw, list):
        raise LiveRetrieverError(f'{name}: the answer has no "candidates" list: see the contract in the README.')

    problems: list[str] = []
    if len(raw) > n:
        problems.append(f"{name}: returned {len(raw)} candidates, {n} asked: the first {n} kept.")
        raw = raw[:n]
    kept: list[TraceCandidate] = []
    seen: dict[str, int] = {}
    malformed: list[str] = []
    duplicates: list[str] = []
    for position, item in enumerate(raw, start=1):
        candidate = parse_candidate(item)
        if isinstance(candidate, str):
            malformed.append(f"{position} ({candidate})")
            continue
        if candidate.id in seen:
            duplicates.append(candidate.id)
            continue
        seen[candidate.id] = position
        kept.append(candidate)
    if malformed:
        problems.append(f"{name}: candidate(s) {', '.join(malformed[:MAX_LISTED])} dropped: not usable.")
    if duplicates:
        problems.append(f"{name}: duplicate ids {_listed(duplicates)}: the first of each kept.")
    no_text = [c.id for c in kept if c.text is None]
    if no_text:
        problems.append(f"{name}: {len(no_text)} candidate(s) without text ({_listed(no_text)}): kept, {NO_TEXT}.")
    hits = tuple(
        Hit(chunk=candidate_chunk(c), rank=rank, score=c.score if c.score is not None else 0.0)
        for rank, c in enumerate(kept, start=1)
    )
    search = SearchResult(query, connection.name, "live", hits, {ENDPOINT_STAGE: elapsed_ms})
    return LiveAnswer(search, tuple(kept), tuple(problems))
