"""CSV exports neutralise cells a spreadsheet would run as a formula (OWASP CSV
injection): text starting with ``=``, ``+``, ``-``, ``@``, tab or CR gets a leading ``'``. The golden-set
CSV stays lossless: importing the export gives back the original text."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reranklens.config import Settings
from reranklens.golden.formats import csv_cell, csv_uncell, export_set, import_set
from reranklens.golden.store import GoldenStore
from reranklens.views.explore import alternative_view
from reranklens.views.report import view_csv
from reranklens.workspace import Workspace

FORMULAS = ('=HYPERLINK("http://127.0.0.1:9/x","click")', "+1+1", "-2+3", "@SUM(A1)", "\tcmd", "\r=1", "'=1")
DOCS_TEXT = '=HYPERLINK("http://127.0.0.1:9/steal","Reset") password reset steps for the quokka app.\n'


def spreadsheet_would_run(cell: str) -> bool:
    """A text cell a spreadsheet treats as a formula (a plain number such as ``-0.5`` is just a number)."""
    try:
        float(cell)
    except ValueError:
        return cell[:1] in {"=", "+", "-", "@", "\t", "\r"}
    return False


@pytest.mark.parametrize("value", FORMULAS)
def test_formula_cells_get_a_leading_quote(value: str) -> None:
    assert csv_cell(value) == "'" + value
    assert csv_uncell(str(csv_cell(value))) == value


@given(st.text(alphabet=st.sampled_from(["=", "+", "-", "@", "\t", "\r", "'", "a", " "]), max_size=8))
def test_neutralising_is_safe_and_reversible(value: str) -> None:
    cell = str(csv_cell(value))
    assert not spreadsheet_would_run(cell)
    assert csv_uncell(cell) == value


def test_numbers_are_left_alone() -> None:
    assert (csv_cell(-3), csv_cell(0.5), csv_cell(None)) == (-3, 0.5, None)


def test_explore_csv_export_has_no_formula_cell(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "=evil.txt").write_text(DOCS_TEXT, encoding="utf-8")
    (docs / "plain.txt").write_text("Reset your quokka app password under Security.\n", encoding="utf-8")
    workspace = Workspace(Settings(data_dir=tmp_path / "data"))
    workspace.ingest([docs], "docs")
    # Vector vs BM25 (no reranker needed): what matters is what the CSV carries.
    view = alternative_view(
        workspace.search("password reset", "docs", "vector", 5),
        workspace.search("password reset", "docs", "bm25", 5),
        2,
    )
    rows = list(csv.DictReader(io.StringIO(view_csv(view))))
    assert {row["doc_id"] for row in rows} == {"'=evil.txt", "plain.txt"}
    assert all(not spreadsheet_would_run(cell) for row in rows for cell in row.values() if cell), rows
    assert any(row["text"].startswith("'=HYPERLINK") for row in rows)


def test_golden_csv_export_is_neutralised_and_imports_back_unchanged(tmp_path: Path) -> None:
    store = GoldenStore(tmp_path / "golden.sqlite")
    store.create_set("team")
    for number, text in enumerate(FORMULAS):
        query_id = store.add_query("team", text, query_id=f"q{number}", note="-note")
        store.judge("team", query_id, "doc", f"@doc{number}", 2, note="=1+1", who="+ana")
    out = export_set(store, "team", "csv", tmp_path / "team.csv")
    with out.open(encoding="utf-8", newline="") as handle:
        cells = [cell for row in csv.reader(handle) for cell in row]
    assert cells and not [cell for cell in cells if spreadsheet_would_run(cell)]
    import_set(store, out, "team-again")
    assert store.queries("team-again") == store.queries("team")
    assert [(j.target_id, j.note, j.who) for j in store.judgements("team-again")] == [
        (j.target_id, j.note, j.who) for j in store.judgements("team")
    ]
