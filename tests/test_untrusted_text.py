"""Untrusted text (documents, queries, golden-set names, query and target ids from imports) is never
interpreted as HTML or Markdown that can run script or load remote content: on every page (AppTest:
every Markdown element, every ``st.html`` body, every chart spec) and in the exported HTML and
Markdown reports. The real-browser check of the same data is in ``test_concurrency_browser.py``."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from page_env import FOREIGN_ENV
from streamlit.testing.v1 import AppTest

from components.shared.frame import PHONE_CSS
from components.shared.resources import get_workspace
from reranklens.config import Settings
from reranklens.golden.store import GoldenQuery, Judgement
from reranklens.views.render import markdown_escape
from reranklens.views.report import html_report, markdown_report
from reranklens.workspace import Workspace

APP = Path(__file__).resolve().parents[1] / "app.py"
FIXTURE_DOCS = Path(__file__).parent / "fixtures" / "engine" / "docs"
REMOTE = "http://127.0.0.1:9"  # nothing listens there: a request to it would be a leak, not a page
PAYLOADS = (
    f"![pixel]({REMOTE}/md-image.png)",
    "[click me](javascript:alert('md-link'))",
    f"<{REMOTE}/autolink>",
    "www.example.invalid/autolink",
    f"<img src={REMOTE}/img.png onerror=alert('img')>",
    "<script>alert('script')</script>",
    "<a href=\"javascript:alert('a')\">anchor</a>",
    f"<iframe src={REMOTE}/frame></iframe>",
    ":red[coloured] $x^2$ **bold** `code`",
)
HOSTILE_QUERY = "wallaby escape " + " ".join(PAYLOADS[:3])
HOSTILE_SET = "![set](javascript:alert('set-name'))"  # golden set names may hold anything but slashes
HOSTILE_TARGET = f"![orphan]({REMOTE.replace('/', '')}) <img src=x onerror=alert('orphan')>"

# Markdown constructs that must never appear unescaped in a Markdown element's source.
_MARKDOWN_DANGER = re.compile(r"(?<!\\)\]\((?!\\)|(?<!\\)<[A-Za-z/!?]|www\.(?!\\)")
# Elements and attributes that must never come out of HTML built from document text.
_DANGEROUS_TAGS = {"script", "img", "iframe", "a", "object", "embed", "link", "meta", "style", "svg", "form", "base"}


def html_dangers(markup: str) -> list[str]:
    """What a browser would run or load in ``markup``: dangerous elements, event handlers, URLs."""
    from bs4 import BeautifulSoup

    found = []
    for tag in BeautifulSoup(markup, "html.parser").find_all(True):
        if tag.name in _DANGEROUS_TAGS:
            found.append(f"<{tag.name}>")
        for attribute, value in tag.attrs.items():
            text = " ".join(value) if isinstance(value, list) else str(value)
            if attribute.startswith("on") or attribute in {"src", "href", "srcset", "action"} or "javascript:" in text:
                found.append(f"{tag.name}[{attribute}={text}]")
    return found


def hostile_markdown() -> str:
    lines = ["# Wallaby " + PAYLOADS[4], ""]
    lines += [f"The wallaby escape plan, part {i}: {payload}" for i, payload in enumerate(PAYLOADS)]
    return "\n\n".join(lines) + "\n"


def build_hostile_data(root: Path) -> Path:
    """A data dir with ``docs`` (the engine fixtures), ``hostile`` (markup everywhere) and a golden
    set with a hostile name, query text and orphaned target ids. Returns the data dir."""
    docs = root / "hostile-docs"
    docs.mkdir(parents=True)
    (docs / "wallaby.md").write_text(hostile_markdown(), encoding="utf-8")
    (docs / "![file](javascript:alert('file')).txt").write_text(
        "A wallaby escape through a hostile file name. " + PAYLOADS[0], encoding="utf-8"
    )
    data_dir = root / "store"
    ws = Workspace(Settings(data_dir=data_dir))
    ws.ingest([FIXTURE_DOCS], "docs")
    ws.ingest([docs], "hostile")
    ws.golden.write_set(
        HOSTILE_SET,
        [GoldenQuery("q-hostile", HOSTILE_QUERY, note=PAYLOADS[1]), GoldenQuery(PAYLOADS[5], "wallaby escape plan")],
        [
            Judgement("q-hostile", "chunk", HOSTILE_TARGET, 2, note=PAYLOADS[0]),
            Judgement("q-hostile", "doc", "wallaby.md", 3),
            Judgement(PAYLOADS[5], "doc", PAYLOADS[6], 1),
        ],
    )
    (data_dir / ".demo-ingested").touch()
    return data_dir


@pytest.fixture(scope="module")
def hostile_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_hostile_data(tmp_path_factory.mktemp("hostile"))


@pytest.fixture
def app_env(hostile_dir: Path, monkeypatch: pytest.MonkeyPatch, settings: Settings) -> Iterator[None]:
    for name in FOREIGN_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RERANKLENS_DATA_DIR", str(hostile_dir))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    get_workspace.clear()
    yield
    get_workspace.clear()


def nodes(node: Any) -> Iterator[Any]:
    yield node
    for child in getattr(node, "children", {}).values():
        yield from nodes(child)


def check_page(at: AppTest) -> int:
    """Assert nothing on the page can turn into markup; returns how many elements carried the payloads."""
    assert not at.exception, at.exception
    carrying = 0
    for node in nodes(at._tree):
        kind = getattr(node, "type", "")
        if kind in {"markdown", "caption", "error", "warning", "info", "success", "toast", "title", "subheader"}:
            source = node.value
            assert not _MARKDOWN_DANGER.search(source), (kind, source)
            carrying += "wallaby" in source.lower() or "alert" in source
        elif kind == "html" or (kind == "unknown" and hasattr(node.proto, "body")):
            body = node.proto.body
            if body == PHONE_CSS:
                continue  # the frame's own static style for phones: no document text in it
            assert html_dangers(body) == [], body
            carrying += "alert(" in body
        elif kind == "plotly_chart":
            spec = node.proto.spec
            assert not re.search(r"<(img|script|iframe|a)\b", spec), spec
    return carrying


def page(name: str, **params: str) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=180)
    at.switch_page(f"pages/{name}.py")
    for key, value in params.items():
        at.query_params[key] = value
    return at.run()


def test_explore_shows_hostile_documents_and_query_as_text(app_env: None) -> None:
    at = page("explore", q=HOSTILE_QUERY, collection="hostile", mode="hybrid")
    assert check_page(at) >= 2  # both columns carry the payloads, escaped
    bodies = [n.proto.body for n in nodes(at._tree) if getattr(n, "type", "") == "html"]
    assert any("&lt;script&gt;" in b and "&lt;ifra" in b for b in bodies)


def test_label_page_shows_hostile_set_query_and_orphans_as_text(app_env: None) -> None:
    at = page("label", q=HOSTILE_QUERY, collection="hostile", set=HOSTILE_SET)
    # The orphans warning and the three candidates to grade (wallaby chunks with the payloads) carry them.
    assert check_page(at) >= 4
    [orphans] = [w.value for w in at.warning if "no longer exist" in w.value]
    assert markdown_escape(HOSTILE_TARGET) in orphans
    assert at.selectbox(key="label.golden_set").value == HOSTILE_SET  # shown as the plain set name


def test_evaluate_page_shows_hostile_ids_as_text(app_env: None) -> None:
    at = page("evaluate")
    at.selectbox[0].set_value("hostile")
    at.selectbox[1].set_value(HOSTILE_SET)
    at.sidebar.multiselect[0].set_value(["vector", "bm25"])
    at.run()
    next(b for b in at.button if b.label == "Run evaluation").click()
    at.run()
    # The hostile set name (in the agreement caption) and the hostile query id (in the skipped list).
    assert check_page(at) >= 2
    skipped = [c.value for c in at.caption if c.value.startswith("skipped")]
    assert any(markdown_escape(PAYLOADS[5]) in line for line in skipped), skipped


def test_errors_quoting_user_text_are_escaped(app_env: None) -> None:
    at = page("explore", q="wallaby", collection="hostile")
    assert check_page(at) >= 2  # both ranking columns show the hostile wallaby document
    # Hostile and over the limit: an error quoting nothing but a count, so no element carries the payloads.
    too_long = HOSTILE_QUERY + " " + "x" * 2001
    at.text_input[0].input("  " + too_long)
    at.run()
    assert check_page(at) == 0
    [error] = at.error
    assert error.value.startswith(markdown_escape(f"The query is {len(too_long):,} characters long"))


def test_exported_reports_carry_the_payloads_only_as_text(hostile_dir: Path) -> None:
    ws = Workspace(Settings(data_dir=hostile_dir))
    view, _ = ws.explore(HOSTILE_QUERY, "hostile", "hybrid", 20, 3)
    assert any("alert(" in row.chunk.text for row in view.rows)
    report = html_report(view)
    body = report.split("<body>", 1)[1]
    assert html_dangers(body) == []
    assert "default-src 'none'" in report  # and the browser may not load anything even if it tried
    assert "&lt;img src=http://127.0.0.1:9/img.png onerror=alert(&#x27;img&#x27;)&gt;" in body
    markdown = markdown_report(view)
    assert not re.search(r"(?<!\\)\]\(|<[A-Za-z/!?]|www\.", markdown), markdown
    assert "alert" in markdown
