"""The guided tour on the Explore page: curated hard queries of the demo, each with what to look at.

A stakeholder switches it on in the sidebar (or opens ``/?tour=1``) and steps through the stops with
Previous / Next. Each step puts its query into the page's controls from a callback, before the widgets
are drawn (Streamlit refuses to change a widget's state after it exists), so the first screen shows the
stop's before/after top-3 like any other query.
"""

from __future__ import annotations

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from components.shared import keys
from reranklens.errors import RerankLensError
from reranklens.views.explore import ExploreView
from reranklens.views.render import markdown_escape
from reranklens.views.tour import Tour, load_tour

TOUR_CANDIDATES = 50  # as the tour was measured (tests/test_demo_hard.py)


@st.cache_data(show_spinner=False)
def _demo_tour() -> Tour | None:
    try:
        return load_tour()
    except RerankLensError:
        return None  # a broken tour file must not break Explore; the toggle is simply not offered


def _go_to(tour: Tour, stop: int) -> None:
    """Callback: show stop ``stop`` (clamped) with the settings the tour was written for."""
    stop = max(0, min(stop, len(tour.stops) - 1))
    st.session_state[keys.TOUR_STOP] = stop
    st.session_state[keys.QUERY] = tour.stops[stop].query
    st.session_state[keys.COLLECTION] = tour.collection
    st.session_state[keys.MODE] = "vector"
    st.session_state[keys.TOP_K] = 3
    st.session_state[keys.CANDIDATES] = TOUR_CANDIDATES


def _toggled(tour: Tour) -> None:
    if st.session_state.get(keys.TOUR_ON):
        _go_to(tour, 0)


def start_tour_from_url(collections: list[str]) -> None:
    """``?tour=1`` opens the page on the tour's first stop (once per session). Call before the controls."""
    tour = _demo_tour()
    if tour is None or tour.collection not in collections or keys.TOUR_ON in st.session_state:
        return
    if st.query_params.get("tour") in ("1", "true", "yes"):
        st.session_state[keys.TOUR_ON] = True
        _go_to(tour, 0)


def tour_panel(collections: list[str]) -> DeltaGenerator | None:
    """The sidebar's tour box; returns a slot for the line that names the second stage, or None when off."""
    tour = _demo_tour()
    if tour is None or tour.collection not in collections:
        return None
    with st.sidebar:
        st.toggle(
            "Guided tour",
            key=keys.TOUR_ON,
            on_change=_toggled,
            args=(tour,),
            help=f"{len(tour.stops)} questions where vector search picks the wrong page, and what fixes it",
        )
        if not st.session_state.get(keys.TOUR_ON):
            return None
        stop_index = st.session_state.get(keys.TOUR_STOP, 0)
        stop = tour.stops[stop_index]
        with st.container(border=True, key="rl-tour"):
            st.markdown(f"**Stop {stop_index + 1} of {len(tour.stops)}**")
            st.caption(markdown_escape(stop.caption))
            previous, following = st.columns(2)
            previous.button(
                "◀ Previous",
                key="rl-tour-previous",
                on_click=_go_to,
                args=(tour, stop_index - 1),
                disabled=stop_index == 0,
                width="stretch",
            )
            following.button(
                "Next ▶",
                key="rl-tour-next",
                on_click=_go_to,
                args=(tour, stop_index + 1),
                disabled=stop_index == len(tour.stops) - 1,
                width="stretch",
            )
            if st.session_state.get(keys.QUERY) != stop.query:
                st.caption("You changed the query: Previous / Next go back to the tour.")
            return st.empty()


def tour_golden_set() -> str | None:
    """The golden set whose judgements mark the tour's answers, while the tour is on."""
    tour = _demo_tour()
    return tour.golden_set if tour is not None and st.session_state.get(keys.TOUR_ON) else None


def say_second_stage(slot: DeltaGenerator | None, view: ExploreView, no_reranker: str | None) -> None:
    """Name what the "after" column is, plainly: offline it is hybrid search, not a cross-encoder."""
    if slot is None:
        return
    after = markdown_escape(view.right_title)
    if no_reranker:
        slot.caption(f"Second stage: **{after}**, because no cross-encoder can load on this machine.")
    else:
        slot.caption(f"Second stage: **{after}**.")
