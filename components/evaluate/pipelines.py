"""Evaluate with several rerankers: the pipeline picker's named ``+rerank:NAME`` options and a
table of latency next to cost per 1,000 queries, one row per pipeline."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from reranklens.evaluate.pipelines import NAMED_RERANK, PIPELINES, RERANKED_STAGES, EvalResult
from reranklens.views.render import markdown_escape


def pipeline_options(rerankers: list[str]) -> list[str]:
    """The plain pipelines, then ``vector+rerank:NAME`` and ``hybrid+rerank:NAME`` for each known reranker."""
    return [*PIPELINES, *(f"{stage}{NAMED_RERANK}{name}" for name in rerankers for stage in RERANKED_STAGES)]


def render_costs(result: EvalResult) -> None:
    """Total p50/p95 latency per pipeline with, for paid rerankers, the dollars per 1,000 queries."""
    rows = []
    for name, pipeline in result.pipelines.items():
        total = pipeline.latency_ms.get("total", {})
        cost = pipeline.cost
        per_1k = None if cost is None else cost.get("usd_per_1k_queries")
        rows.append(
            {
                "pipeline": name,
                "p50 ms": round(total.get("p50", 0.0), 1),
                "p95 ms": round(total.get("p95", 0.0), 1),
                "USD per 1,000 queries": "local"
                if cost is None
                else ("unknown" if per_1k is None else round(per_1k, 4)),
                "LLM calls": None if cost is None else cost.get("calls"),
            }
        )
    st.dataframe(pd.DataFrame(rows).astype({"USD per 1,000 queries": str}), hide_index=True, width="stretch")
    if any(p.reranker for p in result.pipelines.values()):
        used = sorted({p.reranker for p in result.pipelines.values() if p.reranker})
        st.caption("Rerankers: " + ", ".join(markdown_escape(name) for name in used))
