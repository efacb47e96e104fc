"""Explore with several rerankers under AppTest: two cross-encoders (two seeded untrained heads) in one
view, the switch between their orders, the rank and agreement tables, a reranker that fails next to
one that works, and the LLM reranker (local OpenAI-protocol server) with its cost and repair line.

What the page shows is checked against ``Workspace.shootout`` on the same data and parameters. The
heads are untrained: their orders are noise, and only the mechanics are tested.
"""

from __future__ import annotations

import html
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from openai_server import OpenAIStubServer
from streamlit.testing.v1 import AppTest

from components.explore.controls import EXAMPLE_QUERY
from components.shared import keys
from reranklens.config import Settings
from reranklens.ingest.demo import DEMO_COLLECTION
from reranklens.models.registry import ModelRegistry
from reranklens.views.explore import display_name
from reranklens.views.render import markdown_escape
from reranklens.workspace import Workspace

pytest_plugins = ["fixtures_page", "fixtures_openai", "fixtures_rerankers"]

APP = Path(__file__).resolve().parents[1] / "app.py"
TIMEOUT_S = 240
_CARD = re.compile(r'<div class="rl-row rl-(?P<status>\w+)" data-chunk="(?P<chunk>[^"]*)"')


def right_column(at: AppTest) -> list[str]:
    body = next(e.value for e in at.html if e.value.startswith('<div class="rl-column rl-right">'))
    return [html.unescape(m["chunk"]) for m in _CARD.finditer(body)]


def run_ok(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.fixture
def registered(page_data_dir: Path) -> Iterator[Callable[[str, Path], str]]:
    """Register a model on the Models page's registry for one test (the pickers offer only those)."""
    registry, names = ModelRegistry(page_data_dir), []

    def add(name: str, source: Path) -> str:
        names.append(registry.add(name, str(source)).name)
        return name

    yield add
    for name in names:
        registry.remove(name)


def new_app(compare: list[str]) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT_S)
    at.session_state[keys.COMPARE_RERANKERS] = compare
    return at


def test_two_cross_encoders_in_one_view(
    offline_page_env: None,
    page_data_dir: Path,
    test_cross_encoder_dir: Path,
    second_cross_encoder_dir: Path,
    registered: Callable[[str, Path], str],
) -> None:
    a, b = str(test_cross_encoder_dir), registered("second-head", second_cross_encoder_dir)
    at = run_ok(new_app([b]))
    engine = Workspace(Settings(data_dir=page_data_dir, reranker=a))
    shoot = engine.shootout(engine.search(EXAMPLE_QUERY, DEMO_COLLECTION, "vector", 50), [a, b], 3)
    order = {o.name: [r.hit.chunk.chunk_id for r in o.rerank.hits] for o in shoot.succeeded if o.rerank}
    assert order[a] != order[b]  # two seeds, two different orders

    switch = at.radio(key=keys.SHOOTOUT_SHOWN)
    assert switch.options == [display_name(a), display_name(b)]
    assert right_column(at) == order[a]  # the page's own reranker is shown first
    assert not at.error

    rank_table, agreement, cost = (d.value for d in at.dataframe)
    assert list(rank_table.columns) == ["first stage", display_name(a), display_name(b), "doc_id", "chunk"]
    assert len(rank_table) == 50
    for name in (a, b):
        ranks = dict(zip(rank_table["first stage"], rank_table[display_name(name)], strict=True))
        assert [ranks[hit.rank] for hit in shoot.search.hits] == [
            order[name].index(hit.chunk.chunk_id) + 1 for hit in shoot.search.hits
        ]
    [pair] = shoot.agreements()
    assert agreement.iloc[0]["pair"] == f"{display_name(a)} vs {display_name(b)}"
    assert agreement.iloc[0]["top-3 overlap"] == f"{pair.overlap:.0%}"
    assert agreement.iloc[0]["Kendall's tau"] == pytest.approx(round(pair.tau or 0.0, 3))
    assert list(cost["cost"]) == ["local", "local"] and all(cost["latency (ms)"] >= 0)

    switch.set_value(b)
    at = run_ok(at)
    assert right_column(at) == order[b]
    assert at.session_state[keys.SHOOTOUT_SHOWN] == b


