"""Agreement between the people who label a set, drawn on Label (team panel) and Evaluate, next to the
LLM-judge-vs-people agreement."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from reranklens.errors import RerankLensError
from reranklens.golden.agreement import team_agreement
from reranklens.golden.store import GoldenStore
from reranklens.views.render import markdown_escape


def render_labeler_agreement(golden: GoldenStore, golden_set: str) -> None:
    """Krippendorff's alpha over all labelers and, per pair, exact / within-one agreement and Cohen's kappa."""
    try:
        result = team_agreement(golden.person_judgements(golden_set))
    except RerankLensError as exc:
        st.error(markdown_escape(str(exc)))
        return
    if not result.shared_units:
        st.caption(
            f"{len(result.labelers)} labeler(s) in '{markdown_escape(golden_set)}'; no chunk was graded by two "
            "people yet. Agreement between people appears here once two of them grade the same chunks."
        )
        return
    cols = st.columns(3)
    cols[0].metric("Labelers", len(result.labelers))
    cols[1].metric("Chunks graded by two or more", result.shared_units)
    cols[2].metric("Krippendorff's α (ordinal)", "n/a" if result.alpha is None else f"{result.alpha:.2f}")
    rows = [
        {
            # Labeler names are whatever people typed or signed in with: plain dataframe cells, never Markdown.
            "labeler A": pair.a or "(unnamed)",
            "labeler B": pair.b or "(unnamed)",
            "both graded": pair.n,
            "exact": None if pair.exact is None else round(pair.exact, 3),
            "within one": None if pair.within_one is None else round(pair.within_one, 3),
            "Cohen's κ (quadratic)": None if pair.kappa is None else round(pair.kappa, 3),
        }
        for pair in result.pairs
        if pair.n
    ]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    st.caption("κ and α are n/a with too few shared grades or a single grade throughout.")
