"""``reranklens db copy --to URL``: a data dir's SQLite state (golden sets, runs, trace sets, audit, jobs) into an
empty PostgreSQL database, the row counts of both sides printed; a non-empty target is refused in one line."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from reranklens import database
from reranklens.access.audit import AuditLog
from reranklens.access.jobs import JOBS_FILE, JobQueue, Report
from reranklens.cli import main as cli
from reranklens.config import Settings
from reranklens.evaluate.runs import RunStore
from reranklens.golden.store import GoldenStore
from reranklens.retrieve.traces import TraceStore, parse_trace_line

pytest_plugins = ["fixtures_postgres"]

TRACE = '{"trace_id": "t1", "query": "reset password", "candidates": [{"id": "c1", "text": "Open settings."}]}'


def _fill(settings: Settings) -> None:
    settings.data_dir.mkdir(parents=True)
    (settings.data_dir / ".demo-ingested").touch()  # no model loads for this command
    golden = GoldenStore(settings.golden_db_path)
    qid = golden.add_query("faq", "How do I rotate an API key?")
    golden.judge("faq", qid, "chunk", "c1", 3, who="ana")
    golden.judge("faq", qid, "chunk", "c1", 1, who="bob")
    golden.adjudicate("faq", qid, "chunk", "c1", 2, who="rita")
    RunStore(settings.runs_db_path).save({"collection": "demo", "golden_set": "faq"}, "baseline")
    TraceStore(settings.traces_db_path).import_traces("bot", [parse_trace_line(TRACE, 1)], "log.jsonl")
    AuditLog(settings.data_dir).record("ana", "ingest", "demo")

    def work(cancel: threading.Event, report: Report) -> object:
        return "ok"

    queue = JobQueue(1, path=settings.data_dir / JOBS_FILE)
    assert queue.wait(queue.submit("evaluate", "demo on faq", "ana", work), 30).state == "done"


def test_copy_moves_every_row_and_refuses_a_second_copy(
    settings: Settings, postgres_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(database.URL_ENV, raising=False)
    _fill(settings)

    assert cli.main(["db", "copy", "--to", postgres_url]) == 0
    out, err = capsys.readouterr()
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines()[1:-1]}
    assert rows == {
        "golden_sets": ["1", "1"],
        "queries": ["1", "1"],
        "judgements": ["2", "2"],
        "adjudications": ["1", "1"],
        "runs": ["1", "1"],
        "trace_sets": ["1", "1"],
        "traces": ["1", "1"],
        "candidates": ["1", "1"],
        "audit": ["1", "1"],
        "jobs": ["1", "1"],
    }
    assert out.splitlines()[-1].startswith("copied 11 rows from ") and err == ""

    monkeypatch.setenv(database.URL_ENV, postgres_url)  # the app, now on PostgreSQL, sees the same state
    golden = GoldenStore(settings.golden_db_path)
    assert golden.qrels("faq", "chunk") == {golden.find_query("faq", "How do I rotate an API key?").query_id: {"c1": 2}}
    assert [(j.who, j.grade) for j in golden.person_judgements("faq")] == [("ana", 3), ("bob", 1)]
    assert RunStore(settings.runs_db_path).list()[0].label == "baseline"
    assert TraceStore(settings.traces_db_path).get("bot", "t1").candidates[0].text == "Open settings."
    assert [entry.target for entry in AuditLog(settings.data_dir).entries()] == ["demo"]
    assert [(j.name, j.state) for j in JobQueue(1).jobs()] == [("demo on faq", "done")]
    assert RunStore(settings.runs_db_path).save({"collection": "demo", "golden_set": "faq"}) == 2  # ids go on

    monkeypatch.delenv(database.URL_ENV)
    assert cli.main(["db", "copy", "--to", postgres_url]) == 1
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1
    assert err.startswith("error: postgresql+psycopg://postgres@127.0.0.1:") and "is not empty (table " in err


def test_an_unknown_url_is_one_line(settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    settings.data_dir.mkdir(parents=True)
    (settings.data_dir / ".demo-ingested").touch()
    assert cli.main(["db", "copy", "--to", "mysql://root:pw@db/x"]) == 1
    out, err = capsys.readouterr()
    assert err == "error: --to must start with postgresql:// (or sqlite:///), got 'mysql://…': fix it.\n"
    assert "pw" not in err and not Path(settings.data_dir / "golden.sqlite").exists()