def test_a_reranker_that_cannot_load_leaves_the_other_on_the_page(
    offline_page_env: None, test_cross_encoder_dir: Path, tmp_path: Path, registered: Callable[[str, Path], str]
) -> None:
    # registered by an admin, then its folder was deleted
    folder = Path(shutil.copytree(test_cross_encoder_dir, tmp_path / "no-such-model"))
    missing = registered("no-such-model", folder)
    shutil.rmtree(folder)
    at = run_ok(new_app([missing]))
    [error] = at.error
    assert error.value.startswith("**no-such-model** failed: ")
    assert "does not exist" in error.value and "\n" not in error.value
    assert at.radio(key=keys.SHOOTOUT_SHOWN).options == [display_name(str(test_cross_encoder_dir))]
    assert len(right_column(at)) == 50
    assert len(at.dataframe[0].value.columns) == 4  # first stage, the one reranker, doc_id, chunk


def test_the_llm_reranker_shows_its_cost_and_its_repair(
    offline_page_env: None, openai_env: OpenAIStubServer, test_cross_encoder_dir: Path
) -> None:
    llm = "openai:gpt-4o-mini"  # an allowed chat model: the picker offers it with the default window
    at = run_ok(new_app([llm]))
    assert at.radio(key=keys.SHOOTOUT_SHOWN).options == [display_name(str(test_cross_encoder_dir)), llm]
    cost = at.dataframe[2].value
    assert list(cost["reranker"]) == [display_name(str(test_cross_encoder_dir)), llm]
    assert cost.iloc[1]["calls"] == 4  # 50 candidates, window 20, step 10: windows end at 50, 40, 30, 20
    assert cost.iloc[1]["cost"].startswith("$")
    at.radio(key=keys.SHOOTOUT_SHOWN).set_value(llm)
    at = run_ok(at)
    repairs = [w.value for w in at.warning if "repaired" in w.value]
    assert len(repairs) == 1 and "text around the ranking was ignored" in repairs[0]
    # Rerun with nothing changed: served from the cache, no new calls, the repair still said.
    calls = len(openai_env.requests)
    at = run_ok(at)
    assert len(openai_env.requests) == calls
    assert at.dataframe[2].value.iloc[1]["cost"] == "$0 (cached)"
    assert any("repaired" in w.value for w in at.warning)


def test_a_429_from_the_llm_is_one_line_and_the_cross_encoder_stays(
    offline_page_env: None, openai_env: OpenAIStubServer
) -> None:
    openai_env.fail_with = 429
    at = run_ok(new_app(["openai:gpt-4o-mini"]))
    [error] = at.error
    message = "OpenAI rate limit reached (429): wait a minute and retry."
    assert error.value == f"**{markdown_escape('openai:gpt-4o-mini')}** failed: {markdown_escape(message)}"
    assert len(right_column(at)) == 50


def test_a_name_put_into_the_session_that_is_not_offered_is_dropped_not_loaded(
    offline_page_env: None, test_cross_encoder_dir: Path, second_cross_encoder_dir: Path
) -> None:
    """Only the registry, the configured model and allowed chat models: a typed path or Hub id put into
    the session (by a link or by code) is neither shown in the picker nor loaded."""
    injected = [str(second_cross_encoder_dir), "openai:gpt-4o-mini"]  # no OpenAI key: no LLM rerankers
    at = run_ok(new_app(injected))
    picker = at.sidebar.multiselect(key=keys.COMPARE_RERANKERS)
    assert picker.value == [] and not set(injected) & set(picker.options)
    assert at.session_state[keys.COMPARE_RERANKERS] == []
    assert keys.SHOOTOUT_SHOWN not in [r.key for r in at.radio]  # no shoot-out: the page's own reranker alone
    assert not at.error


def test_llm_reranker_requests_count_towards_the_paid_calls_per_hour(
    offline_page_env: None, openai_env: OpenAIStubServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each request of an LLM reranker is a paid call of the page's user: with 3 left and 4 windows to
    rank (50 candidates, window 20, step 10), the 4th is never sent and the reranker fails in one line."""
    monkeypatch.setenv("RERANKLENS_PAID_CALLS_PER_HOUR", "3")
    at = run_ok(new_app(["openai:gpt-4o-mini"]))
    assert len(openai_env.requests) == 3
    [error] = at.error
    assert error.value.startswith(f"**{markdown_escape('openai:gpt-4o-mini')}** failed: ")
    assert "limit of 3 paid requests per hour" in error.value and "\n" not in error.value
    assert len(right_column(at)) == 50  # the cross-encoder's result stands
    assert len(at.radio(key=keys.SHOOTOUT_SHOWN).options) == 1  # only the cross-encoder ran
