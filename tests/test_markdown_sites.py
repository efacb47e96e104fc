"""Stored names and raw error text are shown as text on the pages: a judge model
name on Evaluate, a model source quoted by an error on Models. Every Markdown element is checked for
live link or image syntax and for autolinks that survive the escape."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from page_env import FOREIGN_ENV
from streamlit.testing.v1 import AppTest

from components.shared.resources import get_workspace
from reranklens.config import Settings
from reranklens.views.render import BREAK
from reranklens.workspace import Workspace

APP = Path(__file__).resolve().parents[1] / "app.py"
DOCS = Path(__file__).parent / "fixtures" / "engine" / "docs"
HOSTILE = "![](http://127.0.0.1:9/pixel.png) [Session expired](https://login.example) admin@evil.example"
MARKDOWN_KINDS = {"markdown", "caption", "error", "warning", "info", "success", "toast", "title", "subheader"}


def live_markup(source: str) -> list[str]:
    """Link or image syntax, or an autolink, that Markdown would make of ``source``."""
    found = re.findall(r"(?<!\\)\]\((?!\\)", source)
    plain = re.sub(r"\\(.)", r"\1", source)
    found += re.findall(rf"(?<!{BREAK})(?:://|@)|www(?!{BREAK})\.", plain, re.IGNORECASE)
    return found


def markdown_sources(at: AppTest) -> list[str]:
    def nodes(node: Any) -> Iterator[Any]:
        yield node
        for child in getattr(node, "children", {}).values():
            yield from nodes(child)

    return [n.value for n in nodes(at._tree) if getattr(n, "type", "") in MARKDOWN_KINDS]


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    for name in FOREIGN_ENV:
        monkeypatch.delenv(name, raising=False)
    data = tmp_path / "data"
    workspace = Workspace(Settings(data_dir=data))
    workspace.ingest([DOCS], "docs")
    (data / ".demo-ingested").touch()
    golden = workspace.golden
    golden.create_set("docs")
    query_id = golden.add_query("docs", "how do I reset my password")
    chunk = workspace.search("how do I reset my password", "docs", "vector", 5).hits[0].chunk.chunk_id
    golden.judge(
        "docs", query_id, "chunk", chunk, 2, who="ana", origin="suggestion", suggested_grade=2, suggested_by=HOSTILE
    )
    monkeypatch.setenv("RERANKLENS_DATA_DIR", str(data))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    get_workspace.clear()
    yield data
    get_workspace.clear()


def page(name: str) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=180)
    at.switch_page(f"pages/{name}.py")
    at.run()
    assert not at.exception, at.exception
    return at


def test_judge_model_names_on_evaluate_are_text(data_dir: Path) -> None:
    sources = markdown_sources(page("evaluate"))
    [judges] = [s for s in sources if s.startswith("Judge models:")]
    assert "Session expired" in judges
    assert [(s, live_markup(s)) for s in sources if live_markup(s)] == []


def test_errors_on_models_quote_the_input_as_text(data_dir: Path) -> None:
    at = page("models")
    at.text_input[0].input("mine")
    at.text_input[1].input("/" + HOSTILE)
    next(b for b in at.button if b.label == "Register").click()
    at.run()
    [error] = [e.value for e in at.error]
    assert "is not a directory" in error and "Session expired" in error
    assert [(s, live_markup(s)) for s in markdown_sources(at) if live_markup(s)] == []
