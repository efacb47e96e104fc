"""The Evaluate page under AppTest: a run on the demo golden set, its tables, comparison and saving.
What the page shows is checked against ``evaluate()`` on the same data dir and settings."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from components.evaluate_render import TABLE_METRICS
from components.resources import get_workspace
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


def test_before_a_run_the_page_explains_what_to_do(eval_env: None) -> None:
    at = AppTest.from_file(str(PAGE), default_timeout=180).run()
    assert not at.exception
    assert any("Run evaluation" in i.value for i in at.info)


def test_run_vector_and_bm25_on_the_demo_golden_set(eval_env: None, page_data_dir: Path) -> None:
    runs_before = len(RunStore(page_data_dir / "runs.sqlite").list())
    at = AppTest.from_file(str(PAGE), default_timeout=300).run()
    at.multiselect[0].set_value(["vector", "bm25"])
    at.text_input[0].input("apptest run")
    at.button[0].click().run()
    assert not at.exception

    table = at.dataframe[0].value
    assert list(table.index) == ["vector", "bm25"]
    assert {"nDCG@10", "R@3", "RR@10", "P@3", "Hit@3", "first_stage_recall"} <= set(table.columns)
    assert table.loc["bm25", "nDCG@10"].count("(") == 1  # a delta against the vector baseline
    comparison = next(m.value for m in at.markdown if "paired randomization" in m.value)
    assert "**bm25** vs **vector** on nDCG@10" in comparison and "wins" in comparison

    saved = RunStore(page_data_dir / "runs.sqlite").list()
    assert len(saved) == runs_before + 1
    assert saved[0].label == "apptest run" and set(saved[0].result["pipelines"]) == {"vector", "bm25"}
    assert any("doc** level" in c.value for c in at.caption)

    # The same evaluation through the engine, with the page's settings: every number on the page is its.
    collection = next(s.value for s in at.selectbox if s.label == "Collection")
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
            assert table.loc[name, metric] == shown, (name, metric)
    versus = compare_pipelines(expected, "vector", "bm25", "nDCG@10")
    assert f"mean Δ **{versus.mean_delta:+.4f}**" in comparison
    assert f"{versus.wins} wins / {versus.losses} losses / {versus.ties} ties" in comparison
    assert f"p = {versus.p_value:.4f}" in comparison
