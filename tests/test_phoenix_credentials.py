"""A Phoenix pull sends the server's Phoenix credentials (``PHOENIX_API_KEY``, ``PHOENIX_CLIENT_HEADERS``)
only to the Phoenix the server's owner configured (``RERANKLENS_PHOENIX_URL``), never to a typed URL, and
never turns a URL's ``user:password@`` into Basic auth. A URL that is not Phoenix is one line, on the CLI
and on the Corpus page. The Phoenix here is a local HTTP server that answers Phoenix's two REST calls and
records every request's headers (a real Phoenix is pulled from in ``test_traces_phoenix.py``)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import pytest
from recording_server import RecordingServer
from test_page_traces import page, run_ok, submit, trace_env, unescaped  # noqa: F401 - trace_env: a fixture

from reranklens.cli import main as cli
from reranklens.config import Settings
from reranklens.workspace import Workspace

Run = Callable[..., tuple[int, str, str]]
PROJECT = "support"
KEY = "px-server-secret"
SPAN = {
    "name": "retrieve",
    "context": {"trace_id": "0af7651916cd43dd8448eb211c80319c", "span_id": "b7ad6b7169203331"},
    "span_kind": "RETRIEVER",
    "parent_id": None,
    "start_time": "2026-12-01T10:00:00+00:00",
    "end_time": "2026-12-01T10:00:01+00:00",
    "status_code": "OK",
    "status_message": "",
    "attributes": {
        "input.value": "How do I reset my password?",
        "retrieval.documents": [
            {"document.id": "kb-1", "document.content": "Open settings, choose reset.", "document.score": 0.9}
        ],
    },
    "events": [],
}


def phoenix_routes() -> dict[str, tuple[int, str, bytes]]:
    spans = json.dumps({"data": [SPAN], "next_cursor": None}).encode()
    return {
        "/arize_phoenix_version": (200, "text/plain", b"20.26.1"),
        f"/v1/projects/{PROJECT}/spans": (200, "application/json", spans),
    }


@pytest.fixture
def phoenix() -> Iterator[RecordingServer]:
    with RecordingServer(phoenix_routes()) as server:
        yield server


@pytest.fixture
def not_phoenix() -> Iterator[RecordingServer]:
    with RecordingServer({"/": (200, "text/html", b"<html><body>Welcome to nginx!</body></html>")}) as server:
        yield server


@pytest.fixture
def cli_env(settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Run:
    """The server's own Phoenix credentials in the environment, as a team's deployment would have them."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    (settings.data_dir / ".demo-ingested").touch()
    monkeypatch.setenv("PHOENIX_API_KEY", KEY)
    monkeypatch.setenv("PHOENIX_CLIENT_HEADERS", "x-team-token=px-header-secret")
    monkeypatch.delenv("RERANKLENS_PHOENIX_URL", raising=False)

    def invoke(*argv: str) -> tuple[int, str, str]:
        code = cli.main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    return invoke


def test_a_typed_phoenix_url_gets_no_server_credentials(
    phoenix: RecordingServer, cli_env: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    typed = f"http://someone:hunter2@127.0.0.1:{phoenix.port}"
    code, out, err = cli_env("traces", "import", "--from-phoenix", typed, "--project", PROJECT, "--name", "typed")
    assert code == 0, err
    assert out.startswith("Trace set 'typed': 1 traces, 1 candidates")
    assert len(phoenix.requests) >= 2  # the version, then the spans
    assert phoenix.header_values("authorization") == []  # no Bearer key, no Basic auth from the URL
    assert phoenix.header_values("x-team-token") == []
    sources = {s["name"]: s["source"] for s in json.loads(cli_env("traces", "list", "--json")[1])}
    assert sources == {"typed": f"phoenix {phoenix.url} project {PROJECT}"}  # the password is not stored

    # The Phoenix the owner configured gets the key (a trailing slash is the same address).
    phoenix.requests.clear()
    monkeypatch.setenv("RERANKLENS_PHOENIX_URL", phoenix.url + "/")
    code, _, err = cli_env("traces", "import", "--from-phoenix", phoenix.url, "--project", PROJECT, "--name", "ours")
    assert code == 0, err
    assert set(phoenix.header_values("authorization")) == {f"Bearer {KEY}"}
    assert len(phoenix.header_values("authorization")) == len(phoenix.requests)

    # Another port on the same host is another address: no key.
    with RecordingServer(phoenix_routes()) as other:
        code, _, err = cli_env("traces", "import", "--from-phoenix", other.url, "--project", PROJECT, "--name", "o")
        assert code == 0, err
        assert other.requests and other.header_values("authorization") == []


def test_a_url_that_is_not_phoenix_is_one_line_on_the_cli(not_phoenix: RecordingServer, cli_env: Run) -> None:
    code, out, err = cli_env("traces", "import", "--from-phoenix", not_phoenix.url, "--project", "p", "--name", "x")
    assert (code, out) == (1, "")
    assert err == f"error: {not_phoenix.url} does not answer as Phoenix does: check the URL " + (
        "(Phoenix's own, e.g. http://127.0.0.1:6006); nothing was imported.\n"
    )
    assert json.loads(cli_env("traces", "list", "--json")[1]) == []


@pytest.mark.usefixtures("trace_env")
def test_the_corpus_page_refuses_a_non_phoenix_url_and_other_hosts_in_one_line(not_phoenix: RecordingServer) -> None:
    at = run_ok(page("corpus"))
    at.text_input(key="corpus.phoenix_url").input(not_phoenix.url)
    at.text_input(key="corpus.phoenix_project").input("default")
    at.text_input(key="corpus.phoenix_name").input("from-phoenix")
    submit(at, "Pull from Phoenix")
    (error,) = [unescaped(e.value).replace("\u200b", "") for e in at.error]
    assert error.startswith(f"{not_phoenix.url} does not answer as Phoenix does") and "\n" not in error

    not_phoenix.requests.clear()
    at.text_input(key="corpus.phoenix_url").input("http://phoenix.internal:6006")
    submit(at, "Pull from Phoenix")
    (error,) = [unescaped(e.value).replace("\u200b", "") for e in at.error]
    assert error.startswith("This server may not connect to 'phoenix.internal'") and "RERANKLENS_ATTACH_HOSTS" in error
    assert Workspace(Settings.from_env()).traces.names() == []
