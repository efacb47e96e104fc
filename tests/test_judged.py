"""An Explore view read against a golden set: grades per candidate (chunk or document level), "unjudged"
marks, the best-graded chunk's ranks, and the per-query figures, which must equal ``reranklens eval`` on a
golden set holding only that query (the same code, not a copy of it).

Real Chroma, the real embedder and the test cross-encoder (real cost, meaningless scores: its order is
only ever compared with itself here, never judged for quality).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from beir_folder import write_beir
from test_cli_eval import DOCS, QRELS, QUERIES

from reranklens.cli import main as cli
from reranklens.evaluate.judged import judged_view
from reranklens.golden.store import GoldenQuery, Judgement
from reranklens.views.explore import ExploreView
from reranklens.views.judged import FIGURES, judge_view, match_query, sets_holding
from reranklens.workspace import Workspace

QUERY = QUERIES["q3"]
# Several graded documents, so the figures differ between the two orders and nDCG uses the gains.
GRADES = {"ratelimit": 3, "billing": 1, "logs": 2, "support": 0}


@pytest.fixture
def tiny(workspace: Workspace, tmp_path: Path) -> Workspace:
    """Collection and golden set ``tiny`` (ten one-chunk documents, three queries)."""
    workspace.settings.data_dir.mkdir(parents=True, exist_ok=True)
    (workspace.settings.data_dir / ".demo-ingested").touch()  # the CLI would ingest the demo first
    workspace.ingest([write_beir(tmp_path / "tiny", DOCS, QUERIES, QRELS)], "tiny")
    return workspace


def view_of(workspace: Workspace, reranker: Path, query: str = QUERY) -> ExploreView:
    view, no_reranker = workspace.explore(query, "tiny", "vector", 50, 3, str(reranker))
    assert no_reranker is None
    return view


def eval_per_query(capsys: pytest.CaptureFixture[str], golden_set: str, reranker: Path) -> dict[str, dict]:
    capsys.readouterr()
    pipelines = f"vector,vector+rerank:{reranker}"
    code = cli.main(["eval", "-c", "tiny", "--golden", golden_set, "--pipelines", pipelines, "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    data = json.loads(out)
    return {"before": data["per_query"]["vector"], "after": data["per_query"][f"vector+rerank:{reranker}"]}


def one_query_set(workspace: Workspace, name: str, judgements: list[Judgement]) -> None:
    workspace.golden.write_set(name, [GoldenQuery("only", QUERY)], judgements)


@pytest.mark.parametrize("level", ["doc", "chunk"])
def test_figures_equal_eval_on_a_set_holding_only_that_query(
    tiny: Workspace, test_cross_encoder_dir: Path, capsys: pytest.CaptureFixture[str], level: str
) -> None:
    view = view_of(tiny, test_cross_encoder_dir)
    chunk_of = {row.chunk.doc_id: row.chunk.chunk_id for row in view.rows}
    target = (lambda doc: doc) if level == "doc" else chunk_of.__getitem__
    judgements = [Judgement("only", level, target(doc), grade) for doc, grade in GRADES.items()]  # type: ignore[arg-type]
    one_query_set(tiny, "only", judgements)

    judged = judged_view(view, tiny.golden, "only")
    expected = eval_per_query(capsys, "only", test_cross_encoder_dir)

    assert judged.metrics is not None and judged.metrics_level == level
    for side in ("before", "after"):
        assert list(judged.metrics[side]) == list(FIGURES)
        for name in FIGURES:
            assert judged.metrics[side][name] == pytest.approx(expected[side]["only"][name], abs=1e-12), (side, name)
    # The graded gains are used: with grades 3/2/1 spread over the top-10, nDCG is strictly between 0 and 1.
    assert 0 < judged.metrics["before"]["nDCG@10"] < 1


def test_grades_doc_level_apply_to_each_chunk_and_chunk_level_wins(
    tiny: Workspace, test_cross_encoder_dir: Path
) -> None:
    view = view_of(tiny, test_cross_encoder_dir)
    rows = {row.chunk.doc_id: row for row in view.rows}
    logs_chunk = rows["logs"].chunk.chunk_id
    judgements = [
        Judgement("only", "doc", "ratelimit", 2),
        Judgement("only", "doc", "logs", 1),
        Judgement("only", "chunk", logs_chunk, 3),
    ]
    one_query_set(tiny, "only", judgements)

    judged = judge_view(view, tiny.golden, "only")

    assert judged.grade_of(rows["ratelimit"].chunk.chunk_id).badge() == "grade 2 · doc"
    assert judged.grade_of(logs_chunk).badge() == "grade 3"  # the chunk's own grade beats its document's
    assert judged.grade_of(rows["dns"].chunk.chunk_id) is None
    top_k = {row.chunk.chunk_id for row in view.rows if row.status != "outside"}
    assert judged.unjudged == top_k - {rows["ratelimit"].chunk.chunk_id, logs_chunk}
    best = rows["logs"]
    assert judged.best is not None and judged.best.row == best
    assert judged.best.line() == (
        f"Best-graded chunk: #{best.left_rank} → #{best.right_rank} (chunk-level grade 3: {logs_chunk})"
    )


def test_best_graded_missed_by_the_first_stage(tiny: Workspace, test_cross_encoder_dir: Path) -> None:
    view, _ = tiny.explore(QUERY, "tiny", "vector", 5, 3, str(test_cross_encoder_dir))
    retrieved = {row.chunk.doc_id for row in view.rows}
    missed = next(doc for doc in DOCS if doc not in retrieved)
    one_query_set(
        tiny, "only", [Judgement("only", "doc", missed, 3), Judgement("only", "doc", next(iter(retrieved)), 1)]
    )

    judged = judged_view(view, tiny.golden, "only")

    assert judged.best is not None and judged.best.row is None
    assert judged.best.line() == f"Best-graded chunk: not among the 5 candidates (doc-level grade 3: {missed})"
    assert judged.metrics is not None and judged.metrics["before"]["R@3"] <= 0.5


def test_a_set_without_the_query_and_a_query_without_relevant_labels(
    tiny: Workspace, test_cross_encoder_dir: Path
) -> None:
    view = view_of(tiny, test_cross_encoder_dir)
    tiny.golden.write_set("other", [GoldenQuery("x", "something else entirely")], [])
    judged = judged_view(view, tiny.golden, "other")
    assert not judged.judged and judged.grades == {} and judged.metrics is None
    assert judged.not_judged_line() == "not judged in other"
    assert judged_view(view, tiny.golden, "deleted-meanwhile").query is None

    one_query_set(tiny, "zeros", [Judgement("only", "doc", "ratelimit", 0)])
    zeros = judged_view(view, tiny.golden, "zeros")
    assert zeros.judged and zeros.best is None and zeros.metrics is None  # Evaluate skips such a query too


def test_matching_a_query_as_evaluate_does(tiny: Workspace) -> None:
    golden = tiny.golden
    golden.write_set("traced", [GoldenQuery("t-17", "How Many API Requests?"), GoldenQuery("b", QUERY)], [])
    assert match_query(golden, "traced", "how   many api requests?").query_id == "t-17"  # case and spacing
    assert match_query(golden, "traced", "another text", trace_id="t-17").query_id == "t-17"  # by trace id
    assert match_query(golden, "traced", "nothing like it") is None
    # ``tiny`` holds the query with a relevant grade: it comes before a set that holds it unjudged.
    assert sets_holding(golden, QUERY) == ["tiny", "traced"]
