"""The Explore view: first-stage candidates next to a second ranking of them.

Most tests assemble views from hand-built search and rerank results (pure functions, no model);
the last ones run ``Workspace.explore`` end to end on a tiny ingested collection with the real
untrained cross-encoder (mechanics only: its order means nothing).
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from reranklens.config import Settings
from reranklens.errors import InvalidInputError
from reranklens.ingest.chunking import ChunkingOptions
from reranklens.types import Chunk, Hit, RerankedHit, RerankResult, SearchMode, SearchResult
from reranklens.views.compare import compare_rankings
from reranklens.views.explore import alternative_view, check_top_k, latency_summary, reranked_view
from reranklens.workspace import Workspace

IDS = ("a", "b", "c", "d", "e")


def make_chunk(chunk_id: str, tokens: int = 20) -> Chunk:
    return Chunk(
        chunk_id=chunk_id,
        doc_id=f"{chunk_id}.md",
        text=f"text of {chunk_id}",
        source=f"docs/{chunk_id}.md",
        position=0,
        token_count=tokens,
    )


def make_search(
    ids: tuple[str, ...] = IDS, mode: SearchMode = "vector", timings: dict[str, float] | None = None
) -> SearchResult:
    hits = tuple(
        Hit(
            chunk=make_chunk(chunk_id),
            rank=i + 1,
            score=0.9 - i / 10,
            distance=0.1 + i / 10 if mode == "vector" else None,
            similarity=0.9 - i / 10 if mode == "vector" else None,
        )
        for i, chunk_id in enumerate(ids)
    )
    return SearchResult("how are backups run", "tiny", mode, hits, timings or {"embed": 5.0, "vector_search": 2.0})


def make_rerank(
    search: SearchResult,
    order: tuple[str, ...],
    scores: tuple[float, ...],
    warnings: tuple[str, ...] = (),
    tokens: dict[str, tuple[int, int]] | None = None,
) -> RerankResult:
    by_id = {hit.chunk.chunk_id: hit for hit in search.hits}
    tokens = tokens or {}
    hits = tuple(
        RerankedHit(
            hit=by_id[chunk_id],
            rank=rank,
            raw_score=score,
            probability=1 / (1 + math.exp(-score)),
            tokens_seen=tokens.get(chunk_id, (20, 20))[0],
            tokens_total=tokens.get(chunk_id, (20, 20))[1],
        )
        for rank, (chunk_id, score) in enumerate(zip(order, scores, strict=True), start=1)
    )
    return RerankResult("fake-reranker", "logit", hits, {"rerank": 3.0, "rerank_model": 2.5}, 256, warnings)


# -- reranked_view ------------------------------------------------------------------------------


def test_reranked_view_rows_match_compare_rankings() -> None:
    search = make_search()
    result = make_rerank(search, ("c", "a", "e", "b", "d"), (4.0, 3.0, 1.0, -1.0, -2.0))

    view = reranked_view(search, result, k=2)

    expected = compare_rankings(
        [(h.chunk.chunk_id, h.score) for h in search.hits],
        [(r.hit.chunk.chunk_id, r.raw_score) for r in result.hits],
        2,
    )
    assert [(r.chunk.chunk_id, r.left_rank, r.right_rank, r.shift, r.status) for r in view.rows] == [
        (c.chunk_id, c.left_rank, c.right_rank, c.shift, c.status) for c in expected.changes
    ]
    rows = {row.chunk.chunk_id: row for row in view.rows}
    assert (rows["c"].status, rows["c"].shift) == ("entered_top_k", 2)
    assert (rows["a"].status, rows["a"].shift) == ("stayed_in_top_k", -1)
    assert (rows["b"].status, rows["b"].shift) == ("left_top_k", -2)
    assert (rows["d"].status, rows["e"].status) == ("outside", "outside")
    assert view.comparison == expected
    assert [c.chunk_id for c in view.comparison.entered] == ["c"]


def test_reranked_view_orders_both_columns_and_carries_scores() -> None:
    search = make_search()
    result = make_rerank(search, ("c", "a", "e", "b", "d"), (4.0, 3.0, 1.0, -1.0, -2.0), tokens={"e": (200, 300)})

    view = reranked_view(search, result, k=2)

    assert [r.chunk.chunk_id for r in view.left_rows()] == list(IDS)
    assert [r.chunk.chunk_id for r in view.right_rows()] == ["c", "a", "e", "b", "d"]
    rows = {row.chunk.chunk_id: row for row in view.rows}
    assert rows["c"].right_score == 4.0
    assert rows["c"].left_score == pytest.approx(0.7)
    assert rows["c"].similarity == pytest.approx(0.7)
    assert rows["c"].probability == pytest.approx(1 / (1 + math.exp(-4.0)))
    assert rows["e"].truncated and (rows["e"].tokens_seen, rows["e"].tokens_total) == (200, 300)
    assert not rows["a"].truncated
    assert (view.right_kind, view.rerank, view.k) == ("rerank", result, 2)
    assert (view.left_title, view.right_title) == ("Vector search", "Reranked (fake-reranker)")
    assert (view.query, view.collection) == ("how are backups run", "tiny")


def test_reranked_view_merges_search_and_rerank_timings() -> None:
    search = make_search()
    view = reranked_view(search, make_rerank(search, IDS, (5.0, 4.0, 3.0, 2.0, 1.0)), k=3)

    assert view.timings_ms == {"embed": 5.0, "vector_search": 2.0, "rerank": 3.0, "rerank_model": 2.5}


def test_well_spread_scores_raise_no_alarm() -> None:
    search = make_search()
    view = reranked_view(search, make_rerank(search, IDS, (5.0, 4.0, 3.0, 2.0, 1.0)), k=3)

    assert view.alarms == ()


def test_flat_scores_raise_an_alarm() -> None:
    search = make_search()
    view = reranked_view(search, make_rerank(search, IDS, (0.25,) * 5), k=3)

    assert len(view.alarms) == 1
    assert "equal" in view.alarms[0]
    assert "All 5" in view.alarms[0]


def test_scores_that_barely_vary_raise_a_milder_alarm() -> None:
    search = make_search()
    view = reranked_view(search, make_rerank(search, IDS, (0.010, 0.008, 0.006, 0.004, 0.002)), k=3)

    assert len(view.alarms) == 1
    assert "barely vary" in view.alarms[0]


def test_model_warnings_become_alarms() -> None:
    search = make_search()
    result = make_rerank(search, IDS, (5.0, 4.0, 3.0, 2.0, 1.0), warnings=("'x' has an untrained head",))

    assert reranked_view(search, result, k=3).alarms == ("'x' has an untrained head",)


def test_fewer_reranked_hits_than_candidates_raise_an_alarm_and_keep_every_row() -> None:
    search = make_search()
    result = make_rerank(search, ("b", "a", "c"), (3.0, 2.0, 1.0))

    view = reranked_view(search, result, k=2)

    assert any("not applied" in alarm and "3 of 5" in alarm for alarm in view.alarms)
    rows = {row.chunk.chunk_id: row for row in view.rows}
    assert set(rows) == set(IDS)
    assert (rows["d"].right_rank, rows["d"].probability, rows["d"].tokens_seen) == (None, None, None)
    assert [r.chunk.chunk_id for r in view.right_rows()] == ["b", "a", "c"]
    assert [r.chunk.chunk_id for r in view.left_rows()] == list(IDS)


@pytest.mark.parametrize("k", [0, 11, -1])
def test_top_k_out_of_range_is_refused(k: int) -> None:
    with pytest.raises(InvalidInputError, match="between 1 and 10"):
        check_top_k(k)
    search = make_search()
    with pytest.raises(InvalidInputError):
        reranked_view(search, make_rerank(search, IDS, (5.0, 4.0, 3.0, 2.0, 1.0)), k)
    with pytest.raises(InvalidInputError):
        alternative_view(search, make_search(mode="hybrid"), k)


@pytest.mark.parametrize("k", [1, 10])
def test_top_k_bounds_are_allowed(k: int) -> None:
    assert check_top_k(k) == k


# -- alternative_view ---------------------------------------------------------------------------


def test_alternative_view_of_different_candidate_sets() -> None:
    vector = make_search(("a", "b", "c"))
    hybrid = make_search(
        ("c", "d", "a"), mode="hybrid", timings={"embed": 6.0, "vector_search": 1.0, "bm25_search": 0.5, "fuse": 0.1}
    )

    view = alternative_view(vector, hybrid, k=2)

    rows = {row.chunk.chunk_id: row for row in view.rows}
    assert set(rows) == {"a", "b", "c", "d"}
    assert (rows["d"].left_rank, rows["d"].right_rank, rows["d"].shift, rows["d"].status) == (
        None,
        2,
        None,
        "entered_top_k",
    )
    assert (rows["b"].left_rank, rows["b"].right_rank, rows["b"].status) == (2, None, "left_top_k")
    assert (rows["c"].shift, rows["c"].status) == (2, "entered_top_k")
    assert (rows["a"].shift, rows["a"].status) == (-2, "left_top_k")
    assert [r.chunk.chunk_id for r in view.left_rows()] == ["a", "b", "c"]
    assert [r.chunk.chunk_id for r in view.right_rows()] == ["c", "d", "a"]
    assert (view.right_kind, view.rerank, view.alarms) == ("hybrid", None, ())
    assert (view.left_title, view.right_title) == ("Vector search", "Hybrid (vector + BM25)")
    assert rows["a"].similarity == pytest.approx(0.9)


def test_alternative_view_keeps_both_sides_timings_apart() -> None:
    vector = make_search(("a", "b"))
    hybrid = make_search(
        ("b", "a"), mode="hybrid", timings={"embed": 6.0, "vector_search": 1.0, "bm25_search": 0.5, "fuse": 0.1}
    )

    view = alternative_view(vector, hybrid, k=1)

    assert view.timings_ms == {
        "embed": 5.0,
        "vector_search": 2.0,
        "hybrid_embed": 6.0,
        "hybrid_vector_search": 1.0,
        "bm25_search": 0.5,
        "fuse": 0.1,
    }


# -- Workspace.explore end to end ------------------------------------------------------------------

LONG_SECTION = " ".join(
    f"Volume {n} is copied to the backup region every night at two, checked against its checksum, "
    "and kept for thirty days unless a retention policy says otherwise."
    for n in range(12)
)


@pytest.fixture(scope="module")
def explore_ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """A workspace with one tiny collection; 400-token chunks so the backups section (about 330
    tokens) stays one chunk, longer than the cross-encoder's 256-token window."""
    root = tmp_path_factory.mktemp("explore")
    docs = root / "docs"
    docs.mkdir()
    (docs / "backups.md").write_text(f"# Backups\n\n{LONG_SECTION}\n", encoding="utf-8")
    (docs / "passwords.md").write_text(
        "# Passwords\n\n## Reset\n\nReset your password from the account settings page.\n", encoding="utf-8"
    )
    (docs / "billing.md").write_text("# Billing\n\nInvoices are sent on the first day of the month.\n")
    (docs / "cli.md").write_text("# CLI\n\nThe command line prints one JSON object with --json.\n")
    ws = Workspace(Settings(data_dir=root / "store"))
    report = ws.ingest([docs], "tiny", options=ChunkingOptions(max_tokens=400, overlap_tokens=0))
    assert report.chunks_total == 4
    return ws


