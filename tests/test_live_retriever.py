"""Live retrievers: the contract and its schema, connections and their secret headers, a real LangChain and a
real LlamaIndex retriever served by ``serve-retriever`` in a subprocess, and a local server answering badly in
every way the contract names."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
from app_server import free_port, log_tail, stop_process
from fixtures_cli import Run
from stub_server import LoopbackStubServer

from reranklens.access.audit import AuditLog
from reranklens.config import Settings
from reranklens.retrieve.connections import SECRETS_FILE
from reranklens.retrieve.traces import NO_TEXT, candidate_chunk_id
from reranklens.workspace import Workspace

pytest_plugins = ["fixtures_cli"]

REPO = Path(__file__).resolve().parents[1]
APPS = Path(__file__).parent / "fixtures" / "retrievers"
SCHEMA = json.loads((REPO / "docs" / "retriever-contract.schema.json").read_text(encoding="utf-8"))
SECRET = "Bearer s3cret-token-4711"
QUERY = "How do I reset my password?"
SERVE_STARTUP_S = 180


def validate(kind: str, payload: object) -> None:
    jsonschema.Draft202012Validator({**SCHEMA, "$ref": f"#/$defs/{kind}"}).validate(payload)


# -- a local retriever that misbehaves on request --------------------------------------------------

GOOD = [
    {"id": "a", "text": "Open Settings > Security and click Reset.", "score": 0.9, "metadata": {"source": "a.md"}},
    {"id": "b", "text": "Passwords expire after 90 days.", "score": 0.5},
]
ANSWERS: dict[str, object] = {
    "/good": {"candidates": GOOD},
    "/notext": {"candidates": [GOOD[0], {"id": "c", "score": 0.4}]},
    "/toomany": {"candidates": [{"id": f"x{i}", "text": f"passage {i}"} for i in range(8)]},
    "/dupes": {"candidates": [GOOD[0], GOOD[1], {**GOOD[0], "text": "another text under the same id"}]},
}


def retriever_handler(server: LoopbackStubServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            """Quiet: the tests read what the server recorded, not its access log."""

        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            server.record({"path": self.path, "body": body, "headers": dict(self.headers)})
            if self.path == "/slow":
                time.sleep(3)
            if self.path == "/notjson":
                payload = b"<html>Internal proxy page</html>"
            else:
                payload = json.dumps(ANSWERS.get(self.path, {"candidates": GOOD})).encode()
            try:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client stopped waiting (the timeout test): nothing to answer, and no traceback later

    return Handler


@pytest.fixture
def stub() -> Iterator[LoopbackStubServer]:
    with LoopbackStubServer("", retriever_handler, "live-retriever-stub") as server:
        yield server


def test_the_schema_accepts_the_contract_and_refuses_what_breaks_it() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    validate("request", {"query": QUERY, "n": 50})
    validate("response", ANSWERS["/good"])
    validate("response", {"candidates": [{"id": "kb-1", "text": "t", "score": None, "metadata": {}}]})
    for kind, bad in [
        ("request", {"query": "", "n": 5}),
        ("request", {"query": QUERY, "n": 0}),
        ("response", {"results": []}),
        ("response", ANSWERS["/notext"]),
    ]:
        with pytest.raises(jsonschema.ValidationError):
            validate(kind, bad)


def test_connect_list_and_disconnect_keep_header_values_secret(
    run: Run, settings: Settings, stub: LoopbackStubServer
) -> None:
    url = f"http://127.0.0.1:{stub.port}/good"
    code, out, err = run("connect", url, "--name", "kb", "--header", f"Authorization: {SECRET}", "--timeout", "5")
    assert code == 0, err
    assert "Authorization: ••••" in out and SECRET not in out
    secrets = settings.data_dir / SECRETS_FILE
    assert stat.S_IMODE(secrets.stat().st_mode) == 0o600
    assert SECRET in secrets.read_text() and SECRET not in (settings.data_dir / "connections.json").read_text()
    for argv in (("connections",), ("connections", "--json")):
        code, out, _ = run(*argv)
        assert code == 0 and "kb" in out and "Authorization: ••••" in out and SECRET not in out
    assert json.loads(run("connections", "--json")[1])[0]["url"] == url

    code, out, err = run("query", QUERY, "-c", "kb", "--json")
    assert code == 0, err
    assert stub.requests[-1]["headers"]["Authorization"] == SECRET  # sent, never shown
    assert stub.requests[-1]["body"] == {"query": QUERY, "n": 50}
    data = json.loads(out)
    assert (data["mode"], data["connection"]) == ("live", "kb")
    assert [c["id"] for c in data["candidates"]] == ["a", "b"]
    assert data["candidates"][0]["chunk_id"] == candidate_chunk_id("a", GOOD[0]["text"])  # type: ignore[arg-type]
    assert data["candidates"][0]["doc_id"] == "a.md"  # LangChain-style `source` metadata
    assert data["candidates"][1]["score"] == 0.5 and "endpoint" in data["timings_ms"]

    code, _, err = run("connect", url, "--name", "kb")
    assert code == 1 and "exists" in err and err.count("\n") == 1
    assert run("disconnect", "kb")[0] == 0
    assert SECRET not in secrets.read_text() and stat.S_IMODE(secrets.stat().st_mode) == 0o600
    rows = AuditLog(settings.data_dir).entries()
    assert [(e.action, e.target) for e in rows] == [("disconnect", "kb"), ("connect", "kb")]
    assert all(SECRET not in f"{e.target} {e.detail}" for e in rows)
    assert rows[1].detail == "live retriever at 127.0.0.1, headers Authorization: ••••"
    code, _, err = run("query", QUERY, "-c", "kb")
    assert code == 1 and "'kb'" in err and err.count("\n") == 1  # no such collection any more


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("http://10.1.2.3:8080/", "--name", "far"), "may not connect to '10.1.2.3'"),
        (("http://user:pw@127.0.0.1:9/", "--name", "pw"), "Put credentials in a header"),
        (("ftp://127.0.0.1/", "--name", "ftp"), "not an http:// or https:// address"),
        (("http://127.0.0.1:9/", "--name", "h", "--header", "Authorization Bearer x"), "'Name: value'"),
        (("http://127.0.0.1:9/", "--name", "t", "--timeout", "0"), "timeout"),
        (("http://127.0.0.1:9/", "--name", "bad name"), "Invalid connection name"),
    ],
)
def test_a_refused_connection_is_one_line_and_nothing_is_kept(
    run: Run, settings: Settings, argv: tuple[str, ...], message: str
) -> None:
    code, out, err = run("connect", *argv)
    assert code == 1 and out == "" and err.count("\n") == 1 and message in err, err
    assert "Bearer" not in err and run("connections", "--json")[1].strip() == "[]"


def test_connect_hosts_setting_allows_a_listed_host(run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RERANKLENS_CONNECT_HOSTS", "10.1.2.3")
    code, out, err = run("connect", "http://10.1.2.3:8080/", "--name", "far")
    assert code == 0 and "Connected 'far'" in out, err


def _connect(run: Run, stub: LoopbackStubServer, path: str, *extra: str) -> None:
    code, _, err = run("connect", f"http://127.0.0.1:{stub.port}{path}", "--name", "app", *extra)
    assert code == 0, err


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/slow", "Connection 'app': no answer from http://127.0.0.1:{port}/slow within 0.5 s (timeout)."),
        ("/notjson", "Connection 'app': the answer is not JSON (it starts '<html>Internal proxy page</html>')"),
    ],
)
def test_an_unusable_answer_is_one_error_line_naming_the_connection(
    run: Run, stub: LoopbackStubServer, path: str, message: str
) -> None:
    _connect(run, stub, path, "--timeout", "0.5")
    code, out, err = run("query", QUERY, "-c", "app", "--json")
    assert code == 1 and out == "" and err.count("\n") == 1
    assert err.startswith("error: " + message.format(port=stub.port)), err


def test_an_endpoint_that_is_down_is_one_error_line(run: Run) -> None:
    code, _, err = run("connect", f"http://127.0.0.1:{free_port()}/", "--name", "app")
    assert code == 0, err
    code, out, err = run("query", QUERY, "-c", "app")
    assert code == 1 and out == "" and err.count("\n") == 1
    assert err.startswith("error: Connection 'app': endpoint down") and "serve-retriever" in err


def test_a_candidate_without_text_is_kept_and_marked(run: Run, stub: LoopbackStubServer) -> None:
    _connect(run, stub, "/notext")
    code, out, err = run("query", QUERY, "-c", "app", "--json")
    assert code == 0
    assert err == f"warning: Connection 'app': 1 candidate(s) without text ('c'): kept, {NO_TEXT}.\n"
    candidates = json.loads(out)["candidates"]
    assert [c["id"] for c in candidates] == ["a", "c"] and candidates[1]["note"] == NO_TEXT


def test_more_candidates_than_asked_are_cut(run: Run, stub: LoopbackStubServer) -> None:
    _connect(run, stub, "/toomany")
    code, out, err = run("query", QUERY, "-c", "app", "-n", "5", "--json")
    assert code == 0
    assert err == "warning: Connection 'app': returned 8 candidates, 5 asked: the first 5 kept.\n"
    assert [c["id"] for c in json.loads(out)["candidates"]] == ["x0", "x1", "x2", "x3", "x4"]


def test_duplicate_ids_keep_the_first(run: Run, stub: LoopbackStubServer) -> None:
    _connect(run, stub, "/dupes")
    code, out, err = run("query", QUERY, "-c", "app", "--json")
    assert code == 0
    assert err == "warning: Connection 'app': duplicate ids 'a': the first of each kept.\n"
    candidates = json.loads(out)["candidates"]
    assert [(c["id"], c["text"]) for c in candidates] == [("a", GOOD[0]["text"]), ("b", GOOD[1]["text"])]


# -- real frameworks, served in their own process ---------------------------------------------------


@contextmanager
def served(spec: str, log: Path) -> Iterator[str]:
    """``reranklens serve-retriever SPEC`` from the test applications' folder; yields its URL once it answers."""
    port = free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    env |= {"HF_HUB_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False"}
    command = [sys.executable, "-m", "reranklens", "serve-retriever", spec, "--port", str(port)]
    with log.open("wb") as output:
        process = subprocess.Popen(command, cwd=APPS, env=env, stdout=output, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + SERVE_STARTUP_S
        while True:
            try:
                if httpx.get(url, timeout=2).json()["serves"].startswith(spec):
                    break
            except httpx.HTTPError:
                pass  # not listening yet
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"serve-retriever {spec} did not come up:\n{log_tail(log)}")
            time.sleep(0.3)
        yield url
    finally:
        stop_process(process)


