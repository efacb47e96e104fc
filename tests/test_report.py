"""Exports of an Explore view: CSV records, Markdown and HTML reports. Chunk text is untrusted:
no format may turn it into markup, a link, an image or script."""

from __future__ import annotations

import csv
import io
import math
from dataclasses import replace

import pytest

from reranklens.types import Chunk, Hit, RerankedHit, RerankResult, SearchMode, SearchResult
from reranklens.views.explore import ExploreView, alternative_view, reranked_view
from reranklens.views.report import (
    CSV_COLUMNS,
    html_report,
    markdown_line,
    markdown_report,
    view_csv,
    view_records,
)

MALICIOUS = (
    "<script>alert(1)</script> ![pixel](https://evil.example/p.png) [click me](javascript:alert(2)) "
    "| col | <img src=x onerror=alert(3)>"
)
QUERY = "how are backups run"


def make_search(texts: dict[str, str], mode: SearchMode = "vector") -> SearchResult:
    hits = tuple(
        Hit(
            chunk=Chunk(
                chunk_id=chunk_id,
                doc_id=f"{chunk_id}.md",
                text=text,
                source=f"docs/{chunk_id}.md",
                position=0,
                heading_path=("Guide", chunk_id.title()),
                token_count=len(text.split()),
            ),
            rank=i + 1,
            score=0.9 - i / 10,
            similarity=0.9 - i / 10,
        )
        for i, (chunk_id, text) in enumerate(texts.items())
    )
    return SearchResult(QUERY, "tiny", mode, hits, {"embed": 4.0, "vector_search": 1.0})


TEXTS = {
    "backups": "Backups run every night at two.",
    "evil": MALICIOUS,
    "billing": "Invoices are sent monthly.",
    "cli": "The CLI prints JSON.",
}


@pytest.fixture
def view() -> ExploreView:
    search = make_search(TEXTS)
    by_id = {hit.chunk.chunk_id: hit for hit in search.hits}
    order = [("evil", 3.0), ("cli", 1.0), ("backups", -0.5), ("billing", -2.0)]
    hits = tuple(
        RerankedHit(by_id[cid], rank, score, 1 / (1 + math.exp(-score)), 10, 12 if cid == "evil" else 10)
        for rank, (cid, score) in enumerate(order, start=1)
    )
    result = RerankResult("fake-reranker", "logit", hits, {"rerank": 7.0, "rerank_model": 6.0}, 256, ("untrained",))
    return reranked_view(search, result, k=2)


# -- CSV records ----------------------------------------------------------------------------------


def test_records_have_exactly_the_csv_columns_in_order(view: ExploreView) -> None:
    records = view_records(view)

    assert len(records) == len(TEXTS)
    assert all(list(record) == list(CSV_COLUMNS) for record in records)


def test_records_follow_the_right_hand_order_and_carry_the_view(view: ExploreView) -> None:
    records = view_records(view)

    assert [r["chunk_id"] for r in records] == ["evil", "cli", "backups", "billing"]
    evil = records[0]
    assert (evil["left_rank"], evil["right_rank"], evil["shift"], evil["status"]) == (2, 1, 1, "stayed_in_top_k")
    assert (evil["tokens_seen"], evil["tokens_total"]) == (10, 12)
    assert evil["probability"] == pytest.approx(1 / (1 + math.exp(-3.0)))
    assert evil["text"] == MALICIOUS
    assert evil["heading"] == "Guide > Evil"


def test_records_write_and_read_back_as_csv(view: ExploreView) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS)
    writer.writeheader()
    writer.writerows(view_records(view))

    rows = list(csv.DictReader(io.StringIO(buffer.getvalue())))

    assert [row["chunk_id"] for row in rows] == ["evil", "cli", "backups", "billing"]
    assert rows[0]["text"] == MALICIOUS


# -- Markdown ---------------------------------------------------------------------------------


def test_markdown_report_names_the_query_and_has_a_row_per_candidate(view: ExploreView) -> None:
    report = markdown_report(view)

    assert report.startswith("# RerankLens report\n")
    assert "how are backups run" in report
    table = [line for line in report.splitlines() if line.startswith("| ")]
    assert len(table) == 1 + len(TEXTS)  # header + one row per candidate
    assert table[1].startswith("| 1 | 2 | +1 | stayed_in_top_k | evil")
    assert "> Warning: untrained" in report
    assert "Query embedding 4.0 ms, Vector search 1.0 ms, Rerank 7.0 ms" in report


def test_markdown_report_defuses_a_malicious_chunk(view: ExploreView) -> None:
    report = markdown_report(view)

    assert "<script" not in report
    assert "<img" not in report
    assert "![" not in report
    assert "](" not in report
    assert "&lt;script>alert(1)&lt;/script>" in report
    evil_row = next(line for line in report.splitlines() if "evil" in line and "alert" in line)
    # The chunk's own pipes are escaped: the row keeps its six columns.
    assert evil_row.count("|") - evil_row.count("\\|") == 7


