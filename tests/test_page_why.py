""" "See why" on the pages under AppTest: Explore draws the map and the rank flow below the rankings, with the
golden set picked for Explore; Evaluate shows one query through the evaluated stages as a table whose
figures are the run's own per-query figures."""

from __future__ import annotations

import json
from pathlib import Path

from streamlit.testing.v1 import AppTest

from components.shared import keys
from reranklens.config import Settings
from reranklens.evaluate.pipelines import EvalConfig, evaluate
from reranklens.ingest.demo import DEMO_COLLECTION, DEMO_GOLDEN_SET
from reranklens.workspace import Workspace

pytest_plugins = ["fixtures_page"]

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT_S = 300


def charts(at: AppTest) -> list[dict]:
    return [json.loads(element.proto.spec) for element in at.get("plotly_chart")]


def test_explore_draws_the_map_and_the_rank_flow_with_the_golden_set_grades(
    offline_page_env: None, test_cross_encoder_dir: Path
) -> None:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT_S)
    at.session_state[keys.EXPLORE_GOLDEN_SET] = DEMO_GOLDEN_SET
    at.run()
    assert not at.exception
    assert "See why" in [h.value for h in at.subheader]
    stages = at.multiselect(key=keys.EXPLORE_FLOW_STAGES)
    assert stages.value == ["vector", f"vector+rerank:{test_cross_encoder_dir}"]
    assert any(c.value.startswith("PCA fitted on") for c in at.caption)
    specs = charts(at)
    titles = [spec["layout"]["title"]["text"] for spec in specs]
    assert any(t.startswith("Embedding map (PCA)") for t in titles), titles
    flow = next(spec for spec in specs if spec["layout"]["title"]["text"].startswith("Rank flow"))
    columns = flow["layout"]["xaxis"]["categoryarray"]
    assert len(columns) == 2 and all("nDCG@10" in c and "Hit@3" in c for c in columns)

    stages.set_value(["bm25", "vector", "hybrid"])
    at.run()
    assert not at.exception
    flow = next(s for s in charts(at) if s["layout"]["title"]["text"].startswith("Rank flow"))
    assert [c.split("<br>")[0] for c in flow["layout"]["xaxis"]["categoryarray"]] == ["BM25", "Vector", "Hybrid"]


def test_evaluate_shows_one_query_through_the_evaluated_stages(offline_page_env: None) -> None:
    at = AppTest.from_file(str(ROOT / "pages" / "evaluate.py"), default_timeout=TIMEOUT_S).run()
    next(s for s in at.selectbox if s.label == "Golden set").set_value(DEMO_GOLDEN_SET)
    at.run()
    at.sidebar.multiselect[0].set_value(["vector", "bm25"])
    next(b for b in at.sidebar.button if b.label == "Run evaluation").click().run()
    assert not at.exception
    query = at.selectbox(key=keys.EVAL_STAGES_QUERY)
    # The stages picked by hand: run after another Evaluate page test in one process, the picker's default
    # came up as the earlier run's stages alone (not understood yet; alone this test passes either way).
    at.multiselect(key=keys.EVAL_STAGES).set_value(["vector", "bm25"]).run()
    assert not at.exception
    table = next(d.value for d in at.dataframe if "stage" in d.value.columns)
    assert list(table["stage"]) == ["Vector", "BM25"]

    expected = evaluate(
        Workspace(Settings.from_env()), EvalConfig(DEMO_COLLECTION, DEMO_GOLDEN_SET, ("vector", "bm25"))
    )
    for name, row in zip(("vector", "bm25"), table.itertuples(), strict=True):
        figures = expected.pipelines[name].per_query[query.value]
        assert row._2 == round(figures["nDCG@10"], 4) and row._3 == round(figures["Hit@3"], 4)
