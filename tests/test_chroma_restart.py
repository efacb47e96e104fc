"""Server mode: a ``chroma run`` server killed mid-session gives one clear StoreUnavailableError (the
page shows it, no traceback), and the same Workspace and app recover when it is back on the same
port and path, without a restart."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from page_env import FOREIGN_ENV
from streamlit.testing.v1 import AppTest
from test_store_server import STARTUP_DEADLINE_S, ChromaServer, _heartbeat_ok, free_port

from components.shared.resources import get_workspace
from reranklens.config import Settings
from reranklens.errors import StoreUnavailableError
from reranklens.views.render import markdown_escape
from reranklens.workspace import Workspace

pytestmark = pytest.mark.slow

FIXTURE_DOCS = Path(__file__).parent / "fixtures" / "engine" / "docs"
APP = Path(__file__).resolve().parents[1] / "app.py"
QUERY = "reset my password"


def run_chroma(port: int, path: Path, log: Path) -> ChromaServer:
    with log.open("ab") as output:
        process = subprocess.Popen(
            ["chroma", "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    server = ChromaServer(port, path, log, process)
    deadline = time.monotonic() + STARTUP_DEADLINE_S
    while not _heartbeat_ok(port):
        if process.poll() is not None or time.monotonic() > deadline:
            server.stop()
            pytest.fail(f"chroma run did not start on port {port}: {log.read_text(errors='replace')[-2000:]}")
        time.sleep(0.1)  # polling interval, not a wait for readiness
    return server


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ChromaServer]:
    running = run_chroma(free_port(), tmp_path / "server-data", tmp_path / "chroma.log")
    yield running
    running.stop()


def kill(server: ChromaServer) -> None:
    server.process.kill()  # SIGKILL: no graceful shutdown
    server.process.wait(timeout=30)


def test_workspace_reports_a_dead_server_and_recovers_when_it_is_back(server: ChromaServer, tmp_path: Path) -> None:
    ws = Workspace(Settings(data_dir=tmp_path / "local", chroma_host="127.0.0.1", chroma_port=server.port))
    ws.ingest([FIXTURE_DOCS], "served")
    before = [h.chunk.chunk_id for h in ws.search(QUERY, "served", "hybrid", 5).hits]

    kill(server)
    for call in (lambda: ws.search(QUERY, "served"), ws.collections, lambda: ws.store.info("served")):
        with pytest.raises(StoreUnavailableError) as raised:
            call()
        message = str(raised.value)
        assert message == (
            f"Cannot reach the Chroma server at 127.0.0.1:{server.port} ({type(raised.value.__cause__).__name__}): "
            f"start it with `chroma run --port {server.port}` or unset CHROMA_HOST to use the local store."
        )

    restarted = run_chroma(server.port, server.path, server.log)
    try:
        after = [h.chunk.chunk_id for h in ws.search(QUERY, "served", "hybrid", 5).hits]
        assert after == before
        assert [c.name for c in ws.collections()] == ["served"]
        assert ws.ingest([FIXTURE_DOCS], "served").chunks_added == 0  # writes work again too
    finally:
        restarted.stop()


@pytest.fixture
def app_on_server(
    server: ChromaServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> Iterator[ChromaServer]:
    for name in FOREIGN_ENV:
        monkeypatch.delenv(name, raising=False)
    data_dir = tmp_path / "app-data"
    monkeypatch.setenv("RERANKLENS_DATA_DIR", str(data_dir))
    monkeypatch.setenv("CHROMA_HOST", "127.0.0.1")
    monkeypatch.setenv("CHROMA_PORT", str(server.port))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    Workspace(Settings.from_env()).ingest([FIXTURE_DOCS], "served")
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / ".demo-ingested").touch()  # keep the demo out of the server
    get_workspace.clear()
    yield server
    get_workspace.clear()


def explore(query: str) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=180)
    at.query_params["q"] = query
    at.query_params["collection"] = "served"
    at.query_params["mode"] = "hybrid"
    return at.run()


def test_page_shows_the_outage_in_one_line_and_recovers(app_on_server: ChromaServer) -> None:
    server = app_on_server
    at = explore(QUERY)
    assert not at.exception and not at.error
    assert any("rl-row" in h.proto.body for h in at.get("html"))
    workspace = get_workspace()

    kill(server)
    at = explore(QUERY)
    assert not at.exception  # no traceback on the page
    [error] = at.error
    # shown through markdown_escape: the rendered text is the engine's message, character for character
    assert error.value.startswith(markdown_escape(f"Cannot reach the Chroma server at 127.0.0.1:{server.port} ("))
    assert markdown_escape(f"`chroma run --port {server.port}`") in error.value and "\n" not in error.value
    assert not any("rl-row" in h.proto.body for h in at.get("html"))

    restarted = run_chroma(server.port, server.path, server.log)
    try:
        at = explore(QUERY)
        assert not at.exception and not at.error
        assert any("rl-row" in h.proto.body for h in at.get("html"))
        assert get_workspace() is workspace  # the same cached workspace recovered: no app restart
    finally:
        restarted.stop()