def test_markdown_report_defuses_a_malicious_query() -> None:
    search = make_search({"a": "one", "b": "two"})
    search = SearchResult("![x](https://evil.example/x.png) <script>", "tiny", "vector", search.hits, {})
    other = SearchResult(search.query, "tiny", "hybrid", search.hits[::-1], {})

    report = markdown_report(alternative_view(search, other, k=1))

    assert "![" not in report
    assert "](" not in report
    assert "<script" not in report


# -- HTML -------------------------------------------------------------------------------------


def test_html_report_has_no_script_at_all(view: ExploreView) -> None:
    report = html_report(view)

    assert "<script" not in report
    assert "<img" not in report
    assert "&lt;script&gt;" in report


def test_html_report_forbids_everything_but_inline_styles(view: ExploreView) -> None:
    report = html_report(view)

    assert (
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">"
        in report
    )


def test_html_report_shows_both_columns_in_their_orders(view: ExploreView) -> None:
    report = html_report(view)

    assert "<h2>Vector search</h2>" in report
    assert "<h2>Reranked (fake-reranker)</h2>" in report
    left, right = report.split('<div class="rl-column rl-left">')[1].split('<div class="rl-column rl-right">')
    assert [left.index(f'data-chunk="{c}"') for c in TEXTS] == sorted(left.index(f'data-chunk="{c}"') for c in TEXTS)
    right_order = ["evil", "cli", "backups", "billing"]
    positions = [right.index(f'data-chunk="{c}"') for c in right_order]
    assert positions == sorted(positions)
    assert "⚠ untrained" in report
    assert "<mark>Backups</mark> <mark>run</mark>" in report


def test_html_report_escapes_a_malicious_query(view: ExploreView) -> None:
    search = make_search({"a": "one", "b": "two"})
    search = SearchResult('"><script>alert(1)</script>', "tiny", "vector", search.hits, {})
    other = SearchResult(search.query, "tiny", "hybrid", search.hits[::-1], {})

    report = html_report(alternative_view(search, other, k=1))

    assert "<script" not in report
    assert "<title>RerankLens report: &quot;&gt;&lt;script&gt;" in report


def test_markdown_report_of_a_cached_rerank_says_cached_with_the_first_run_figure(view: ExploreView) -> None:
    """A repeated query's report said "rerank 1 ms" (the cache lookup)."""
    assert view.rerank is not None
    cached = replace(
        view.rerank,
        timings_ms={"rerank": 1.0, "rerank_model": 0.0},
        cached_scores=len(view.rerank.hits),
        first_run_ms={"rerank": 1163.0, "rerank_model": 1100.0},
    )
    repeated = replace(view, rerank=cached, timings_ms={"embed": 0.1, "vector_search": 1.0, "rerank": 1.0})

    for report in (markdown_report(repeated), html_report(repeated)):
        assert "Rerank cached (first run 1,163 ms)" in report
        assert "Rerank 1" not in report
    unknown = replace(repeated, rerank=replace(cached, first_run_ms=None))
    assert "Rerank cached (scored in an earlier run)" in markdown_report(unknown)


def test_markdown_report_reads_as_plain_text() -> None:
    """The report escaped nearly everything ("v2\\.4", "&gt;")."""
    search = make_search({"a": "Upgrade to v2.4 (or later) if a > b - see the 1.0 notes & FAQ.", "b": "two"})
    other = SearchResult(search.query, "tiny", "hybrid", search.hits[::-1], {})

    report = markdown_report(alternative_view(search, other, k=1))

    assert "Upgrade to v2.4 (or later) if a > b - see the 1.0 notes & FAQ." in report
    assert "\\." not in report and "&gt;" not in report and "\\(" not in report


def test_exports_carry_grades_and_figures(view: ExploreView, tmp_path) -> None:
    from reranklens.evaluate.judged import judged_view
    from reranklens.golden.store import GoldenQuery, GoldenStore, Judgement

    golden = GoldenStore(tmp_path / "golden.sqlite")
    judgements = [Judgement("q", "doc", "backups.md", 3), Judgement("q", "chunk", "evil", 0)]
    golden.write_set("g", [GoldenQuery("q", QUERY)], judgements)
    judged = judged_view(view, golden, "g")
    assert judged.metrics is not None

    records = {r["chunk_id"]: r for r in csv.DictReader(io.StringIO(view_csv(view, judged)))}
    assert (records["backups"]["grade"], records["backups"]["grade_level"]) == ("3", "doc")
    assert (records["evil"]["grade"], records["evil"]["grade_level"]) == ("0", "chunk")
    assert records["cli"]["grade"] == ""
    markdown = markdown_report(view, judged)
    assert "- Best-graded chunk: #1 → #3 (doc-level grade 3: backups.md)" in markdown
    after = judged.metrics["after"]["nDCG@10"]
    assert markdown_line(f"nDCG@10 (doc level): 1.000 -> {after:.3f}") in markdown  # "@" broken: no mail link
    assert "| grade |" in markdown and "| grade 3 · doc |" in markdown
    page = html_report(view, judged)
    assert 'class="rl-grade rl-grade-3"' in page and "Best-graded chunk: #1 → #3" in page
    assert "<script>" not in page
