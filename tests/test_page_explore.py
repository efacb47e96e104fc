"""The Explore page under AppTest: defaults, the offline fallback, the reranked view, controls and URL.

Every test reads the session's pre-ingested data dir (``fixtures_page``). The workspace is a
process-wide ``st.cache_resource``, and AppTest runs in this process, so each test clears it after
setting the environment: the page then builds a workspace from exactly that environment.
What the page shows is checked against ``Workspace.explore`` on the same data dir and parameters.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from page_env import FOREIGN_ENV
from streamlit.testing.v1 import AppTest

from components.explore.controls import EXAMPLE_QUERY
from components.explore.rankings import COLUMN_ROWS, SCORE_MEANINGS
from components.shared import keys
from components.shared.resources import get_workspace
from reranklens.config import DEFAULT_RERANKER
from reranklens.ingest.demo import DEMO_COLLECTION
from reranklens.models.hub import local_model_path
from reranklens.types import SearchMode
from reranklens.views.explore import ExploreView
from reranklens.workspace import Workspace

if TYPE_CHECKING:
    from fixtures_page import XssDoc

pytest_plugins = ["fixtures_page"]

APP = Path(__file__).resolve().parents[1] / "app.py"

TIMEOUT_S = 180


@pytest.fixture
def page_env(page_data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The session data dir and no reranker configured: the default one, which cannot load offline
    unless it is in the local model cache (tests that need it not to load use ``fallback_env``)."""
    for name in FOREIGN_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RERANKLENS_DATA_DIR", str(page_data_dir))
    # Offline for the Hub whatever the network: the default reranker fails fast and for sure.
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    get_workspace.clear()
    yield
    get_workspace.clear()


@pytest.fixture
def fallback_env(page_env: None) -> None:
    """``page_env`` where the default reranker cannot load, so the page falls back to hybrid search.
    Only the tests that check the fallback skip on a machine that has the default model cached."""
    if local_model_path(DEFAULT_RERANKER) is not None:
        pytest.skip(f"{DEFAULT_RERANKER} is in the local model cache: the page reranks instead of falling back")


@pytest.fixture
def reranked_env(page_env: None, monkeypatch: pytest.MonkeyPatch, test_cross_encoder_dir: Path) -> None:
    monkeypatch.setenv("RERANKLENS_RERANKER", str(test_cross_encoder_dir))


def new_app() -> AppTest:
    return AppTest.from_file(str(APP), default_timeout=TIMEOUT_S)


def offline_view(engine: Workspace, query: str, mode: SearchMode = "vector", n: int = 50, k: int = 3) -> ExploreView:
    view, reason = engine.explore(query, DEMO_COLLECTION, mode, n, k, reranker=DEFAULT_RERANKER)
    assert reason is not None, "the default reranker loaded: this test needs it to be unavailable"
    return view


def reranked_view(engine: Workspace, query: str, mode: SearchMode = "vector", n: int = 50, k: int = 3) -> ExploreView:
    view, reason = engine.explore(query, DEMO_COLLECTION, mode, n, k)
    assert reason is None, reason
    return view


_CARD = re.compile(r'<div class="rl-row rl-(?P<status>\w+)" data-chunk="(?P<chunk>[^"]*)"')


def column_cards(body: str) -> list[tuple[str, str]]:
    """``(chunk_id, status)`` of every card in one rendered ranking column, top to bottom."""
    return [(html.unescape(match["chunk"]), match["status"]) for match in _CARD.finditer(body)]


def column_bodies(at: AppTest) -> list[str]:
    return [element.value for element in at.html if element.value.startswith('<div class="rl-column ')]


def columns(at: AppTest) -> dict[str, list[tuple[str, str]]]:
    """The two ranking columns as ``{"left"|"right": [(chunk_id, status), ...]}``."""
    bodies = column_bodies(at)
    assert len(bodies) == 2, f"expected two ranking columns, got {len(bodies)}"
    left = next(body for body in bodies if body.startswith('<div class="rl-column rl-left">'))
    right = next(body for body in bodies if body.startswith('<div class="rl-column rl-right">'))
    return {"left": column_cards(left), "right": column_cards(right)}


