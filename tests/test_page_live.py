"""Live retrievers in the app (AppTest): connected on the Corpus page (secret header masked), picked like a
collection on Explore (its ranking before, reranked after, the endpoint as a stage), graded on Label,
offered with the live pipelines on Evaluate."""

from __future__ import annotations

from pathlib import Path

import pytest
from stub_server import LoopbackStubServer
from test_live_retriever import GOOD, SECRET, stub
from test_page_traces import page, run_ok, submit, trace_env, unescaped

from components.evaluate.targets import LIVE_NOTE, EvalTarget
from components.shared import keys
from components.shared.connection_choice import LIVE_NOTE as EXPLORE_LIVE_NOTE
from reranklens.access.audit import AuditLog
from reranklens.config import Settings
from reranklens.evaluate.runs import RunStore
from reranklens.retrieve.traces import NO_TEXT, candidate_chunk_id
from reranklens.workspace import Workspace

__all__ = ["stub", "trace_env"]  # fixtures: the local retriever, the fresh data dir of the trace page tests
QUERY = "How do I reset my password?"


def connected(server: LoopbackStubServer, path: str = "/good") -> None:
    Workspace(Settings.from_env()).connect(f"http://127.0.0.1:{server.port}{path}", "app", {}, 30)


def test_corpus_connects_a_retriever_and_never_shows_its_header_value(
    trace_env: Path, stub: LoopbackStubServer
) -> None:
    at = run_ok(page("corpus"))
    at.text_input(key="corpus.connect_url").input("http://10.1.2.3:8080/")
    at.text_input(key="corpus.connect_name").input("app")
    submit(at, "Connect")
    (error,) = [unescaped(e.value) for e in at.error]
    assert "may not connect to '10.1.2.3'" in error and "RERANKLENS_CONNECT_HOSTS" in error

    at.text_input(key="corpus.connect_url").input(f"http://127.0.0.1:{stub.port}/good")
    at.text_input(key="corpus.connect_header").input("Authorization")
    at.text_input(key="corpus.connect_header_value").input(SECRET)
    submit(at, "Connect")
    assert any("Connected 'app'" in unescaped(s.value) for s in at.success)
    table = next(d.value for d in at.dataframe if "connection" in d.value.columns)
    assert list(table["headers"]) == ["Authorization: ••••"]
    assert SECRET not in table.to_csv()
    (entry,) = AuditLog(trace_env).entries()
    assert (entry.action, entry.target) == ("connect", "app") and SECRET not in entry.detail
    assert Workspace(Settings.from_env()).connections.headers("app") == {"Authorization": SECRET}
    assert at.text_input(key="corpus.connect_header_value").value == ""  # the secret left the form


@pytest.mark.slow
def test_explore_shows_a_live_retriever_before_and_after_with_its_endpoint_stage(
    trace_env: Path, stub: LoopbackStubServer, test_cross_encoder_dir: Path
) -> None:
    connected(stub, "/notext")
    at = page("explore")
    at.query_params["collection"] = "live:app"
    at.query_params["q"] = QUERY
    run_ok(at)
    assert at.selectbox(key=keys.COLLECTION).value == "live:app"
    assert EXPLORE_LIVE_NOTE in [c.value for c in at.sidebar.caption]
    assert not [r for r in at.radio if r.label == "Retrieval"]  # no BM25 or hybrid for it
    headers = [s.value for s in at.subheader]
    assert "Your retriever (live)" in headers and f"Reranked ({test_cross_encoder_dir.name})" in headers
    warnings = [unescaped(w.value) for w in at.warning]
    assert f"Connection 'app': 1 candidate(s) without text ('c'): kept, {NO_TEXT}." in warnings
    assert stub.requests[-1]["body"] == {"query": QUERY, "n": 50}


@pytest.mark.slow
def test_label_grades_a_live_candidate_on_its_id_and_text(trace_env: Path, stub: LoopbackStubServer) -> None:
    connected(stub)
    at = page("label")
    at.query_params["collection"] = "live:app"
    at.query_params["q"] = QUERY
    at.query_params["set"] = "live-set"
    run_ok(at)
    at.radio(key=keys.LABEL_SCOPE).set_value("all candidates")
    run_ok(at)
    controls = at.get("segmented_control")
    assert len(controls) == 2
    controls[0].set_value(3)
    run_ok(at)
    (judgement,) = Workspace(Settings.from_env()).golden.judgements("live-set")
    assert judgement.grade == 3 and judgement.level == "chunk"
    assert judgement.target_id in {candidate_chunk_id(c["id"], c["text"]) for c in GOOD}  # type: ignore[arg-type]


def test_evaluate_offers_a_live_retriever_with_the_live_pipelines(
    trace_env: Path, stub: LoopbackStubServer, test_cross_encoder_dir: Path
) -> None:
    connected(stub)
    Workspace(Settings.from_env()).golden.replace_set("kb", {"q1": QUERY}, {"q1": {"a.md": 2}})
    at = run_ok(page("evaluate"))
    target = next(s for s in at.selectbox if s.label == "Collection or trace set")
    assert target.options == ["🔌 app (live)"] and target.value == EvalTarget("app", live=True)
    picker = at.multiselect[0]
    assert picker.value == ["live", "live+rerank"]
    assert picker.options == ["live", "live+rerank", f"live+rerank:{test_cross_encoder_dir}"]
    assert LIVE_NOTE in [c.value for c in at.sidebar.caption]
    next(b for b in at.sidebar.button if b.label == "Run evaluation").click()
    run_ok(at)
    (saved,) = RunStore(Settings.from_env().runs_db_path).list()
    assert saved.collection == "app" and saved.result["live"] is True
    assert list(saved.result["pipelines"]) == ["live", "live+rerank"]
    assert saved.result["pipelines"]["live"]["R@1"] == 1.0  # the retriever ranks a.md first
    assert "endpoint" in saved.result["latency_ms"]["live"]
    assert [r.value for r in at.dataframe][0].columns.tolist() == ["live", "live+rerank"]