@pytest.fixture
def offline_hub(monkeypatch: pytest.MonkeyPatch) -> None:
    """Declare the Hub unreachable the documented way, so the test behaves the same on a connected machine."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def test_explore_with_a_local_cross_encoder_reranks_the_candidates(
    explore_ws: Workspace, test_cross_encoder_dir: Path
) -> None:
    view, reason = explore_ws.explore(
        "when do nightly backups run", "tiny", candidates=10, k=2, reranker=str(test_cross_encoder_dir)
    )

    assert reason is None
    assert view.right_kind == "rerank"
    assert view.rerank is not None
    assert len(view.rows) == len(view.left.hits) == len(view.rerank.hits) == 4
    assert sorted(r.right_rank for r in view.rows if r.right_rank is not None) == [1, 2, 3, 4]
    assert [r.right_score for r in view.right_rows()] == sorted((r.right_score for r in view.rows), reverse=True)
    backups = next(r for r in view.rows if r.chunk.doc_id == "backups.md")
    assert backups.truncated
    assert backups.tokens_seen is not None and backups.tokens_seen < 256
    assert any("untrained" in alarm for alarm in view.alarms)
    assert {"embed", "vector_search", "rerank"} <= set(view.timings_ms)
    assert view.right_title == f"Reranked ({test_cross_encoder_dir.name})"


def test_explore_twice_reuses_cached_scores(explore_ws: Workspace, test_cross_encoder_dir: Path) -> None:
    query = "how do I reset my password"
    first, _ = explore_ws.explore(query, "tiny", candidates=10, reranker=str(test_cross_encoder_dir))
    hits_before = explore_ws.score_cache.hits

    second, _ = explore_ws.explore(query, "tiny", candidates=10, reranker=str(test_cross_encoder_dir))

    assert explore_ws.score_cache.hits - hits_before == len(second.rows) == 4
    assert [r.chunk.chunk_id for r in second.right_rows()] == [r.chunk.chunk_id for r in first.right_rows()]
    # The repeat says its scores are cached and keeps the first run's timing.
    assert first.rerank is not None and second.rerank is not None
    assert (first.rerank.all_cached, first.rerank.first_run_ms) == (False, None)
    assert second.rerank.all_cached and second.rerank.cached_scores == 4
    assert second.rerank.first_run_ms == first.rerank.timings_ms
    assert f"Rerank cached (first run {first.timings_ms['rerank']:,.0f} ms)" in latency_summary(second) or (
        first.timings_ms["rerank"] < 10 and "Rerank cached (first run " in latency_summary(second)
    )


def test_explore_offline_falls_back_to_hybrid_with_the_reason(explore_ws: Workspace, offline_hub: None) -> None:
    view, reason = explore_ws.explore("when do nightly backups run", "tiny", candidates=10, k=2)

    assert reason is not None and "Hugging Face Hub" in reason
    assert view.right_kind == "hybrid"
    assert view.rerank is None
    assert (view.left_title, view.right_title) == ("Vector search", "Hybrid (vector + BM25)")
    assert {r.chunk.chunk_id for r in view.left_rows()} <= {r.chunk.chunk_id for r in view.rows}
    assert len(view.right_rows()) == 4
    assert {"bm25_search", "fuse", "hybrid_embed"} <= set(view.timings_ms)


def test_explore_offline_from_hybrid_still_compares_vector_before_hybrid_after(
    explore_ws: Workspace, offline_hub: None
) -> None:
    """The fallback from hybrid used to flip to hybrid (before) vs vector (after)."""
    view, reason = explore_ws.explore("reset password", "tiny", mode="hybrid", candidates=10)

    assert reason is not None
    assert (view.left_title, view.right_title) == ("Vector search", "Hybrid (vector + BM25)")
    assert (view.left.mode, view.right_mode) == ("vector", "hybrid")


def test_explore_refuses_top_k_out_of_range(explore_ws: Workspace) -> None:
    with pytest.raises(InvalidInputError, match="top-k"):
        explore_ws.explore("backups", "tiny", k=0)
