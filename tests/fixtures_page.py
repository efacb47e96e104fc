"""Fixtures shared by the page tests (AppTest and the real browser); test modules load them with
``pytest_plugins = ["fixtures_page"]``, so each session fixture is built once for both.

Ingesting the demo corpus costs tens of seconds of CPU, so one data dir is built per session and
every page test reads it: the demo in ``demo``, plus one hostile markdown document in ``xss``.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass
from pathlib import Path

import pytest

from reranklens.config import Settings
from reranklens.workspace import Workspace

LOG_TAIL_LINES = 60
_LOGS = pytest.StashKey[list[Path]]()


@dataclass(frozen=True)
class XssDoc:
    """A document whose text, heading included, is markup that must show as text on the page."""

    collection: str = "xss"
    img: str = "<img src=x onerror=alert(1)>"
    script: str = "<script>alert(2)</script>"
    heading: str = "<b onmouseover=alert(3)>Field notes</b>"
    query: str = "zebra migration river"

    @property
    def markdown(self) -> str:
        return (
            f"# {self.heading}\n\n{self.img}{self.script} Zebra herds cross the Mara river on their migration "
            "every summer, and the crossing is the most dangerous day of their year.\n"
        )


@pytest.fixture
def add_xss_neighbours(xss_doc: XssDoc, tmp_path: Path) -> Callable[[Workspace], None]:
    """Call it with a workspace: two plain documents join ``xss_doc`` in its collection there (enough chunks
    for an embedding map)."""

    def add(workspace: Workspace) -> None:
        _ingest_xss_neighbours(workspace, xss_doc, tmp_path)

    return add


def _ingest_xss_neighbours(workspace: Workspace, xss_doc: XssDoc, root: Path) -> None:
    docs = root / "xss-neighbours"
    docs.mkdir()
    (docs / "field-notes.md").write_text(xss_doc.markdown, encoding="utf-8")
    (docs / "lions.md").write_text("# Lions\n\nLions rest in the shade through the afternoon heat.\n", encoding="utf-8")
    (docs / "rivers.md").write_text("# Rivers\n\nThe Mara river floods after the long rains.\n", encoding="utf-8")
    workspace.ingest([docs], xss_doc.collection)


@pytest.fixture(scope="session")
def xss_doc() -> XssDoc:
    return XssDoc()


@pytest.fixture(scope="session")
def page_data_dir(tmp_path_factory: pytest.TempPathFactory, xss_doc: XssDoc) -> Path:
    """A data dir holding the ingested demo corpus (``demo``) and ``xss_doc`` (its own collection)."""
    root = tmp_path_factory.mktemp("page-data")
    docs = root / "xss-docs"
    docs.mkdir()
    (docs / "field-notes.md").write_text(xss_doc.markdown, encoding="utf-8")
    workspace = Workspace(Settings(data_dir=root / "store"))
    workspace.ingest_demo()
    workspace.ingest([docs], xss_doc.collection)
    return root / "store"


@pytest.fixture(scope="session")
def page_engine(page_data_dir: Path, test_cross_encoder_dir: Path) -> Workspace:
    """The engine on ``page_data_dir`` with the test cross-encoder: what a page should show,
    computed without the page (one workspace, so models load and scores are computed once)."""
    return Workspace(Settings(data_dir=page_data_dir, reranker=str(test_cross_encoder_dir)))


@pytest.fixture
def offline_page_env(
    page_data_dir: Path, test_cross_encoder_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> Generator[None, None, None]:
    """Pages run on the session's data dir with the test cross-encoder, offline, with no OpenAI or
    other foreign variables, and a workspace built afresh for the test."""
    from page_env import FOREIGN_ENV

    from components.shared.resources import get_workspace

    for name in (*FOREIGN_ENV, "OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_CHAT_MODEL", "RERANKLENS_OPENAI_PRICES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RERANKLENS_DATA_DIR", str(page_data_dir))
    monkeypatch.setenv("RERANKLENS_RERANKER", str(test_cross_encoder_dir))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    get_workspace.clear()
    yield
    get_workspace.clear()


@pytest.fixture
def show_log_on_failure(request: pytest.FixtureRequest) -> Callable[[Path], None]:
    """Call it with a log file (a server's output): if the test fails, the log's last lines are
    added to the failure report."""

    def attach(log: Path) -> None:
        request.node.stash.setdefault(_LOGS, []).append(log)

    return attach


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.failed:
        for log in item.stash.get(_LOGS, []):
            lines = log.read_text(encoding="utf-8", errors="replace").splitlines()[-LOG_TAIL_LINES:]
            report.sections.append((f"last {len(lines)} lines of {log}", "\n".join(lines)))
    return report
