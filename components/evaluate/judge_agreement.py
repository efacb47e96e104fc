"""The Evaluate page's "LLM label suggestions vs people": how often people kept the judge's grade."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from reranklens.errors import RerankLensError
from reranklens.golden.store import GoldenStore
from reranklens.golden.suggest import agreement
from reranklens.views.render import markdown_escape


def render_suggestion_agreement(golden: GoldenStore, golden_set: str) -> None:
    """How often people kept the judge's grade in ``golden_set`` (labels made with a suggestion shown)."""
    with st.expander("LLM label suggestions vs people"):
        try:
            result = agreement(golden.person_judgements(golden_set))  # each person vs the suggestion they saw
        except RerankLensError as exc:
            st.error(markdown_escape(str(exc)))
            return
        if not result.pairs:
            st.caption(
                f"No label of '{markdown_escape(golden_set)}' was made with a suggestion shown. Use **Suggest grades** "
                "on the Label page: agreement between the judge and people appears here."
            )
            return
        cols = st.columns(5)
        cols[0].metric("Labels with a suggestion", result.pairs)
        cols[1].metric("Accepted as suggested", result.accepted)
        cols[2].metric("Exact agreement", _percent(result.exact))
        cols[3].metric("Within one grade", _percent(result.within_one))
        cols[4].metric("Cohen's κ", "n/a" if result.kappa is None else f"{result.kappa:.2f}")
        grades = sorted({g for pair in result.confusion for g in pair})
        table = pd.DataFrame(
            [[result.confusion.get((s, h), 0) for h in grades] for s in grades],
            index=[f"suggested {g}" for g in grades],
            columns=[f"person {g}" for g in grades],
        )
        st.dataframe(table, width="stretch")
        st.caption(
            "Judge models: "
            # Judge model names are stored with each label by whoever labelled: untrusted text.
            + ", ".join(f"{markdown_escape(m)} ({n})" for m, n in sorted(result.by_model.items()))
            + ". κ is undefined with fewer than two labels or a single grade throughout."
        )


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"
