"""Server mode: with CHROMA_HOST set, collections live in a real ``chroma run`` server, and a
server that cannot be reached is one clear StoreUnavailableError."""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from reranklens.cli import main as cli
from reranklens.config import Settings
from reranklens.errors import StoreUnavailableError
from reranklens.workspace import Workspace

FIXTURE_DOCS = Path(__file__).parent / "fixtures" / "engine" / "docs"
STARTUP_DEADLINE_S = 60


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ChromaServer:
    port: int
    path: Path
    log: Path
    process: subprocess.Popen[bytes]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)


def start_chroma(root: Path) -> ChromaServer:
    port = free_port()
    log = root / "chroma.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            ["chroma", "run", "--path", str(root / "server-data"), "--host", "127.0.0.1", "--port", str(port)],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    server = ChromaServer(port, root / "server-data", log, process)
    deadline = time.monotonic() + STARTUP_DEADLINE_S
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"chroma run exited with {process.returncode}: {log.read_text(errors='replace')}")
        if _heartbeat_ok(port):
            return server
        if time.monotonic() > deadline:
            server.stop()
            raise RuntimeError(f"chroma run not ready after {STARTUP_DEADLINE_S} s: {log.read_text(errors='replace')}")
        time.sleep(0.1)  # polling interval, not a wait for readiness


def _heartbeat_ok(port: int) -> bool:
    """True once the server answers its heartbeat; a refused or dropped connection means not yet."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChromaServer]:
    server = start_chroma(tmp_path_factory.mktemp("chroma-server"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def server_settings(
    chroma_server: ChromaServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> Settings:
    monkeypatch.setenv("CHROMA_HOST", "127.0.0.1")
    monkeypatch.setenv("CHROMA_PORT", str(chroma_server.port))
    monkeypatch.setenv("RERANKLENS_DATA_DIR", str(tmp_path / "local-store"))
    return Settings.from_env()


@pytest.mark.slow
def test_settings_read_the_chroma_server_from_env(server_settings: Settings, chroma_server: ChromaServer) -> None:
    assert (server_settings.chroma_host, server_settings.chroma_port) == ("127.0.0.1", chroma_server.port)
    assert Workspace(server_settings).store.location == f"chroma server 127.0.0.1:{chroma_server.port}"


@pytest.mark.slow
def test_ingest_and_query_through_the_server(server_settings: Settings, chroma_server: ChromaServer) -> None:
    ws = Workspace(server_settings)
    report = ws.ingest([FIXTURE_DOCS], "served")
    assert report.documents == 3 and report.chunks_added == report.chunks_total > 0
    assert ws.search("reset my password", "served", candidates=3).hits[0].chunk.doc_id == "guide.md"
    assert [h.chunk.doc_id for h in ws.search("quokka", "served", mode="bm25").hits] == ["notes.txt"]
    # A second client of the same server sees the collection: it lives in the server, not here.
    other = Workspace(
        Settings(
            data_dir=server_settings.data_dir / "elsewhere", chroma_host="127.0.0.1", chroma_port=chroma_server.port
        )
    )
    assert other.store.info("served").chunk_count == report.chunks_total
    chroma_path = server_settings.chroma_path
    assert not chroma_path.exists() or not any(chroma_path.iterdir())
    assert chroma_server.path.is_dir() and any(chroma_server.path.iterdir())
    ws.delete_collection("served")
    assert "served" not in other.store.names()


@pytest.mark.slow
def test_cli_uses_the_server_from_env(
    server_settings: Settings, chroma_server: ChromaServer, capsys: pytest.CaptureFixture[str]
) -> None:
    server_settings.data_dir.mkdir(parents=True)
    (server_settings.data_dir / ".demo-ingested").touch()  # no first-run demo ingest into the server
    assert cli.main(["ingest", str(FIXTURE_DOCS / "notes.txt"), "-c", "served-cli"]) == 0
    capsys.readouterr()
    assert cli.main(["query", "quokka colony", "-c", "served-cli", "--json", "-n", "1"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["candidates"][0]["doc_id"] == "notes.txt", err
    assert not server_settings.chroma_path.exists()
    assert "served-cli" in Workspace(server_settings).store.names()


@pytest.mark.slow
def test_server_that_goes_away_is_store_unavailable(tmp_path: Path, settings: Settings) -> None:
    server = start_chroma(tmp_path)
    try:
        ws = Workspace(Settings(data_dir=tmp_path / "store", chroma_host="127.0.0.1", chroma_port=server.port))
        ws.ingest([FIXTURE_DOCS / "notes.txt"], "short-lived")
    finally:
        server.stop()
    with pytest.raises(StoreUnavailableError, match=f"127.0.0.1:{server.port}.*chroma run --port {server.port}"):
        ws.search("quokka", "short-lived")


def closed_port_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> tuple[Settings, int]:
    port = free_port()  # bound and released: nothing listens there
    monkeypatch.setenv("CHROMA_HOST", "127.0.0.1")
    monkeypatch.setenv("CHROMA_PORT", str(port))
    monkeypatch.setenv("RERANKLENS_DATA_DIR", str(tmp_path / "store"))
    return Settings.from_env(), port


def test_closed_port_is_store_unavailable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, settings: Settings) -> None:
    closed, port = closed_port_settings(monkeypatch, tmp_path)
    ws = Workspace(closed)
    with pytest.raises(StoreUnavailableError) as raised:
        ws.collections()
    message = str(raised.value)
    assert f"Cannot reach the Chroma server at 127.0.0.1:{port}" in message
    assert f"`chroma run --port {port}`" in message
    assert "unset CHROMA_HOST" in message
    with pytest.raises(StoreUnavailableError, match=f"127.0.0.1:{port}"):
        ws.ingest([FIXTURE_DOCS / "notes.txt"], "never-stored")
    assert not closed.chroma_path.exists()


def test_cli_with_closed_port_prints_one_error_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    _, port = closed_port_settings(monkeypatch, tmp_path)
    capsys.readouterr()
    code = cli.main(["collections"])
    out, err = capsys.readouterr()
    assert code == 1
    assert out == ""
    assert err.startswith(f"error: Cannot reach the Chroma server at 127.0.0.1:{port}")
    assert "chroma run" in err
    assert len(err.splitlines()) == 1
    assert "Traceback" not in err
