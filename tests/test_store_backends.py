"""The shared stores (audit, saved runs, trace sets; golden sets and jobs in their own tests) behave the same on
SQLite files and on PostgreSQL: each case runs on both backends (``fixtures_postgres.backend``)."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from reranklens import database
from reranklens.access.audit import AuditLog
from reranklens.errors import InvalidInputError
from reranklens.evaluate.runs import RunStore
from reranklens.retrieve.traces import DuplicateTraceError, TraceStore, parse_trace_line

pytest_plugins = ["fixtures_postgres"]

LINES = [
    '{"trace_id": "t1", "query": "reset password", "candidates": [{"id": "c1", "text": "Open settings."},'
    ' {"id": "c2", "score": 0.5, "metadata": {"source": "faq.md"}}], "answer": "Use settings."}',
    '{"trace_id": "t2", "query": "Delete  Account", "candidates": [{"id": "c3", "text": "Write to us."}]}',
    "not json",
]


def test_audit_keeps_entries_newest_first(backend: str, tmp_path: Path) -> None:
    log = AuditLog(tmp_path)
    for number in range(3):
        log.record("ana", "ingest", f"c{number}", "folder /srv")
    entries = log.entries(limit=2)
    assert [entry.target for entry in entries] == ["c2", "c1"]
    assert entries[0].detail == "folder /srv"
    assert (tmp_path / "audit.sqlite").exists() == (backend == "sqlite")


def test_runs_are_saved_listed_and_filtered(backend: str, tmp_path: Path) -> None:
    store = RunStore(tmp_path / "runs.sqlite")
    first = store.save({"collection": "demo", "golden_set": "triage", "metrics": {"nDCG@10": 0.5}}, "before")
    second = store.save({"collection": "other", "golden_set": "triage"})
    assert second > first
    assert [run.run_id for run in store.list()] == [second, first]
    assert [run.label for run in store.list(collection="demo")] == ["before"]
    assert store.get(first).result["metrics"] == {"nDCG@10": 0.5}
    with pytest.raises(InvalidInputError, match=f"No saved evaluation run #{second + 1}"):
        store.get(second + 1)


def test_trace_sets_import_read_and_delete(backend: str, tmp_path: Path) -> None:
    store = TraceStore(tmp_path / "traces.sqlite")
    records = [parse_trace_line(line, number) for number, line in enumerate(LINES, start=1)]
    report = store.import_traces("bot", records, "log.jsonl")
    assert (report.info.traces, report.info.candidates, report.info.no_text) == (2, 3, 1)
    assert report.skipped == ("log.jsonl:3: not JSON (Expecting value)",)
    trace = store.get("bot", "t1")
    assert [c.id for c in trace.candidates] == ["c1", "c2"]
    assert trace.candidates[1].metadata == {"source": "faq.md"} and trace.answer == "Use settings."
    assert store.trace_ids("bot") == ["t1", "t2"] and store.trace_ids("bot", limit=1, offset=1) == ["t2"]
    assert store.find("bot", "delete account") == "t2"
    assert store.existing_ids("bot", [trace.candidates[0].chunk_id, "gone#1"]) == {trace.candidates[0].chunk_id}
    store.delete("bot")
    assert store.names() == []


def test_a_duplicate_trace_id_imports_nothing(backend: str, tmp_path: Path) -> None:
    store = TraceStore(tmp_path / "traces.sqlite")
    records = [parse_trace_line(LINES[0], 1), parse_trace_line(LINES[1], 2), parse_trace_line(LINES[0], 7)]
    with pytest.raises(DuplicateTraceError, match="'t1' on lines 1 and 7"):
        store.import_traces("bot", records, "log.jsonl")
    assert store.names() == []
    url = database.url_for(tmp_path / "traces.sqlite")
    with database.engine(url).connect() as connection:
        assert connection.execute(sa.text("SELECT COUNT(*) FROM candidates")).scalar_one() == 0


def test_a_newer_schema_is_refused(backend: str, tmp_path: Path) -> None:
    path = tmp_path / "runs.sqlite"
    RunStore(path).save({"collection": "demo", "golden_set": "g"})
    url = database.url_for(path)
    with database.engine(url).begin() as connection:
        connection.execute(database.VERSIONS.update().values(version=99))
    database.dispose()
    with pytest.raises(Exception, match="written by a newer RerankLens"):
        RunStore(path).list()
