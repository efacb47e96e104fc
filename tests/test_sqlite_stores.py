"""Every SQLite store in the data dir keeps its first write when another connection is writing the new file.

SQLite refuses to switch a file to WAL at once (without waiting) while another connection writes it; each store
prepares its file through ``reranklens.database``, which waits for that writer instead of losing the write.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from reranklens.access.audit import AUDIT_FILE, AuditLog
from reranklens.evaluate.runs import RunStore
from reranklens.golden.store import GoldenStore
from reranklens.retrieve.traces import TraceStore, parse_trace_line

TRACE_LINE = '{"trace_id": "t1", "query": "reset password", "candidates": [{"id": "c1", "text": "Open settings."}]}'


def _audit(folder: Path) -> tuple[Path, Callable[[], object], Callable[[], object]]:
    log = AuditLog(folder)
    return folder / AUDIT_FILE, lambda: log.record("ana", "ingest", "guide"), lambda: len(log.entries())


def _golden(folder: Path) -> tuple[Path, Callable[[], object], Callable[[], object]]:
    path = folder / "golden.sqlite"
    return path, lambda: GoldenStore(path).create_set("triage"), lambda: GoldenStore(path).names()


def _runs(folder: Path) -> tuple[Path, Callable[[], object], Callable[[], object]]:
    path = folder / "runs.sqlite"
    result = {"collection": "demo", "golden_set": "triage"}
    return path, lambda: RunStore(path).save(result), lambda: len(RunStore(path).list())


def _traces(folder: Path) -> tuple[Path, Callable[[], object], Callable[[], object]]:
    path = folder / "traces.sqlite"
    records = [parse_trace_line(TRACE_LINE, 1)]
    return path, lambda: TraceStore(path).import_traces("bot", records, "t.jsonl"), lambda: TraceStore(path).names()


@pytest.mark.parametrize(
    ("store", "expected"),
    [(_audit, 1), (_golden, ["triage"]), (_runs, 1), (_traces, ["bot"])],
    ids=["audit", "golden", "runs", "traces"],
)
def test_first_write_waits_for_another_writer_of_the_new_file(
    tmp_path: Path,
    store: Callable[[Path], tuple[Path, Callable[[], object], Callable[[], object]]],
    expected: object,
) -> None:
    path, first_write, read_back = store(tmp_path)
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("CREATE TABLE other_writer (x)")
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO other_writer VALUES (1)")
    timer = threading.Timer(1.0, lambda: other.execute("COMMIT"))
    timer.start()
    try:
        first_write()
    finally:
        timer.join()
        other.close()
    assert read_back() == expected
