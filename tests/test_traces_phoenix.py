"""Pull spans from a real, local Arize Phoenix: ``phoenix serve`` on free loopback ports with its own
SQLite working dir, fed real OpenInference spans over OTLP/HTTP by a small instrumented retrieval, then
read back by ``reranklens traces import --from-phoenix URL --project P``."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from app_server import REPO, free_port, stop_process
from conftest import missing_environment
from fixtures_cli import Run
from openinference.instrumentation import TracerProvider
from openinference.semconv.resource import ResourceAttributes
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from otel_retrieval import KNOWLEDGE, QUESTIONS, support_bot
from phoenix.client import Client
from streamlit.testing.v1 import AppTest

from components.shared.resources import get_workspace
from reranklens.config import Settings
from reranklens.workspace import Workspace

pytest_plugins = ["fixtures_cli"]

pytestmark = pytest.mark.slow

PROJECT = "support-bot"
STARTUP_S = 240  # a cold Phoenix migrates its SQLite schema first (tens of seconds on 2 busy cores)
INGEST_S = 60


@pytest.fixture(scope="module")
def phoenix_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Phoenix server of its own, offline (no telemetry, no external resources), stopped after."""
    if importlib.util.find_spec("phoenix.server") is None:
        missing_environment("needs arize-phoenix (pip install -r requirements-dev.txt) to start a local Phoenix")
    work = tmp_path_factory.mktemp("phoenix")
    port = free_port()
    env = {name: value for name, value in os.environ.items() if not name.startswith(("PHOENIX_", "OTEL_"))}
    env |= {
        "PHOENIX_WORKING_DIR": str(work),
        "PHOENIX_SQL_DATABASE_URL": f"sqlite:///{work / 'phoenix.db'}",
        "PHOENIX_HOST": "127.0.0.1",
        "PHOENIX_PORT": str(port),
        "PHOENIX_GRPC_PORT": str(free_port()),
        "PHOENIX_TELEMETRY_ENABLED": "false",
        "PHOENIX_ALLOW_EXTERNAL_RESOURCES": "false",
    }
    url = f"http://127.0.0.1:{port}"
    log = work / "phoenix.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "phoenix.server.main", "serve"], env=env, stdout=output, stderr=subprocess.STDOUT
        )
    try:
        _wait_until_healthy(process, url, log)
        yield url
    finally:
        stop_process(process)


def _wait_until_healthy(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"phoenix serve exited with {process.returncode}:\n{_tail(log)}")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=5) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass  # not listening yet
        time.sleep(0.5)
    pytest.fail(f"phoenix serve was not healthy after {STARTUP_S} s:\n{_tail(log)}")


def shown_text(markdown: str) -> str:
    """Text a page escaped for Markdown (backslashes, zero-width spaces in URLs), as a person reads it."""
    return re.sub(r"\\(.)", r"\1", markdown).replace("\u200b", "")


def _tail(log: Path) -> str:
    return "\n".join(log.read_text(encoding="utf-8", errors="replace").splitlines()[-40:])


@pytest.fixture(scope="module")
def sent(phoenix_url: str) -> tuple[list[str], list[str]]:
    """Answer the questions with the instrumented app, exporting to Phoenix's OTLP/HTTP endpoint into
    ``PROJECT``; returns the answers and the trace ids, once Phoenix serves every span back."""
    url = phoenix_url
    sent = InMemorySpanExporter()  # what went out, to compare trace ids with
    provider = TracerProvider(resource=Resource({ResourceAttributes.PROJECT_NAME: PROJECT}))
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=f"{url}/v1/traces")))
    provider.add_span_processor(SimpleSpanProcessor(sent))
    answer = support_bot(provider.get_tracer("support-bot"))
    replies = [answer(question) for question in QUESTIONS]
    provider.shutdown()
    spans = sent.get_finished_spans()
    assert len(spans) == 6
    # Phoenix ingests in the background: wait until it serves all six spans.
    deadline = time.monotonic() + INGEST_S
    stored: list[object] = []
    while time.monotonic() < deadline and len(stored) < len(spans):
        try:
            stored = list(Client(base_url=url).spans.get_spans(project_identifier=PROJECT, limit=100))
        except httpx.HTTPStatusError:  # 404 until the project appears with its first span
            stored = []
        time.sleep(0.5)
    assert len(stored) == len(spans), f"Phoenix serves {len(stored)} of {len(spans)} spans after {INGEST_S} s"
    retrievals = [s for s in spans if s.name == "retrieve"]
    return replies, [format(s.context.trace_id, "032x") for s in retrievals]


