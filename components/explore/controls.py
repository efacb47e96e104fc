"""The Explore page's inputs, kept in sync with the URL so a pasted link reproduces the view."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import streamlit as st

from components.shared import keys
from components.shared.connection_choice import LIVE_NOTE, choice_label, connection_of
from reranklens.ingest.demo import DEMO_COLLECTION
from reranklens.retrieve.search import MAX_CANDIDATES
from reranklens.views.explore import MAX_TOP_K, MIN_TOP_K

EXAMPLE_QUERY = "How do I reset my password in v2.4?"
MIN_UI_CANDIDATES = 5
MODES = ("vector", "hybrid")
MODE_LABELS = {"vector": "Vector", "hybrid": "Hybrid (vector + BM25)"}


@dataclass(frozen=True)
class ExploreParams:
    query: str
    collection: str
    candidates: int
    k: int
    mode: str
    reranker: str


# URL parameter -> (session key, parser that returns None for a bad value)
_URL_FIELDS: dict[str, tuple[str, Callable[[str], Any]]] = {
    "q": (keys.QUERY, str),
    "collection": (keys.COLLECTION, str),
    "n": (keys.CANDIDATES, lambda v: _int_in(v, MIN_UI_CANDIDATES, MAX_CANDIDATES)),
    "k": (keys.TOP_K, lambda v: _int_in(v, MIN_TOP_K, MAX_TOP_K)),
    "mode": (keys.MODE, lambda v: v if v in MODES else None),
    "reranker": (keys.RERANKER, str),
}


def explore_controls(
    collections: list[str], rerankers: list[str], page: str, reranker_label: Callable[[str], str] = str
) -> ExploreParams:
    """Render the controls (query on top, settings in the sidebar) and return their values.

    ``reranker_label`` shows a reranker in the picker (e.g. marks one that cannot load here).

    ``page`` names the calling page: entering a page loads its URL parameters once (a link from
    Explore to Label carries the query and settings), later reruns keep what the user set.
    """
    _load_url_once(collections, rerankers, page)
    if st.session_state.get(keys.RERANKER) not in rerankers and rerankers:
        st.session_state[keys.RERANKER] = rerankers[0]  # only models the server offers can be loaded
    query = st.text_input("Query", key=keys.QUERY, placeholder=EXAMPLE_QUERY)
    with st.sidebar:
        collection = st.selectbox("Collection", collections, key=keys.COLLECTION, format_func=choice_label)
        if connection_of(collection or "") is None:
            mode = st.radio("Retrieval", MODES, key=keys.MODE, format_func=MODE_LABELS.get, horizontal=True)
        else:
            st.caption(LIVE_NOTE)
            mode = str(st.session_state.get(keys.MODE) or "vector")
        candidates = st.slider("Candidates (N)", MIN_UI_CANDIDATES, MAX_CANDIDATES, key=keys.CANDIDATES)
        k = st.slider("Top-k to compare", MIN_TOP_K, MAX_TOP_K, key=keys.TOP_K)
        reranker = st.selectbox(
            "Reranker",
            rerankers,
            key=keys.RERANKER,
            format_func=reranker_label,
            help="The configured reranker and the models on the Models page (an admin adds more there).",
        )
    params = ExploreParams(query.strip(), collection or "", candidates, k, mode or "vector", reranker or "")
    _write_url(params)
    return params


def _load_url_once(collections: list[str], rerankers: list[str], page: str) -> None:
    """On entering a page: valid URL values win, then what the session had, then the defaults."""
    if st.session_state.get(keys.URL_LOADED) == page:
        return
    defaults = {
        keys.QUERY: EXAMPLE_QUERY,
        keys.COLLECTION: DEMO_COLLECTION if DEMO_COLLECTION in collections else (collections or [""])[0],
        keys.CANDIDATES: 50,
        keys.TOP_K: 3,
        keys.MODE: "vector",
        keys.RERANKER: rerankers[0] if rerankers else "",
    }
    for name, (key, parse) in _URL_FIELDS.items():
        raw = st.query_params.get(name)
        value = parse(raw) if raw is not None else None
        if key == keys.COLLECTION and value not in collections:
            value = None
        if key == keys.RERANKER and value not in rerankers:
            value = None  # a shared link must not make the server load an arbitrary model
        if value is not None:
            st.session_state[key] = value
        elif key == keys.COLLECTION and st.session_state.get(key) not in collections:
            st.session_state[key] = defaults[key]
        else:
            st.session_state.setdefault(key, defaults[key])
    st.session_state[keys.URL_LOADED] = page


def url_params(params: ExploreParams) -> dict[str, str]:
    """The URL parameters that reproduce ``params`` (also used to hand a view to another page)."""
    return {
        "q": params.query,
        "collection": params.collection,
        "n": str(params.candidates),
        "k": str(params.k),
        "mode": params.mode,
        "reranker": params.reranker,
    }


def _write_url(params: ExploreParams) -> None:
    wanted = url_params(params)
    if {name: st.query_params.get(name) for name in wanted} != wanted:
        st.query_params.from_dict(wanted)


def _int_in(raw: str, low: int, high: int) -> int | None:
    try:
        value = int(raw)
    except ValueError:
        return None
    return value if low <= value <= high else None
