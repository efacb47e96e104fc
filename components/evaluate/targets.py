"""What the Evaluate page scores: a collection, searched again by each pipeline; a trace set, whose first stage
is the ranking the application logged, so only ``logged`` and ``logged+rerank`` apply; or a connected live
retriever, asked again for each query, so only ``live`` and ``live+rerank`` apply."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlencode

import streamlit as st

from reranklens.evaluate.pipelines import (
    LIVE_PIPELINES,
    LIVE_STAGE,
    NAMED_RERANK,
    TRACE_PIPELINES,
    TRACE_STAGE,
    trace_for,
)
from reranklens.ingest.demo import DEMO_COLLECTION
from reranklens.workspace import Workspace

TRACE_NOTE = "No vector, bm25 or hybrid here: a trace set's first stage is the ranking your application logged."
LIVE_NOTE = "No bm25 or hybrid here: a live retriever searches its own way, and its ranking is the first stage."


@dataclass(frozen=True)
class EvalTarget:
    """A collection, a trace set (``traces``) or a live retriever (``live``), by name: a trace set may share a
    collection's name."""

    name: str
    traces: bool = False
    live: bool = False

    @property
    def label(self) -> str:
        return f"trace set: {self.name}" if self.traces else f"🔌 {self.name} (live)" if self.live else self.name


def eval_targets(
    collections: Sequence[str], trace_sets: Sequence[str], connections: Sequence[str] = ()
) -> list[EvalTarget]:
    """The collections, then the trace sets, then the live retrievers."""
    return (
        [EvalTarget(name) for name in collections]
        + [EvalTarget(name, traces=True) for name in trace_sets]
        + [EvalTarget(name, live=True) for name in connections]
    )


def target_picker(targets: list[EvalTarget]) -> EvalTarget:
    """The sidebar's "Collection or trace set" picker, opening on the demo collection when there is one."""
    index = targets.index(EvalTarget(DEMO_COLLECTION)) if EvalTarget(DEMO_COLLECTION) in targets else 0
    return st.selectbox("Collection or trace set", targets, index=index, format_func=lambda t: t.label)


def trace_pipeline_options(rerankers: list[str]) -> list[str]:
    """``logged``, ``logged+rerank`` (the Reranker picker's model), then ``logged+rerank:NAME`` per reranker."""
    return [*TRACE_PIPELINES, *(f"{TRACE_STAGE}{NAMED_RERANK}{name}" for name in rerankers)]


def live_pipeline_options(rerankers: list[str]) -> list[str]:
    """``live``, ``live+rerank`` (the Reranker picker's model), then ``live+rerank:NAME`` per reranker."""
    return [*LIVE_PIPELINES, *(f"{LIVE_STAGE}{NAMED_RERANK}{name}" for name in rerankers)]


def trace_links(workspace: Workspace, trace_set: str) -> Callable[[str, str], str]:
    """(query id, query) -> the Explore URL replaying the trace the evaluation scored for that query."""

    def link(query_id: str, query: str) -> str:
        trace_id = trace_for(workspace, trace_set, query_id, query)
        return "/explore?" + urlencode({"trace": f"{trace_set}:{trace_id}"})

    return link
