"""See why, on the engine: the embedding map, the rank flow and ``reranklens map``.

Real Chroma, the real all-MiniLM-L6-v2 embedder and the untrained test cross-encoder (real cost,
meaningless scores: nothing here claims a ranking is good). Each test works on its own copy of the
session's pre-ingested demo store (``fixtures_page``), so fitted projections never leak between tests.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest
from sklearn.decomposition import PCA

from reranklens.cli.main import main
from reranklens.config import Settings
from reranklens.evaluate.pipelines import EvalConfig, evaluate
from reranklens.explain.charts import flow_figure, map_figure
from reranklens.explain.embedding_map import embedding_map
from reranklens.explain.projection import MAP_DIR, spread_sample
from reranklens.explain.rank_flow import query_grades, rank_flow
from reranklens.ingest.demo import DEMO_COLLECTION, DEMO_GOLDEN_SET
from reranklens.retrieve.traces import read_jsonl
from reranklens.workspace import Workspace

if TYPE_CHECKING:
    from fixtures_page import XssDoc

pytest_plugins = ["fixtures_page"]

QUERY = "How do I reset my password in v2.4?"
TRACES = Path(__file__).parent / "fixtures" / "traces" / "support_bot.jsonl"


@pytest.fixture
def own_store(page_data_dir: Path, tmp_path: Path) -> Path:
    """A copy of the session store without the maps page tests may have fitted in it."""
    store = Path(shutil.copytree(page_data_dir, tmp_path / "store"))
    shutil.rmtree(store / MAP_DIR, ignore_errors=True)
    return store


@pytest.fixture
def ws(own_store: Path, test_cross_encoder_dir: Path) -> Workspace:
    return Workspace(Settings(data_dir=own_store, reranker=str(test_cross_encoder_dir)))


def test_map_points_are_the_fitted_projection_of_the_candidates_own_vectors(ws: Workspace) -> None:
    view, no_reranker = ws.explore(QUERY, DEMO_COLLECTION, "vector", 50, 3)
    assert no_reranker is None
    messages: list[str] = []
    emap = embedding_map(ws, view, progress=messages.append)
    assert len(messages) == 1 and "once per collection revision" in messages[0]
    assert emap.absent is None and emap.method == "pca"

    # Fit the same model independently, on the stored vectors of the sample the map says it used.
    sample_ids = [p.chunk_id for p in emap.of_kind("sample")]
    candidates = [p for p in emap.points if p.kind not in ("sample", "query")]
    fitted_on = sample_ids + [p.chunk_id for p in candidates]
    chunks = ws.store.all_chunks(DEMO_COLLECTION).chunks
    assert sorted(fitted_on) == sorted(c.chunk_id for c in spread_sample(chunks))
    assert {c.chunk_id for c in spread_sample(chunks)} >= {c.chunk_id for c in chunks if c.position == 0}
    order = [c.chunk_id for c in spread_sample(chunks)]
    stored = ws.store.vectors(DEMO_COLLECTION, order)
    pca = PCA(n_components=2, svd_solver="full").fit(np.stack([stored[i] for i in order]).astype(np.float64))

    assert {p.chunk_id for p in candidates} == {r.chunk.chunk_id for r in view.rows}
    own = np.stack([stored[p.chunk_id] for p in candidates])
    np.testing.assert_allclose(np.array([[p.x, p.y] for p in candidates]), pca.transform(own), atol=1e-5)
    query = emap.of_kind("query")[0]
    np.testing.assert_allclose(
        [query.x, query.y], pca.transform(ws.embedder().embed_query(QUERY)[None, :].astype(np.float64))[0], atol=1e-5
    )
    top_before = {r.chunk.chunk_id for r in view.rows if r.left_rank is not None and r.left_rank <= 3}
    assert {p.chunk_id for p in emap.of_kind("first", "both")} == top_before

    # Cached: a second map (another query) is only transformed; a changed collection is fitted again.
    view2, _ = ws.explore("Which regions does Acme Cloud run in?", DEMO_COLLECTION, "vector", 50, 3)
    again: list[str] = []
    assert embedding_map(ws, view2, progress=again.append).of_kind("sample")
    assert again == []
    assert len(list((ws.settings.data_dir / MAP_DIR / DEMO_COLLECTION).iterdir())) == 1
    ws.store.update_metadata(DEMO_COLLECTION, revision="changed")
    embedding_map(ws, view2, progress=again.append)
    assert len(again) == 1
    assert len(list((ws.settings.data_dir / MAP_DIR / DEMO_COLLECTION).iterdir())) == 1  # the old fit removed


def test_a_trace_without_vectors_says_why_there_is_no_map(ws: Workspace) -> None:
    ws.traces.import_traces("support-bot", read_jsonl(TRACES), str(TRACES))
    trace_id = ws.traces.trace_ids("support-bot", limit=1)[0]
    view, _ = ws.trace_view("support-bot", trace_id, 3)
    emap = embedding_map(ws, view)
    assert emap.points == ()
    assert emap.absent is not None and "trace set 'support-bot'" in emap.absent and "vectors" in emap.absent
    assert "support-bot" in map_figure(emap).layout.annotations[0].text
    assert not (ws.settings.data_dir / MAP_DIR).exists()


def test_rank_flow_ranks_are_each_stage_own_query_output(ws: Workspace, test_cross_encoder_dir: Path) -> None:
    reranked = f"hybrid+rerank:{test_cross_encoder_dir}"
    flow = rank_flow(ws, QUERY, DEMO_COLLECTION, ["bm25", "vector", "hybrid", reranked], 20, 3, DEMO_GOLDEN_SET)
    assert [s.stage for s in flow.stages] == ["bm25", "vector", "hybrid", reranked]
    assert all(s.error is None for s in flow.stages)
    for stage in flow.stages[:3]:
        own = ws.search(QUERY, DEMO_COLLECTION, stage.stage, 20)  # type: ignore[arg-type]
        assert [h.chunk.chunk_id for h in stage.hits] == [h.chunk.chunk_id for h in own.hits]
    own_rerank = ws.rerank(ws.search(QUERY, DEMO_COLLECTION, "hybrid", 20), str(test_cross_encoder_dir))
    assert [h.chunk.chunk_id for h in flow.stages[3].hits] == [r.hit.chunk.chunk_id for r in own_rerank.hits]
    top = flow.union_top_k()
    assert set(top) == {h.chunk.chunk_id for s in flow.stages for h in s.hits[:3]}

    # The figures are Evaluate's own for this query at this level.
    grades = query_grades(ws, DEMO_GOLDEN_SET, QUERY)
    assert grades is not None and flow.grades == grades
    result = evaluate(ws, EvalConfig(DEMO_COLLECTION, DEMO_GOLDEN_SET, ("bm25", "vector", "hybrid"), 20))
    for stage in flow.stages[:3]:
        expected = result.pipelines[stage.stage].per_query[grades.query_id]
        assert stage.metrics == {"nDCG@10": expected["nDCG@10"], "Hit@3": expected["Hit@3"]}
    figure = flow_figure(flow)
    assert len(figure.data) == len(top)
    assert all(len(trace.y) == 4 for trace in figure.data)
    assert "nDCG@10" in str(figure.layout.xaxis.categoryarray[0])


def test_a_reranker_that_cannot_load_is_one_stage_error(ws: Workspace, tmp_path: Path) -> None:
    missing = tmp_path / "no-such-model"
    flow = rank_flow(ws, QUERY, DEMO_COLLECTION, ["vector", f"vector+rerank:{missing}"], 10, 3)
    assert flow.stages[0].error is None and flow.stages[0].hits
    assert flow.stages[1].error and not flow.stages[1].hits
    assert [s.stage for s in flow.ranked()] == ["vector"]


def test_map_hover_text_of_a_markup_chunk_is_escaped(
    ws: Workspace, xss_doc: XssDoc, add_xss_neighbours: Callable[[Workspace], None]
) -> None:
    add_xss_neighbours(ws)
    view, _ = ws.explore(xss_doc.query, xss_doc.collection, "vector", 5, 3)
    figure = map_figure(embedding_map(ws, view))
    texts = [str(cell) for trace in figure.data for row in trace.customdata for cell in row]
    assert any("&lt;b onmouseover=alert(3)&gt;Field notes&lt;/b&gt;" in t for t in texts), texts
    assert all("<b" not in t and "<img" not in t and "<script" not in t for t in texts)
    assert all("customdata" in trace.hovertemplate for trace in figure.data)


def test_cli_map_writes_one_offline_file_with_markup_as_text(
    ws: Workspace,
    xss_doc: XssDoc,
    add_xss_neighbours: Callable[[Workspace], None],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    add_xss_neighbours(ws)
    out, own_store = tmp_path / "maps" / "map.html", ws.settings.data_dir
    code = main(["--data-dir", str(own_store), "map", xss_doc.query, "-c", xss_doc.collection, "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    assert "written to" in capsys.readouterr().out
    page = out.read_text(encoding="utf-8")
    # No file or script is loaded from anywhere: plotly.js is inlined and nothing has a src or an href.
    assert not re.search(r"<(script|link|img|iframe)[^>]*\s(src|href)=", page)
    scripts = re.findall(r"<script[^>]*>(.*?)</script>", page, flags=re.S)
    plotly_js = max(scripts, key=len)
    assert "Plotly" in plotly_js and len(plotly_js) > 1_000_000
    assert not re.search(r"https?://", page.replace(plotly_js, ""))
    assert xss_doc.img not in page and xss_doc.heading not in page
    assert "Field notes" in page

    code = main(["--data-dir", str(own_store), "map", "q", "-c", "nope", "--out", str(tmp_path / "x.html")])
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1 and "nope" in err
    assert not (tmp_path / "x.html").exists()


def test_rank_flow_reuses_the_results_in_hand(ws: Workspace, tmp_path: Path) -> None:
    """The page passes its own reranking and the shoot-out's failures: nothing is asked again."""
    search = ws.search(QUERY, DEMO_COLLECTION, "vector", 10)
    done = ws.rerank(search)
    missing = f"vector+rerank:{tmp_path / 'never-loaded'}"
    flow = rank_flow(
        ws,
        QUERY,
        DEMO_COLLECTION,
        ["vector", "vector+rerank:mine", missing],
        10,
        3,
        searches={"vector": search},
        reranked={"vector+rerank:mine": done, missing: "429 from the API"},
    )
    assert flow.stages[0].hits == search.hits
    assert [h.chunk.chunk_id for h in flow.stages[1].hits] == [r.hit.chunk.chunk_id for r in done.hits]
    assert flow.stages[2].error == "429 from the API"
