"""Trace imports are bounded and never crash on hostile input: an OpenInference span with thousands of
documents is read in one pass and cut at ``MAX_DOCUMENTS_PER_SPAN`` (said in one line), one import reads at
most ``MAX_SPANS`` spans, and a line nested too deeply for Python (``[[[[...``) is a skipped line, never a
``RecursionError``: on the CLI and on the Corpus page."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from test_page_traces import page, run_ok, submit, trace_env, unescaped  # noqa: F401 - trace_env: a fixture

from reranklens.cli import main as cli
from reranklens.config import Settings
from reranklens.retrieve.openinference import MAX_DOCUMENTS_PER_SPAN, read_openinference, spans_to_traces
from reranklens.retrieve.traces import NESTED_TOO_DEEPLY, Skipped, Trace, parse_trace_line
from reranklens.workspace import Workspace

DEEP = "[" * 100_000
DOCUMENTS = 8_000


def retriever_span(trace_id: str, documents: int) -> dict[str, Any]:
    """A RETRIEVER span as OpenTelemetry's SDK writes it: flat dotted attribute keys, documents by index."""
    attributes: dict[str, Any] = {"openinference.span.kind": "RETRIEVER", "input.value": f"question {trace_id}"}
    for i in range(documents):
        prefix = f"retrieval.documents.{i}.document."
        attributes |= {
            prefix + "id": f"kb-{i}",
            prefix + "content": f"passage {i}",
            prefix + "score": 1.0 / (i + 1),
            prefix + "metadata.source": f"docs/{i}.md",
        }
    return {"context": {"trace_id": trace_id, "span_id": f"s-{trace_id}"}, "attributes": attributes}


def spans_file(path: Path, *spans: dict[str, Any] | str) -> Path:
    path.write_text("".join((s if isinstance(s, str) else json.dumps(s)) + "\n" for s in spans), encoding="utf-8")
    return path


def test_a_span_with_thousands_of_documents_is_read_whole_in_index_order() -> None:
    (trace,) = spans_to_traces([(1, retriever_span("t1", DOCUMENTS))], max_documents=DOCUMENTS)
    assert isinstance(trace, Trace) and len(trace.candidates) == DOCUMENTS
    assert [c.id for c in trace.candidates] == [f"kb-{i}" for i in range(DOCUMENTS)]
    last = trace.candidates[-1]
    assert (last.text, last.score, last.metadata) == ("passage 7999", 1.0 / DOCUMENTS, {"source": "docs/7999.md"})


def test_the_documents_of_a_span_are_capped_in_one_line(tmp_path: Path) -> None:
    records = list(read_openinference(spans_file(tmp_path / "spans.jsonl", retriever_span("t1", DOCUMENTS))))
    trace, cut = records
    assert isinstance(trace, Trace) and isinstance(cut, Skipped)
    assert [c.id for c in trace.candidates] == [f"kb-{i}" for i in range(MAX_DOCUMENTS_PER_SPAN)]
    assert cut == Skipped(1, f"retriever span with 8,000 documents: kept the first {MAX_DOCUMENTS_PER_SPAN:,}")


def test_the_spans_of_one_import_are_capped() -> None:
    spans = [(n, retriever_span(f"t{n}", 1)) for n in range(1, 6)]
    records = list(spans_to_traces(spans, max_spans=3))
    assert [r.trace_id for r in records if isinstance(r, Trace)] == ["t1", "t2", "t3"]
    assert records[-1] == Skipped(4, "over 3 spans in one import: this span and the rest were not read")


def test_lines_nested_too_deeply_are_skipped_not_raised(tmp_path: Path) -> None:
    assert parse_trace_line(DEEP, 7) == Skipped(7, NESTED_TOO_DEEPLY)
    deep_attributes = '{"context": {"trace_id": "t"}, "attributes": ' + '{"a": ' * 5_000 + "1" + "}" * 5_001
    records = list(read_openinference(spans_file(tmp_path / "deep.jsonl", DEEP, deep_attributes)))
    assert records == [Skipped(1, NESTED_TOO_DEEPLY), Skipped(2, NESTED_TOO_DEEPLY)]


def test_the_cli_names_the_cut_and_a_too_deep_line_in_one_line(
    settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    big = spans_file(tmp_path / "big.jsonl", retriever_span("t1", DOCUMENTS))
    code = cli.main(["traces", "import", str(big), "--format", "openinference", "--name", "big"])
    out, err = capsys.readouterr()
    assert code == 1  # something was left out: the rest is imported, the exit says so
    assert out.startswith(f"Trace set 'big': 1 traces, {MAX_DOCUMENTS_PER_SPAN} candidates imported")
    assert err == f"skipped: {big}:1: retriever span with 8,000 documents: kept the first 1,000\n"

    deep = tmp_path / "deep.jsonl"
    deep.write_text(DEEP + "\n", encoding="utf-8")
    code = cli.main(["traces", "import", str(deep), "--name", "deep"])
    out, err = capsys.readouterr()
    assert (code, out) == (1, "")
    assert err.count("\n") == 1 and f"{deep}:1: {NESTED_TOO_DEEPLY}" in err and "Nothing was imported" in err
    assert Workspace(Settings.from_env()).traces.names() == ["big"]


@pytest.mark.usefixtures("trace_env")
def test_the_corpus_page_says_a_too_deep_file_in_one_line(tmp_path: Path) -> None:
    deep = tmp_path / "deep.jsonl"
    deep.write_text(DEEP + "\n", encoding="utf-8")
    at = run_ok(page("corpus"))
    at.text_input(key="corpus.trace_path").input(str(deep))
    at.text_input(key="corpus.trace_name").input("deep")
    submit(at, "Import traces")
    (error,) = [unescaped(e.value) for e in at.error]
    assert "\n" not in error and f"{deep}:1: {NESTED_TOO_DEEPLY}" in error and "Nothing was imported" in error
    assert Workspace(Settings.from_env()).traces.names() == []