def test_pull_spans_from_a_local_phoenix(
    phoenix_url: str, sent: tuple[list[str], list[str]], run: Run, tmp_path: Path
) -> None:
    replies, trace_ids = sent
    code, out, err = run("traces", "import", "--from-phoenix", phoenix_url, "--project", PROJECT, "--name", "px")
    assert code == 0, err
    assert out.startswith("Trace set 'px': 2 traces, 4 candidates imported in ")
    code, out, _ = run("traces", "show", "px", "--json")
    shown = json.loads(out)
    assert (shown["format"], shown["source"]) == ("openinference", f"phoenix {phoenix_url} project {PROJECT}")
    items = shown["items"]
    assert [item["query"] for item in items] == list(QUESTIONS)  # oldest first, as they were asked
    assert [item["trace_id"] for item in items] == trace_ids
    for item, reply in zip(items, replies, strict=True):
        assert [c["id"] for c in item["candidates"]] == ["kb-v1.0", "kb-v2.4"]  # the logged order
        assert [c["score"] for c in item["candidates"]] == [1.0, 0.9]
        assert [c["text"] for c in item["candidates"]] == [KNOWLEDGE["kb-v1.0"][0], KNOWLEDGE["kb-v2.4"][0]]
        assert item["candidates"][1]["metadata"] == {"source": "v2.4/password-reset.md"}
        assert item["answer"] == reply

    # Bad input: one line each, nothing imported.
    code, _, err = run("traces", "import", "--from-phoenix", phoenix_url, "--project", "nope", "--name", "x")
    assert code == 1 and err.count("\n") == 1 and f"Phoenix at {phoenix_url} has no project 'nope'" in err
    closed = f"http://127.0.0.1:{free_port()}"
    code, _, err = run("traces", "import", "--from-phoenix", closed, "--project", PROJECT, "--name", "x")
    assert code == 1 and err.count("\n") == 1 and f"Cannot reach Phoenix at {closed}" in err
    spans_file = tmp_path / "spans.jsonl"
    spans_file.write_text("{}\n")
    code, _, err = run("traces", "import", str(spans_file), "--from-phoenix", phoenix_url, "--name", "x")
    assert code == 1 and err.count("\n") == 1 and "not both" in err
    code, _, err = run(
        "traces", "import", "--from-phoenix", phoenix_url, "--project", PROJECT, "--format", "jsonl", "--name", "x"
    )
    assert code == 1 and err.count("\n") == 1 and "--format is for a trace FILE" in err
    code, _, err = run("traces", "import", str(spans_file), "--project", PROJECT, "--name", "x")
    assert code == 1 and err.count("\n") == 1 and "--project goes with --from-phoenix URL" in err
    code, _, err = run("traces", "import", "--name", "x")
    assert code == 1 and err.count("\n") == 1 and "--from-phoenix URL --project NAME" in err
    assert [s["name"] for s in json.loads(run("traces", "list", "--json")[1])] == ["px"]


def test_the_corpus_page_pulls_from_phoenix_and_refuses_in_one_line(
    phoenix_url: str, sent: tuple[list[str], list[str]], settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    (settings.data_dir / ".demo-ingested").touch()
    monkeypatch.setenv("RERANKLENS_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    get_workspace.clear()
    at = AppTest.from_file(str(REPO / "pages" / "corpus.py"), default_timeout=120).run()
    closed = f"http://127.0.0.1:{free_port()}"
    at.text_input(key="corpus.phoenix_url").input(closed)
    at.text_input(key="corpus.phoenix_project").input(PROJECT)
    at.text_input(key="corpus.phoenix_name").input("from-phoenix")
    next(b for b in at.button if b.label == "Pull from Phoenix").click()
    at.run()
    assert not at.exception
    (error,) = [shown_text(e.value) for e in at.error]
    assert error.startswith(f"Cannot reach Phoenix at {closed} (ConnectError)") and "\n" not in error
    assert at.text_input(key="corpus.phoenix_project").value == PROJECT  # what the person typed is kept
    assert Workspace(Settings.from_env()).traces.names() == []  # nothing half-written

    at.text_input(key="corpus.phoenix_url").input(phoenix_url)
    next(b for b in at.button if b.label == "Pull from Phoenix").click()
    at.run()
    assert not at.exception and not at.error
    assert any("Trace set 'from-phoenix': 2 traces, 4 candidates" in shown_text(s.value) for s in at.success)
    get_workspace.clear()