def own_top_k(module: str, n: int) -> list[str]:
    """The test application's own retriever, run in this process: the ids it ranks first, in its order."""
    sys.path.insert(0, str(APPS))
    try:
        app: Any = __import__(module)
    finally:
        sys.path.remove(str(APPS))
    if module == "lc_app":
        return [doc.id for doc in app.retriever.invoke(QUERY, k=n)]
    app.retriever.similarity_top_k = n
    return [scored.node.node_id for scored in app.retriever.retrieve(QUERY)]


def label_first(settings: Settings, chunk_id: str) -> None:
    from reranklens.golden.store import GoldenStore

    golden = GoldenStore(settings.golden_db_path)
    golden.create_set("kb")
    golden.judge("kb", golden.add_query("kb", QUERY), "chunk", chunk_id, 3)


@pytest.mark.slow
@pytest.mark.parametrize(("spec", "convention_key"), [("lc_app:retriever", "source"), ("li_app:retriever", None)])
def test_a_served_framework_retriever_gives_its_own_top_k_and_evaluates(
    run: Run, settings: Settings, tmp_path: Path, test_cross_encoder_dir: Path, spec: str, convention_key: str | None
) -> None:
    with served(spec, tmp_path / "serve.log") as url:
        raw = httpx.post(url, json={"query": QUERY, "n": 3}, timeout=60).json()
        validate("response", raw)
        assert run("connect", url, "--name", "app", "--timeout", "60")[0] == 0
        code, out, err = run("query", QUERY, "-c", "app", "-n", "3", "--json")
        assert code == 0, err
        data = json.loads(out)
        expected = own_top_k(spec.split(":")[0], 3)
        assert [c["id"] for c in data["candidates"]] == expected == [c["id"] for c in raw["candidates"]]
        assert expected[0] == "reset-v24"
        if convention_key:  # LangChain's `source` is the document
            assert data["candidates"][0]["doc_id"] == raw["candidates"][0]["metadata"][convention_key]

        label_first(settings, data["candidates"][0]["chunk_id"])
        reranker = str(test_cross_encoder_dir)
        code, out, err = run(
            "eval", "-c", "app", "-g", "kb", "-n", "3", "--pipelines", f"live,live+rerank:{reranker}", "--json"
        )
        assert code == 0, err
        result = json.loads(out)
        assert list(result["pipelines"]) == ["live", f"live+rerank:{reranker}"] and result["live"] is True
        assert result["pipelines"]["live"]["R@1"] == 1.0  # their top-1 is the labelled chunk
        latency = result["latency_ms"]
        assert "endpoint" in latency["live"] and "rerank" in latency[f"live+rerank:{reranker}"]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("no_such_module_4711:retriever", "Cannot import module 'no_such_module_4711': ModuleNotFoundError"),
        ("os.path:no_such_attribute", "Module 'os.path' has no 'no_such_attribute'."),
        ("os.path:sep", "'os.path:sep' is a str: serve a LangChain BaseRetriever or VectorStore"),
        ("json:dumps", "Calling 'json:dumps' without arguments failed: TypeError"),
        ("retriever", "Name the retriever as module:object"),
    ],
)
def test_serve_retriever_refuses_what_it_cannot_serve_in_one_line(run: Run, spec: str, message: str) -> None:
    code, out, err = run("serve-retriever", spec, "--port", str(free_port()))
    assert code == 1 and out == "" and err.count("\n") == 1 and message in err, err


def test_a_connection_and_a_collection_never_share_a_name(run: Run, workspace: Workspace, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.md").write_text("Open Settings and click Reset to reset your password.\n")
    assert run("connect", "http://127.0.0.1:9/", "--name", "kb")[0] == 0
    code, _, err = run("ingest", str(docs), "--collection", "kb")
    assert code == 1 and "names a connected live retriever" in err and err.count("\n") == 1
    assert not workspace.store.exists("kb")
    assert run("ingest", str(docs), "--collection", "docs")[0] == 0
    code, _, err = run("connect", "http://127.0.0.1:9/", "--name", "docs")
    assert code == 1 and "A collection named 'docs' exists" in err and err.count("\n") == 1
