"""The guided tour on the Explore page, through AppTest: ``?tour=1`` opens its first stop,
Previous / Next step through the stops with the tour's settings, and the panel names the second stage."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from components.explore.tour import TOUR_CANDIDATES
from components.shared import keys
from reranklens.views.render import markdown_escape
from reranklens.views.tour import load_tour

pytest_plugins = ["fixtures_page"]

APP = Path(__file__).resolve().parents[1] / "app.py"
TIMEOUT_S = 180


def run_ok(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_the_tour_opens_from_the_url_and_steps_with_next_and_previous(offline_page_env: None) -> None:
    stops = load_tour().stops
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT_S)
    at.query_params["tour"] = "1"
    run_ok(at)

    assert at.toggle(key=keys.TOUR_ON).value is True
    assert at.text_input(key=keys.QUERY).value == stops[0].query
    assert at.slider(key=keys.CANDIDATES).value == TOUR_CANDIDATES
    assert at.button(key="rl-tour-previous").disabled
    captions = [c.value for c in at.sidebar.caption]
    assert markdown_escape(stops[0].caption) in captions, captions
    # With a reranker configured (the test cross-encoder) the panel names it as the second stage.
    assert any(c.startswith("Second stage: **") and "no cross-encoder" not in c for c in captions), captions

    at.button(key="rl-tour-next").click()
    run_ok(at)
    assert at.text_input(key=keys.QUERY).value == stops[1].query
    assert any("Stop 2 of" in m.value for m in at.sidebar.markdown)

    at.button(key="rl-tour-previous").click()
    run_ok(at)
    assert at.text_input(key=keys.QUERY).value == stops[0].query


def test_the_tour_is_off_by_default_and_leaves_the_page_as_it_was(offline_page_env: None) -> None:
    at = run_ok(AppTest.from_file(str(APP), default_timeout=TIMEOUT_S))
    assert at.toggle(key=keys.TOUR_ON).value is False
    assert not [b for b in at.button if b.key in ("rl-tour-previous", "rl-tour-next")]

    at.toggle(key=keys.TOUR_ON).set_value(True)
    run_ok(at)
    assert at.text_input(key=keys.QUERY).value == load_tour().stops[0].query