def expected_columns(view: ExploreView, limit: int | None = COLUMN_ROWS) -> dict[str, list[tuple[str, str]]]:
    """What the columns show: the top ``limit`` of each ranking (all with "Show all" on)."""
    return {
        "left": [(row.chunk.chunk_id, row.status) for row in view.left_rows()[:limit]],
        "right": [(row.chunk.chunk_id, row.status) for row in view.right_rows()[:limit]],
    }


def show_all(at: AppTest) -> AppTest:
    at.toggle(key=keys.SHOW_ALL).set_value(True)
    return run_ok(at)


def count(cards: list[tuple[str, str]], status: str) -> int:
    return sum(card_status == status for _, card_status in cards)


def metrics(at: AppTest) -> dict[str, str]:
    return {metric.label: metric.value for metric in at.metric}


def url(at: AppTest) -> dict[str, str]:
    return dict(at.query_params)


def run_ok(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_page_runs(page_env: None) -> None:
    at = new_app().run()
    assert not at.exception


def test_first_visit_shows_the_example_with_the_offline_fallback(fallback_env: None, page_engine: Workspace) -> None:
    at = run_ok(new_app())

    assert at.text_input(key=keys.QUERY).value == EXAMPLE_QUERY
    assert at.selectbox(key=keys.COLLECTION).value == DEMO_COLLECTION
    assert at.slider(key=keys.CANDIDATES).value == 50
    assert at.slider(key=keys.TOP_K).value == 3
    assert at.radio(key=keys.MODE).value == "vector"
    fallback = [w.value for w in at.warning if "No cross-encoder available" in w.value]
    assert len(fallback) == 1 and "Vector search (before) with Hybrid" in fallback[0], [w.value for w in at.warning]
    assert [s.value for s in at.subheader][:2] == ["Vector search", "Hybrid (vector + BM25)"]

    shown = columns(at)
    view = offline_view(page_engine, EXAMPLE_QUERY)
    assert shown == expected_columns(view)
    assert len(shown["left"]) == len(shown["right"]) == COLUMN_ROWS
    assert at.toggle(key=keys.SHOW_ALL).label == "Show all 50 candidates"
    shown = columns(show_all(at))
    assert shown == expected_columns(view, None)
    assert len(shown["left"]) == len(shown["right"]) == 50
    # Hybrid search changes the example's top 3, and what entered is green on the right.
    assert 0 < count(shown["right"], "entered_top_k") == len(view.comparison.entered)
    assert metrics(at)["Entered top-3"] == str(len(view.comparison.entered))


def test_reranked_view_matches_the_engine(
    reranked_env: None, page_engine: Workspace, test_cross_encoder_dir: Path
) -> None:
    at = run_ok(new_app())

    assert [s.value for s in at.subheader][:2] == ["Vector search", f"Reranked ({test_cross_encoder_dir.name})"]
    assert not [w for w in at.warning if "No cross-encoder available" in w.value]
    assert any("untrained" in w.value for w in at.warning), [w.value for w in at.warning]

    shown = columns(show_all(at))
    view = reranked_view(page_engine, EXAMPLE_QUERY)
    assert shown == expected_columns(view, None)
    assert len(shown["left"]) == len(shown["right"]) == 50
    # Reranking reorders one candidate set: each chunk has one status, shown in both columns,
    # and as many chunks enter the top k as leave it.
    entered, left = len(view.comparison.entered), len(view.comparison.left)
    assert entered == left > 0
    for side in ("left", "right"):
        assert count(shown[side], "entered_top_k") == entered
        assert count(shown[side], "left_top_k") == left
    assert metrics(at)["Entered top-3"] == metrics(at)["Left top-3"] == str(entered)


def test_controls_drive_the_view(reranked_env: None, page_engine: Workspace, test_cross_encoder_dir: Path) -> None:
    at = run_ok(new_app())

    at.slider(key=keys.CANDIDATES).set_value(10)
    run_ok(at)
    assert {side: len(cards) for side, cards in columns(at).items()} == {"left": 10, "right": 10}
    assert metrics(at)["Candidates"] == "10"

    at.slider(key=keys.TOP_K).set_value(5)
    run_ok(at)
    assert {"Entered top-5", "Left top-5"} <= metrics(at).keys()
    assert columns(at) == expected_columns(reranked_view(page_engine, EXAMPLE_QUERY, n=10, k=5))

    at.text_input(key=keys.QUERY).input("api key rotation")
    run_ok(at)
    assert columns(at) == expected_columns(reranked_view(page_engine, "api key rotation", n=10, k=5))

    at.radio(key=keys.MODE).set_value("hybrid")
    run_ok(at)
    assert at.subheader[0].value == "Hybrid (vector + BM25)"
    assert at.subheader[1].value.startswith("Reranked (")
    assert columns(at) == expected_columns(reranked_view(page_engine, "api key rotation", "hybrid", n=10, k=5))
    assert url(at) == {
        "q": "api key rotation",
        "collection": DEMO_COLLECTION,
        "n": "10",
        "k": "5",
        "mode": "hybrid",
        "reranker": str(test_cross_encoder_dir),
    }


def test_url_params_set_the_controls(fallback_env: None, page_engine: Workspace) -> None:
    at = new_app()
    at.query_params["q"] = "api key rotation"
    at.query_params["n"] = "7"
    at.query_params["k"] = "2"
    run_ok(at)

    assert at.text_input(key=keys.QUERY).value == "api key rotation"
    assert at.slider(key=keys.CANDIDATES).value == 7
    assert at.slider(key=keys.TOP_K).value == 2
    assert columns(at) == expected_columns(offline_view(page_engine, "api key rotation", n=7, k=2))
    assert url(at) == {
        "q": "api key rotation",
        "collection": DEMO_COLLECTION,
        "n": "7",
        "k": "2",
        "mode": "vector",
        "reranker": DEFAULT_RERANKER,
    }


@pytest.mark.parametrize(
    ("name", "bad"), [("n", "abc"), ("n", "2"), ("n", "-5"), ("k", "99"), ("k", "0"), ("k", "2.5"), ("mode", "bm99")]
)
def test_bad_url_values_fall_back_to_the_defaults(page_env: None, name: str, bad: str) -> None:
    at = new_app()
    at.query_params[name] = bad
    run_ok(at)

    assert (at.slider(key=keys.CANDIDATES).value, at.slider(key=keys.TOP_K).value) == (50, 3)
    assert at.radio(key=keys.MODE).value == "vector"
    assert {name: url(at)[name] for name in ("n", "k", "mode")} == {"n": "50", "k": "3", "mode": "vector"}


def test_unknown_collection_in_the_url_falls_back_to_demo(page_env: None) -> None:
    at = new_app()
    at.query_params["collection"] = "no-such-collection"
    run_ok(at)

    assert at.selectbox(key=keys.COLLECTION).value == DEMO_COLLECTION
    assert url(at)["collection"] == DEMO_COLLECTION
    assert len(column_bodies(at)) == 2


def test_empty_query_asks_for_one(page_env: None) -> None:
    at = run_ok(new_app())
    at.text_input(key=keys.QUERY).input("   ")
    run_ok(at)

    assert [i.value for i in at.info] == ["Type a question above to see its candidates before and after reranking."]
    assert not column_bodies(at)


def test_threshold_slider_counts_the_chunks_that_pass(fallback_env: None, page_engine: Workspace) -> None:
    at = run_ok(new_app())
    scores = [row.right_score or 0.0 for row in offline_view(page_engine, EXAMPLE_QUERY).right_rows()]

    def passing() -> str:
        return next(c.value for c in at.caption if "chunks pass this threshold" in c.value)

    threshold = at.slider(key=keys.THRESHOLD)
    assert (threshold.min, threshold.max) == pytest.approx((min(scores), max(scores)))
    middle = threshold.value
    assert passing() == f"{sum(s >= middle for s in scores)} of 50 chunks pass this threshold."

    threshold.set_value(threshold.min)
    run_ok(at)
    assert passing() == "50 of 50 chunks pass this threshold."

    at.slider(key=keys.THRESHOLD).set_value(max(scores))
    run_ok(at)
    assert passing() == f"{sum(s >= max(scores) for s in scores)} of 50 chunks pass this threshold."


def test_threshold_slider_can_cut_between_close_scores(page_env: None) -> None:
    at = run_ok(new_app())
    threshold = at.slider(key=keys.THRESHOLD)
    assert threshold.step <= (threshold.max - threshold.min) / 20


def test_hybrid_retrieval_without_a_reranker_still_compares_vector_before_hybrid_after(fallback_env: None) -> None:
    """With Retrieval = Hybrid the fallback flipped to hybrid -> vector."""
    at = new_app()
    at.query_params["mode"] = "hybrid"
    run_ok(at)

    assert [s.value for s in at.subheader][:2] == ["Vector search", "Hybrid (vector + BM25)"]
    [fallback] = [w.value for w in at.warning if "No cross-encoder available" in w.value]
    assert "Vector search (before) with Hybrid (vector + BM25) (after)" in fallback
    panel = next(e for e in at.expander if e.label.startswith("What the scores mean"))
    assert [m.value for m in panel.markdown][:2] == [SCORE_MEANINGS["vector"], SCORE_MEANINGS["hybrid"]]


def test_document_markup_shows_as_text(page_env: None, xss_doc: XssDoc) -> None:
    at = new_app()
    at.query_params["collection"] = xss_doc.collection
    at.query_params["q"] = xss_doc.query
    run_ok(at)

    assert len(column_bodies(at)) == 2
    for body in [element.value for element in at.html]:  # the columns, the top-k table, the legend
        assert "<img" not in body and "<script" not in body and "<b " not in body
    for body in column_bodies(at):
        for markup in (xss_doc.img, xss_doc.script, xss_doc.heading):
            assert html.escape(markup) in body
    [top_k] = [element.value for element in at.html if element.value.startswith('<table class="rl-topk"')]
    assert html.escape(xss_doc.heading) in top_k


def test_embedder_mismatch_is_a_visible_alarm(page_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RERANKLENS_EMBEDDER", "openai:text-embedding-3-small")
    get_workspace.clear()
    at = run_ok(new_app())
    mismatch = [w.value for w in at.warning if w.value.startswith("Embedder mismatch")]
    assert len(mismatch) == 1
    assert "sentence-transformers/all-MiniLM-L6-v2" in mismatch[0] and "openai:text-embedding-3-small" in mismatch[0]


def test_first_screen_tells_the_story_top_k_before_and_after(fallback_env: None, page_engine: Workspace) -> None:
    """Summary, a compact before/after top-k and the slope chart come before the columns."""
    at = run_ok(new_app())
    view = offline_view(page_engine, EXAMPLE_QUERY)
    [top_k] = [element.value for element in at.html if element.value.startswith('<table class="rl-topk"')]
    cells = [(html.unescape(m["chunk"]), m["status"]) for m in _TOP_K_CELL.finditer(top_k)]
    before = [(r.chunk.chunk_id, r.status) for r in view.left_rows()[:3]]
    after = [(r.chunk.chunk_id, r.status) for r in view.right_rows()[:3]]
    assert cells == [cell for pair in zip(before, after, strict=True) for cell in pair]  # row by row
    for row in view.comparison.entered:
        assert f"entered, from #{row.left_rank}" in top_k or (row.left_rank is None and "new" in top_k)
    for row in view.comparison.left:
        assert f"left, → #{row.right_rank}" in top_k or (row.right_rank is None and "→ absent" in top_k)
    legend = next(element.value for element in at.html if element.value.startswith('<div class="rl-legend"'))
    assert "entered the top-3" in legend and "left the top-3" in legend and "stayed in the top-3" in legend


_TOP_K_CELL = re.compile(r'<td class="rl-topk-cell rl-(?P<status>\w+)" data-chunk="(?P<chunk>[^"]*)"')
