"""The Label sheet from the engine side: candidates, grades at both levels, and labels orphaned by a
file change, which are kept and reported, never dropped."""

from __future__ import annotations

from pathlib import Path

import pytest

from reranklens.views.label_sheet import LabelSheet
from reranklens.workspace import Workspace

GUIDE = """# Reset your password (Acme 2.4)

Open Account Center, choose Sign-in and security, then Reset password. The reset link is valid for 15 minutes.
"""
BILLING = """# Billing (Acme 2.4)

Invoices are issued on the first day of each month and can be downloaded as PDF from the Billing page.
"""
QUERY = "How do I reset my password?"


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "reset.md").write_text(GUIDE, encoding="utf-8")
    (folder / "billing.md").write_text(BILLING, encoding="utf-8")
    return folder


def sheet(workspace: Workspace, golden_set: str = "labels") -> LabelSheet:
    view, _ = workspace.explore(QUERY, "acme", "vector", 10, 1, reranker="cross-encoder/not-on-this-machine")
    return workspace.label_sheet(view, golden_set)


def test_labels_orphaned_by_a_file_change_are_kept_and_reported(
    workspace: Workspace, docs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    workspace.ingest([docs], "acme")
    reset_chunk = next(c for c in sheet(workspace).candidates if c.row.chunk.doc_id == "reset.md").row.chunk
    query_id = workspace.golden.add_query("labels", QUERY)
    workspace.golden.judge("labels", query_id, "chunk", reset_chunk.chunk_id, 3, who="ana")
    assert sheet(workspace).orphans == ()
    assert [c.grade for c in sheet(workspace).candidates if c.row.chunk.chunk_id == reset_chunk.chunk_id] == [3]

    (docs / "reset.md").write_text(GUIDE.replace("15 minutes", "10 minutes"), encoding="utf-8")
    report = workspace.ingest([docs], "acme")
    assert (report.chunks_added, report.chunks_removed) == (1, 1)

    after = sheet(workspace)
    assert [(j.target_id, j.grade, j.who) for j in after.orphans] == [(reset_chunk.chunk_id, 3, "ana")]
    assert all(c.row.chunk.chunk_id != reset_chunk.chunk_id for c in after.candidates)
    assert [j.target_id for j in workspace.golden.judgements("labels")] == [reset_chunk.chunk_id]


def test_doc_level_grades_show_on_every_chunk_and_unjudged_top_k_is_flagged(
    workspace: Workspace, docs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    workspace.ingest([docs], "acme")
    workspace.golden.replace_set("labels", {"q1": QUERY}, {"q1": {"billing.md": 0}}, level="doc")
    labelled = sheet(workspace)
    by_doc = {c.row.chunk.doc_id: c for c in labelled.candidates}
    assert by_doc["billing.md"].doc_grade == 0 and by_doc["billing.md"].grade is None
    assert by_doc["reset.md"].doc_grade is None
    top = [c for c in labelled.candidates if c.in_top_k]
    assert [c.row.chunk.doc_id for c in top] == ["reset.md"]
    assert labelled.unjudged_in_top_k == 1
    assert labelled.query is not None and labelled.query.query_id == "q1"


def test_a_query_never_labelled_has_no_grades(
    workspace: Workspace, docs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    workspace.ingest([docs], "acme")
    labelled = sheet(workspace, "never-used")
    assert labelled.query is None and labelled.judged == 0 and labelled.orphans == ()
    assert {c.row.chunk.doc_id for c in labelled.candidates} == {"reset.md", "billing.md"}
