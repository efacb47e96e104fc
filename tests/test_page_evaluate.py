"""The Evaluate page under AppTest: a run on the demo golden set, its tables, comparison and saving.
What the page shows is checked against ``evaluate()`` on the same data dir and settings."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.element_tree import Button

from components.evaluate.results import TABLE_METRICS
from components.shared.resources import get_workspace
from reranklens.config import Settings
from reranklens.evaluate.pipelines import EvalConfig, evaluate
from reranklens.evaluate.runs import RunStore
from reranklens.evaluate.significance import compare_pipelines
from reranklens.workspace import Workspace

pytest_plugins = ["fixtures_page"]

PAGE = Path(__file__).resolve().parents[1] / "pages" / "evaluate.py"


@pytest.fixture
def eval_env(page_data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("RERANKLENS_RERANKER", "RERANKLENS_EMBEDDER", "CHROMA_HOST", "CHROMA_PORT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RERANKLENS_DATA_DIR", str(page_data_dir))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    get_workspace.clear()
    yield
    get_workspace.clear()


def run_button(at: AppTest) -> Button:
    return next(b for b in at.sidebar.button if b.label == "Run evaluation")


def test_before_a_run_the_page_explains_what_to_do(eval_env: None) -> None:
    at = AppTest.from_file(str(PAGE), default_timeout=180).run()
    assert not at.exception
    assert any("Run evaluation" in i.value for i in at.info)


def test_the_demo_opens_on_the_hard_set_and_says_what_the_table_shows(eval_env: None) -> None:
    """Shown to stakeholders, the page starts where a second stage makes a difference."""
    at = AppTest.from_file(str(PAGE), default_timeout=180).run()
    assert not at.exception
    assert next(s.value for s in at.selectbox if s.label == "Golden set") == "demo-hard"
    assert any(c.value.startswith("**demo-hard**: questions where vector search") for c in at.caption)
    next(s for s in at.selectbox if s.label == "Golden set").set_value("demo")
    at.run()
    assert any(c.value.startswith("The table shows, per pipeline") for c in at.caption)


def test_run_vector_and_bm25_on_the_demo_golden_set(eval_env: None, page_data_dir: Path) -> None:
    runs_before = len(RunStore(page_data_dir / "runs.sqlite").list())
    at = AppTest.from_file(str(PAGE), default_timeout=300).run()
    next(s for s in at.selectbox if s.label == "Golden set").set_value("demo")
    at.run()
    at.sidebar.multiselect[0].set_value(["vector", "bm25"])
    at.text_input[0].input("apptest run")
    run_button(at).click().run()
    assert not at.exception

    table = at.dataframe[0].value
    assert list(table.columns) == ["vector", "bm25"]
    # every metric is a row, so none falls off the right edge of the screen
    assert list(table.index) == [*TABLE_METRICS, "latency p50 (ms)", "latency p95 (ms)"]
    assert table.loc["nDCG@10", "bm25"].count("(") == 1  # a delta against the vector baseline
    comparison = next(m.value for m in at.markdown if "paired randomization" in m.value)
    assert "**bm25** vs **vector** on nDCG@10" in comparison and "wins" in comparison
    assert [b.label for b in at.get("download_button")] == ["Download report"]

    saved = RunStore(page_data_dir / "runs.sqlite").list()
    assert len(saved) == runs_before + 1
    assert saved[0].label == "apptest run" and set(saved[0].result["pipelines"]) == {"vector", "bm25"}
    assert any("doc** level" in c.value for c in at.caption)

    # The same evaluation through the engine, with the page's settings: every number on the page is its.
    target = next(s.value for s in at.selectbox if s.label == "Collection or trace set")
    assert not target.traces
    collection = target.name
    golden_set = next(s.value for s in at.selectbox if s.label == "Golden set")
    candidates = next(s.value for s in at.slider if s.label == "Candidates (N)")
    assert (collection, golden_set, candidates) == ("demo", "demo", 50)
    config = EvalConfig(collection, golden_set, ("vector", "bm25"), candidates=candidates)
    expected = evaluate(Workspace(Settings.from_env()), config)
    assert saved[0].result["pipelines"] == expected.to_json()["pipelines"]
    vector = expected.pipelines["vector"].mean
    for name, pipeline in expected.pipelines.items():
        for metric in TABLE_METRICS:
            value = pipeline.mean[metric]
            shown = f"{value:.3f}" + (f" ({value - vector[metric]:+.3f})" if name == "bm25" else "")
            assert table.loc[metric, name] == shown, (name, metric)
    versus = compare_pipelines(expected, "vector", "bm25", "nDCG@10")
    assert f"mean Δ **{versus.mean_delta:+.4f}**" in comparison
    assert f"{versus.wins} wins / {versus.losses} losses / {versus.ties} ties" in comparison
    assert f"p = {versus.p_value:.4f}" in comparison


def test_reopening_the_page_shows_the_last_result_and_the_saved_runs(eval_env: None, page_data_dir: Path) -> None:
    at = AppTest.from_file(str(PAGE), default_timeout=300).run()
    at.sidebar.multiselect[0].set_value(["bm25"])
    at.text_input[0].input("before the reload")
    run_button(at).click().run()
    assert not at.exception
    run_id = RunStore(page_data_dir / "runs.sqlite").list()[0].run_id

    again = AppTest.from_file(str(PAGE), default_timeout=300).run()  # a new session, as after a reload
    assert not again.exception
    assert any(f"last saved run (#{run_id})" in c.value for c in again.caption)
    assert list(again.dataframe[0].value.columns) == ["bm25"]
    runs_table = again.dataframe[-1].value
    assert runs_table.iloc[0]["run"] == f"#{run_id}" and runs_table.iloc[0]["label"] == "before the reload"
    # sections a click reruns the page in are plain sections: an expander would fold away on a rerun
    headers = [h.value for h in again.subheader]
    assert {"Latency vs quality across candidate counts", "Saved runs"} <= set(headers)
    assert not [e for e in again.expander if e.label in headers or "Saved runs" in e.label]


def test_only_pipelines_that_can_run_are_preselected(eval_env: None) -> None:
    # offline, the default reranker (a Hub name) cannot be loaded
    at = AppTest.from_file(str(PAGE), default_timeout=300).run()
    assert not at.exception
    assert at.sidebar.multiselect[0].value == ["vector", "bm25", "hybrid"]
    [warning] = [w.value for w in at.warning if "+rerank" in w.value]
    assert "cannot be loaded on this machine" in warning


def test_with_a_loadable_reranker_every_pipeline_is_preselected(
    eval_env: None, test_cross_encoder_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RERANKLENS_RERANKER", str(test_cross_encoder_dir))
    at = AppTest.from_file(str(PAGE), default_timeout=300).run()
    assert not at.exception
    assert at.sidebar.multiselect[0].value == ["vector", "vector+rerank", "bm25", "hybrid", "hybrid+rerank"]
    assert not [w for w in at.warning if "+rerank" in w.value]
