"""API keys come from the environment (or Streamlit secrets, which Streamlit exports to it) and are
never written to the data dir, logs, exports or error messages, even at ``--debug`` and even when a
server echoes the key back in its error body."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from openai_server import OpenAIStubServer
from page_env import FOREIGN_ENV
from streamlit.testing.v1 import AppTest

from components.shared.resources import get_workspace
from reranklens.cli import main as cli
from reranklens.config import Settings
from reranklens.views.report import html_report, markdown_report, view_records

pytest_plugins = ["fixtures_page"]

OPENAI_KEY = "sk-rlfake-SECRET-7f3a9c1e5b44d0"
RERANK_KEY = "rk-rlfake-SECRET-rerank-91c2e8"
KEYS = (OPENAI_KEY, RERANK_KEY)
FIXTURE_DOCS = Path(__file__).parent / "fixtures" / "engine" / "docs"
APP = Path(__file__).resolve().parents[1] / "app.py"


def leaks(text: str | bytes) -> list[str]:
    """The keys (or a 12-character piece of one, as servers echo them) found in ``text``."""
    data = text.encode("utf-8", "replace") if isinstance(text, str) else text
    return [key for key in KEYS for i in range(len(key) - 11) if key[i : i + 12].encode() in data][:1]


def rendered(node: Any) -> Iterator[str]:
    """Every element's protobuf, as text, under an AppTest tree node."""
    if getattr(node, "proto", None) is not None:
        yield str(node.proto)
    for child in getattr(node, "children", {}).values():
        yield from rendered(child)


def files_under(folder: Path) -> Iterator[Path]:
    return (p for p in folder.rglob("*") if p.is_file())


class _EchoKeyHandler(BaseHTTPRequestHandler):
    """Answers every POST with 401 and an error body quoting the Authorization header, like some
    real APIs do with a key they reject."""

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        """Silence the default per-request line on stderr."""

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        auth = self.headers.get("Authorization", "")
        body = json.dumps({"error": {"message": f"Incorrect API key provided: {auth}", "code": "invalid_api_key"}})
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())


@pytest.fixture(scope="module")
def echo_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _EchoKeyHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def openai_stub() -> Iterator[OpenAIStubServer]:
    with OpenAIStubServer(api_key=OPENAI_KEY) as server:
        yield server


@pytest.fixture
def keyed_env(settings: Settings, monkeypatch: pytest.MonkeyPatch, openai_stub: OpenAIStubServer) -> Settings:
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", openai_stub.base_url)
    monkeypatch.setenv("RERANKLENS_RERANK_API_KEY", RERANK_KEY)
    return Settings.from_env()


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    capsys.readouterr()
    code = cli.main(["--debug", *argv])
    out, err = capsys.readouterr()
    return code, out + err


def test_settings_never_show_the_keys(keyed_env: Settings) -> None:
    assert keyed_env.openai_api_key == OPENAI_KEY and keyed_env.rerank_api_key == RERANK_KEY
    assert leaks(repr(keyed_env)) == [] and leaks(str(keyed_env)) == []


def test_cli_work_with_keys_leaves_them_nowhere(
    keyed_env: Settings,
    openai_stub: OpenAIStubServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    data_dir = keyed_env.data_dir
    data_dir.mkdir(parents=True)
    (data_dir / ".demo-ingested").touch()
    golden = tmp_path / "set.jsonl"
    judgement = {"level": "doc", "target_id": "guide.md", "grade": 3}
    golden.write_text(json.dumps({"query_id": "q1", "text": "reset password", "judgements": [judgement]}) + "\n")
    outputs = []
    for argv in (
        ["ingest", str(FIXTURE_DOCS), "-c", "keyed", "--embedder", "openai:text-embedding-3-small"],
        ["query", "reset my password", "-c", "keyed", "--json"],
        ["collections", "--json"],
        ["golden", "import", str(golden), "--name", "keyed"],
        ["golden", "export", "keyed", "--format", "csv", "--out", str(tmp_path / "out.csv")],
        ["eval", "-c", "keyed", "-g", "keyed", "--pipelines", "vector,bm25", "--save", "with-keys"],
    ):
        code, output = run(capsys, *argv)
        assert code == 0, (argv, output)
        outputs.append(output)
    assert openai_stub.requests and all(r["authorization"] == f"Bearer {OPENAI_KEY}" for r in openai_stub.requests)
    assert leaks("\n".join(outputs)) == []
    assert leaks(caplog.text) == []
    written = [*files_under(data_dir), tmp_path / "out.csv"]
    assert any(p.name == "golden.sqlite" for p in written) and any(p.name == "runs.sqlite" for p in written)
    assert [str(p) for p in written if leaks(p.read_bytes())] == []


def test_rejected_keys_are_not_echoed_in_errors(
    keyed_env: Settings,
    echo_server: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("OPENAI_BASE_URL", echo_server + "/v1")
    monkeypatch.setenv("RERANKLENS_RERANK_URL", echo_server)
    keyed_env.data_dir.mkdir(parents=True)
    (keyed_env.data_dir / ".demo-ingested").touch()
    openai = "openai:text-embedding-3-small"
    code, output = run(capsys, "ingest", str(FIXTURE_DOCS), "-c", "rejected", "--embedder", openai)
    assert code == 1 and "OpenAI rejected the API key (401)" in output
    code, local = run(capsys, "ingest", str(FIXTURE_DOCS / "notes.txt"), "-c", "local")
    assert code == 0, local
    code, reranked = run(capsys, "query", "quokka", "-c", "local", "--rerank", "--reranker", "http:rerank-v3.5")
    assert code == 1 and "401" in reranked, reranked
    assert leaks(output + reranked) == []
    assert leaks(caplog.text) == []
    assert [str(p) for p in files_under(keyed_env.data_dir) if leaks(p.read_bytes())] == []


@pytest.fixture
def app_env(page_data_dir: Path, monkeypatch: pytest.MonkeyPatch, settings: Settings) -> Iterator[None]:
    for name in FOREIGN_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RERANKLENS_DATA_DIR", str(page_data_dir))
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY)
    monkeypatch.setenv("RERANKLENS_RERANK_API_KEY", RERANK_KEY)
    monkeypatch.setenv("RERANKLENS_RERANK_URL", "http://127.0.0.1:9")  # nothing listens: the error path
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    get_workspace.clear()
    yield
    get_workspace.clear()


def test_pages_and_exports_never_show_the_keys(app_env: None, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    shown: list[str] = []
    for page, params in (
        ("explore", {"q": "How do I reset my password in v2.4?"}),
        ("explore", {"q": "reset password", "reranker": "http:rerank-v3.5"}),
        ("label", {"q": "reset password", "set": "demo"}),
        ("evaluate", {}),
    ):
        at = AppTest.from_file(str(APP), default_timeout=180)
        at.switch_page(f"pages/{page}.py")
        for name, value in params.items():
            at.query_params[name] = value
        at.run()
        assert not at.exception, (page, at.exception)
        shown += list(rendered(at._tree))
    assert leaks("\n".join(shown)) == []
    assert leaks(caplog.text) == []
    view, _ = get_workspace().explore("reset password", "demo", "vector", 10, 3)
    assert leaks(html_report(view) + markdown_report(view) + json.dumps(view_records(view), default=str)) == []
