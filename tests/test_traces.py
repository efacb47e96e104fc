"""Trace sets: logged retrievals imported (JSONL and real OpenInference spans), replayed, reranked,
labelled and evaluated, with the bad input a real log holds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fixtures_cli import Run

from reranklens.evaluate.pipelines import EvalResult
from reranklens.retrieve.traces import NO_TEXT, candidate_chunk_id
from reranklens.workspace import Workspace

pytest_plugins = ["fixtures_cli"]

FIXTURE = Path(__file__).parent / "fixtures" / "traces" / "support_bot.jsonl"
PASSWORD_QUERY = "How do I reset my password in v2.4?"


def write_lines(path: Path, lines: list[object]) -> Path:
    path.write_text("".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines))
    return path


def trace(trace_id: str, query: str = "q", *candidates: dict[str, object], **extra: object) -> dict[str, object]:
    return {"trace_id": trace_id, "query": query, "candidates": list(candidates), **extra}


def test_import_list_show_delete(run: Run) -> None:
    code, out, err = run("traces", "import", str(FIXTURE), "--name", "support-bot")
    assert code == 0, err
    assert "2 traces, 8 candidates, 1 without text (no text: cannot be reranked)" in out
    code, out, _ = run("traces", "list", "--json")
    assert [(s["name"], s["traces"], s["no_text"]) for s in json.loads(out)] == [("support-bot", 2, 1)]
    code, out, _ = run("traces", "show", "support-bot", "--json")
    shown = json.loads(out)["items"][0]
    assert shown["trace_id"] == "chat-0417" and shown["answer"].endswith("valid for 24 hours.")
    assert [c["score"] for c in shown["candidates"]] == [0.83, 0.81, 0.78, 0.74, 0.72, 0.7]
    assert shown["candidates"][-1]["text"] is None and shown["candidates"][-1]["note"] == NO_TEXT
    code, out, _ = run("traces", "show", "support-bot")
    assert f"({NO_TEXT})" in out and "answer: On the sign-in page" in out
    code, _, err = run("traces", "import", str(FIXTURE), "--name", "support-bot")
    assert code == 1 and "exists" in err and err.count("\n") == 1
    assert run("traces", "delete", "support-bot")[0] == 0
    code, _, err = run("traces", "show", "support-bot")
    assert code == 1 and "No trace set named 'support-bot'" in err


def test_malformed_lines_are_skipped_and_named_and_the_rest_is_kept(run: Run, tmp_path: Path) -> None:
    log = write_lines(
        tmp_path / "log.jsonl",
        [
            trace("t1", "first", {"id": "a", "text": "alpha"}),
            '{"trace_id": "t2", "query": ',
            trace("t3", ""),
            trace("t4", "fourth", {"text": "no id"}),
            "",
            trace("t6", "sixth", {"id": "b", "text": "beta", "score": "high"}),
            trace("t7", "seventh", {"id": "c"}),
        ],
    )
    code, out, err = run("traces", "import", str(log), "--name", "messy")
    assert code == 1
    assert err.splitlines() == [
        f"skipped: {log}:2: not JSON (Expecting value)",
        f"skipped: {log}:3: no query",
        f"skipped: {log}:4: candidate 1: no id",
        f"skipped: {log}:6: candidate 1: score is not a number",
    ]
    assert "2 traces, 2 candidates, 1 without text" in out
    code, out, _ = run("traces", "show", "messy", "--json")
    assert [t["trace_id"] for t in json.loads(out)["items"]] == ["t1", "t7"]


def test_duplicate_trace_ids_refuse_the_file_with_their_lines(run: Run, tmp_path: Path) -> None:
    log = write_lines(
        tmp_path / "dup.jsonl",
        [trace("t1", "a", {"id": "x", "text": "x"}), trace("t2"), trace("t1", "again"), trace("t2"), trace("t3")],
    )
    code, out, err = run("traces", "import", str(log), "--name", "dup")
    assert code == 1 and out == "" and err.count("\n") == 1
    assert "duplicate trace ids: 't1' on lines 1 and 3; 't2' on lines 2 and 4" in err
    assert run("traces", "list", "--json")[1].strip() == "[]"  # nothing imported


@pytest.mark.slow
def test_query_trace_gives_the_query_json_shape_in_logged_order(run: Run, test_cross_encoder_dir: Path) -> None:
    run("traces", "import", str(FIXTURE), "--name", "support-bot")
    code, out, err = run("query", "--trace", "support-bot:chat-0417", "--json")
    assert code == 0, err
    plain = json.loads(out)
    assert (plain["query"], plain["collection"], plain["mode"]) == (PASSWORD_QUERY, "support-bot", "logged")
    assert [c["rank"] for c in plain["candidates"]] == [1, 2, 3, 4, 5, 6]
    assert plain["candidates"][0]["doc_id"] == "v1.0/password-reset.md"  # LangChain-style `source` metadata
    assert plain["candidates"][5]["note"] == NO_TEXT and plain["candidates"][5]["score"] == 0.7

    code, out, err = run(
        "query", "--trace", "support-bot:chat-0417", "--rerank", "--reranker", str(test_cross_encoder_dir), "--json"
    )
    assert code == 0, err
    data = json.loads(out)
    assert {"query", "collection", "mode", "reranker", "warnings", "candidates", "timings_ms"} <= set(data)
    assert data["trace"]["answer"].endswith("valid for 24 hours.")
    ranked = [c for c in data["candidates"] if c["rerank_rank"] is not None]
    assert sorted(c["rerank_rank"] for c in ranked) == [1, 2, 3, 4, 5]
    assert data["candidates"][5]["rerank_rank"] is None
    assert any(NO_TEXT in warning for warning in data["warnings"])

    code, _, err = run("query", "--trace", "support-bot:nope", "--json")
    assert code == 1 and "No trace 'nope' in trace set 'support-bot'" in err
    code, _, err = run("query", "--trace", "support-bot", "--json")
    assert code == 1 and "--trace takes NAME:TRACE_ID" in err


@pytest.mark.slow
def test_labels_follow_the_logged_text_and_a_changed_text_is_an_orphan(
    run: Run, workspace: Workspace, tmp_path: Path, test_cross_encoder_dir: Path
) -> None:
    first = write_lines(tmp_path / "day1.jsonl", [trace("t1", "reset?", {"id": "kb-1", "text": "Old steps."})])
    second = write_lines(tmp_path / "day2.jsonl", [trace("t1", "reset?", {"id": "kb-1", "text": "New steps."})])
    run("traces", "import", str(first), "--name", "day1")
    run("traces", "import", str(second), "--name", "day2")
    view, _ = workspace.trace_view("day1", "t1", 3, str(test_cross_encoder_dir))
    chunk_id = view.rows[0].chunk.chunk_id
    assert chunk_id == candidate_chunk_id("kb-1", "Old steps.") and chunk_id.startswith("kb-1#")
    workspace.golden.create_set("g")
    qid = workspace.golden.add_query("g", "reset?")
    workspace.golden.judge("g", qid, "chunk", chunk_id, 3, who="test")
    sheet = workspace.label_sheet(view, "g")
    assert sheet.candidates[0].grade == 3 and sheet.orphans == ()

    later, _ = workspace.trace_view("day2", "t1", 3, str(test_cross_encoder_dir))
    sheet = workspace.label_sheet(later, "g")
    assert sheet.candidates[0].grade is None  # same logged id, another text: not a silent match
    assert [j.target_id for j in sheet.orphans] == [chunk_id]


@pytest.mark.slow
def test_eval_traces_scores_logged_and_logged_rerank(
    run: Run, workspace: Workspace, test_cross_encoder_dir: Path
) -> None:
    run("traces", "import", str(FIXTURE), "--name", "support-bot")
    workspace.golden.replace_set(
        "g",
        {"q01": PASSWORD_QUERY, "q99": "Never logged?"},
        {"q01": {"v2.4/password-reset.md": 2, "general/faq.md": 1}, "q99": {"x": 1}},
    )
    code, out, err = run(
        "eval", "--traces", "support-bot", "--golden", "g", "--reranker", str(test_cross_encoder_dir), "--json"
    )
    assert code == 0, err
    data = json.loads(out)
    assert set(data["pipelines"]) == {"logged", "logged+rerank"}
    logged = data["per_query"]["logged"]["q01"]
    # Logged documents in order: v1.0, v2.0, v2.4 (rank 3), archive; faq.md never retrieved.
    assert logged["RR@10"] == pytest.approx(1 / 3) and logged["R@3"] == pytest.approx(0.5) and logged["R@1"] == 0
    assert "q99" not in data["per_query"]["logged"]
    assert any("q99" in note and "no trace" in note for note in data["skipped"])
    assert data["traces"] is True and EvalResult.from_json(data).config.traces  # a saved run reopens as traces
    named = f"logged+rerank:{test_cross_encoder_dir}"
    code, out, err = run("eval", "--traces", "support-bot", "--golden", "g", "--pipelines", f"logged,{named}", "--json")
    assert code == 0, err
    again = json.loads(out)
    assert list(again["pipelines"]) == ["logged", named]
    assert again["per_query"][named] == data["per_query"]["logged+rerank"]  # the same model, named
    assert [(c["candidate"], c["baseline"]) for c in again["comparisons"]] == [(named, "logged")]
    code, _, err = run("eval", "--traces", "support-bot", "--collection", "demo", "--golden", "g")
    assert code == 1 and "not both" in err


def test_real_openinference_spans_import_with_the_llm_answer(run: Run, tmp_path: Path) -> None:
    """Spans from a small retrieval instrumented with OpenInference + OpenTelemetry (in-memory exporter)."""
    from openinference.instrumentation import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from otel_retrieval import QUESTIONS, support_bot

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    answer = support_bot(provider.get_tracer("support-bot"))
    replies = [answer(question) for question in QUESTIONS]
    spans = exporter.get_finished_spans()
    assert len(spans) == 6
    log = write_lines(tmp_path / "spans.jsonl", [json.loads(span.to_json()) for span in spans] + ["not json"])
    code, out, err = run("traces", "import", str(log), "--name", "otel", "--format", "openinference")
    assert code == 1 and err.strip() == f"skipped: {log}:7: not JSON (Expecting value)"
    assert "2 traces, 4 candidates" in out
    code, out, _ = run("traces", "show", "otel", "--json")
    items = {item["query"]: item for item in json.loads(out)["items"]}
    first = items[PASSWORD_QUERY]
    assert first["trace_id"] == format(spans[0].context.trace_id, "032x")
    assert [c["id"] for c in first["candidates"]] == ["kb-v1.0", "kb-v2.4"]
    assert [c["score"] for c in first["candidates"]] == [1.0, 0.9]
    assert first["candidates"][0]["metadata"] == {"source": "v1.0/password-reset.md"}
    assert first["answer"] == replies[0] and items["How long is the reset link valid?"]["answer"] == replies[1]


def test_a_file_without_any_trace_is_refused_and_says_which_format(run: Run, tmp_path: Path) -> None:
    code, out, err = run("traces", "import", str(FIXTURE), "--name", "wrong", "--format", "openinference")
    assert code == 1 and out == "" and err.count("\n") == 1
    assert "no trace found" in err and "--format (jsonl or openinference)" in err
    empty = write_lines(tmp_path / "bad.jsonl", ["{nope"])
    code, _, err = run("traces", "import", str(empty), "--name", "bad")
    assert code == 1 and f"the first: {empty}:1: not JSON" in err
    code, _, err = run("traces", "import", str(tmp_path / "missing.jsonl"), "--name", "x")
    assert code == 1 and "no such file" in err
    assert run("traces", "list", "--json")[1].strip() == "[]"
