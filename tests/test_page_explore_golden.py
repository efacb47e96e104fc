"""Explore with a golden set, through AppTest: the picker's default, grade badges and the Best-graded line,
the query's figures (equal to ``reranklens eval`` on a set holding only that query), a set that does not hold
the query, a set deleted while picked, and Grade in place (the control shared with Label); the graded
exports are checked in tests/test_report.py.

Every test runs on the session's pre-ingested data dir with the test cross-encoder (``offline_page_env``);
sets a test writes get a unique name and are deleted afterwards, so other tests see the store unchanged.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from components.shared import keys
from reranklens.cli import main as cli
from reranklens.golden.store import GoldenQuery, GoldenStore
from reranklens.views.judged import FIGURES
from reranklens.views.tour import load_tour

pytest_plugins = ["fixtures_page"]

APP = Path(__file__).resolve().parents[1] / "app.py"
TIMEOUT_S = 180
STOP = load_tour().stops[0]  # "What does ACME-4209 mean?", judged in demo-hard
UNHELD = "kestrel jesses and a quokka colony"  # in no golden set


@pytest.fixture
def golden(page_data_dir: Path) -> GoldenStore:
    return GoldenStore(page_data_dir / "golden.sqlite")


@pytest.fixture
def scratch(golden: GoldenStore) -> Iterator[str]:
    """A unique set name, deleted (if it was created) after the test."""
    name = f"t-{uuid.uuid4().hex[:8]}"
    yield name
    if name in golden.names():
        golden.delete_set(name)


def explore(query: str, **state: object) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT_S)
    at.query_params["q"] = query
    for key, value in state.items():
        at.session_state[key] = value
    return run_ok(at)


def run_ok(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def htmls(at: AppTest, prefix: str) -> list[str]:
    return [element.value for element in at.html if element.value.startswith(prefix)]


def best_line(at: AppTest) -> str:
    [line] = htmls(at, '<div class="rl-best-graded"')
    return re.sub(r"<[^>]+>", "", line).replace("🏷️ ", "").strip()


def figures(at: AppTest) -> dict[str, tuple[str, str]]:
    return {m.label: (m.value, m.delta) for m in at.metric if m.label in FIGURES}


def test_the_picker_defaults_to_a_set_holding_the_query_and_marks_grades(offline_page_env: None) -> None:
    at = explore(STOP.query)

    assert at.selectbox(key=keys.EXPLORE_GOLDEN_SET).value == "demo-hard"
    assert best_line(at).startswith("Best-graded chunk: #")
    assert STOP.answer in best_line(at)
    [table] = htmls(at, '<table class="rl-topk"')
    assert 'class="rl-grade rl-grade-' in table or 'class="rl-grade rl-unjudged"' in table
    assert set(figures(at)) == set(FIGURES)


def test_a_query_in_no_set_shows_none_and_no_marks(offline_page_env: None) -> None:
    at = explore(UNHELD)
    assert at.selectbox(key=keys.EXPLORE_GOLDEN_SET).value is None
    assert htmls(at, '<div class="rl-best-graded"') == [] and figures(at) == {}
    assert not any("rl-grade" in body for body in htmls(at, '<table class="rl-topk"'))


def test_a_set_not_holding_the_query_says_so_in_one_line(offline_page_env: None) -> None:
    at = explore(STOP.query)
    at.selectbox(key=keys.EXPLORE_GOLDEN_SET).select("demo")
    run_ok(at)
    assert best_line(at) == "not judged in demo"
    assert figures(at) == {}
    [table] = htmls(at, '<table class="rl-topk"')
    assert "rl-grade" not in table  # the page works as without a set


def test_a_set_deleted_while_picked_falls_back_to_none(
    offline_page_env: None, golden: GoldenStore, scratch: str
) -> None:
    golden.write_set(scratch, [GoldenQuery("only", UNHELD)], [])
    at = explore(UNHELD)
    assert at.selectbox(key=keys.EXPLORE_GOLDEN_SET).value == scratch
    golden.delete_set(scratch)
    run_ok(at)
    assert at.selectbox(key=keys.EXPLORE_GOLDEN_SET).value is None
    assert htmls(at, '<div class="rl-best-graded"') == []


def test_the_page_figures_equal_reranklens_eval_for_that_query(
    offline_page_env: None,
    golden: GoldenStore,
    scratch: str,
    page_data_dir: Path,
    test_cross_encoder_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    hard = golden.find_query("demo-hard", STOP.query)
    assert hard is not None
    golden.write_set(scratch, [hard], golden.judgements("demo-hard", hard.query_id))
    at = explore(STOP.query, **{keys.EXPLORE_GOLDEN_SET: scratch})
    assert at.selectbox(key=keys.EXPLORE_GOLDEN_SET).value == scratch
    shown = figures(at)

    capsys.readouterr()
    pipelines = f"vector,vector+rerank:{test_cross_encoder_dir}"
    argv = ["--data-dir", str(page_data_dir), "eval", "-c", "demo", "-g", scratch, "--pipelines", pipelines, "-n", "50"]
    assert cli.main([*argv, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    before = data["per_query"]["vector"][hard.query_id]
    after = data["per_query"][f"vector+rerank:{test_cross_encoder_dir}"][hard.query_id]

    assert shown == {name: (f"{after[name]:.3f}", f"{after[name] - before[name]:+.3f}") for name in FIGURES}


def test_grade_in_place_creates_a_set_and_grades_like_label(
    offline_page_env: None, golden: GoldenStore, scratch: str
) -> None:
    at = explore(UNHELD)
    assert at.toggle(key=keys.EXPLORE_GRADING).value is False  # off by default: the demo stays clean
    assert at.button_group == [] or not any(b.key.startswith("grade|") for b in at.button_group)

    at.toggle(key=keys.EXPLORE_GRADING).set_value(True)
    run_ok(at)
    at.text_input(key=keys.EXPLORE_NEW_SET).input(scratch)
    at.button(key="explore.create_set").click()
    run_ok(at)
    assert at.selectbox(key=keys.EXPLORE_GOLDEN_SET).value == scratch
    assert golden.queries(scratch) and best_line(at) == f"No relevant label for this query in {scratch}."

    controls = {side: [b for b in at.button_group if b.key.endswith(f"|{side}")] for side in ("left", "right")}
    on_left = {b.key.split("|")[2] for b in controls["left"]}
    # The highest reranked chunk that both columns show: it has a control in each.
    right = next(b for b in controls["right"] if b.key.split("|")[2] in on_left)
    first = right.key.split("|")[2]
    right.set_value(3)
    run_ok(at)
    [judgement] = golden.judgements(scratch)
    assert (judgement.target_id, judgement.grade, judgement.level, judgement.origin) == (first, 3, "chunk", "human")
    # Both copies of the control (the chunk in both columns) and the badges show the saved grade.
    assert [b.value for b in at.button_group if b.key.split("|")[2] == first] == [3, 3]
    cards = [c for c in htmls(at, '<div class="rl-column rl-graded') if f'data-chunk="{first}"' in c]
    assert len(cards) == 2 and all("grade 3</span>" in card for card in cards)
    assert best_line(at).startswith("Best-graded chunk: #") and "chunk-level grade 3" in best_line(at)
    assert set(figures(at)) == set(FIGURES)

    # Click again to clear, as on Label.
    next(b for b in at.button_group if b.key.split("|")[2] == first and b.key.endswith("|left")).set_value(None)
    run_ok(at)
    assert golden.judgements(scratch) == []
