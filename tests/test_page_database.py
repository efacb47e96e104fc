"""The shared state on PostgreSQL from the pages: a database that goes away is one clear line at the top of the
page (no traceback), and the same server process recovers once it is back, as with a Chroma server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from page_env import FOREIGN_ENV
from streamlit.testing.v1 import AppTest

from components.shared import keys
from components.shared.resources import get_workspace
from reranklens import database
from reranklens.golden.store import GoldenStore
from reranklens.views.render import markdown_escape

if TYPE_CHECKING:
    from fixtures_postgres import PostgresServer

pytest_plugins = ["fixtures_postgres"]

LABEL = Path(__file__).resolve().parents[1] / "pages" / "label.py"


@pytest.fixture
def app_on_postgres(tmp_path: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    for name in FOREIGN_ENV:
        monkeypatch.delenv(name, raising=False)
    data_dir = tmp_path / "app-data"
    data_dir.mkdir()
    (data_dir / ".demo-ingested").touch()  # no demo ingest, no model: the page stops at "no collections"
    monkeypatch.setenv("RERANKLENS_DATA_DIR", str(data_dir))
    monkeypatch.setenv(database.URL_ENV, postgres_url)
    GoldenStore(data_dir / "golden.sqlite").create_set("team-set")
    get_workspace.clear()
    yield data_dir
    get_workspace.clear()


def label_page() -> AppTest:
    return AppTest.from_file(str(LABEL), default_timeout=120).run()


def test_label_page_shows_the_outage_in_one_line_and_recovers(
    app_on_postgres: Path, postgres_server: PostgresServer
) -> None:
    at = label_page()
    assert not at.exception and not at.error
    assert at.selectbox(key=keys.LABEL_SET).options == ["team-set"]  # the set lives in PostgreSQL
    assert not (app_on_postgres / "golden.sqlite").exists()

    postgres_server.stop()
    try:
        at = label_page()
        assert not at.exception  # no traceback on the page
        [error] = at.error
        assert error.value.startswith(
            markdown_escape(f"The database at postgresql+psycopg://postgres@127.0.0.1:{postgres_server.port}/")
        )
        assert "reconnects by itself" in error.value and "\n" not in error.value
    finally:
        postgres_server.start()
    at = label_page()
    assert not at.exception and not at.error
    assert at.selectbox(key=keys.LABEL_SET).options == ["team-set"]
