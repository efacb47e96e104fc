"""Bad uploads on the Corpus page (battery row 29, see ``test_robustness_input``).

AppTest cannot drive ``st.file_uploader``, so the page is driven through its "folder on the server"
source with every bad file of the battery, and uploaded file names (the part of an upload the page
turns into a path) are checked through the function the page uses for them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from page_env import FOREIGN_ENV
from streamlit.testing.v1 import AppTest
from test_robustness_input import BAD_FILES, GOOD_TEXT

from components.corpus import collections as corpus_collections
from components.shared import keys
from components.shared.resources import get_workspace
from reranklens.errors import InvalidInputError
from reranklens.ingest.readers import discover_files
from reranklens.views.render import markdown_escape

PAGE = Path(__file__).resolve().parents[1] / "pages" / "corpus.py"
_MARKDOWN_DANGER = re.compile(r"(?<!\\)\]\((?!\\)|(?<!\\)<[A-Za-z/!?]|www\.(?!\\)")


@pytest.fixture
def corpus_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    for name in (*FOREIGN_ENV, "OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    data_dir = tmp_path / "store"
    data_dir.mkdir()
    (data_dir / ".demo-ingested").touch()
    monkeypatch.setenv("RERANKLENS_DATA_DIR", str(data_dir))
    monkeypatch.setenv("RERANKLENS_MAX_FILE_MB", "1")
    monkeypatch.setenv("RERANKLENS_INGEST_ROOTS", str(tmp_path))  # the page ingests only inside allowed roots
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    get_workspace.clear()
    yield data_dir
    get_workspace.clear()


@pytest.fixture
def messy(tmp_path: Path) -> Path:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.md").write_text("The outside secret.\n")
    folder = tmp_path / "messy"
    folder.mkdir()
    (folder / "good.md").write_text("# Quokkas\n\n" + GOOD_TEXT)
    (folder / "[x](javascript:alert(1)).md").write_text(GOOD_TEXT)  # a hostile but legal name
    for name, (make, _) in BAD_FILES.items():
        make(folder / name, outside)
    return folder


def test_corpus_page_ingests_the_good_files_and_lists_each_bad_one(corpus_env: Path, messy: Path) -> None:
    assert PAGE.is_file()
    at = AppTest.from_file(str(PAGE), default_timeout=180).run()
    at.text_input(key=keys.CORPUS_NEW_NAME).input("messy")
    at.radio(key=keys.CORPUS_SOURCE).set_value(corpus_collections.FOLDER)
    at.run()
    at.text_input(key=keys.CORPUS_FOLDER).input(str(messy))
    at.run()
    at.button(key="corpus.ingest").click()
    at.run()

    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    [success] = at.success
    assert "Collection 'messy': 2 documents" in success.value
    assert any(f"{len(BAD_FILES)} file(s) skipped" in w.value for w in at.warning)
    listing = "\n".join(t.value for t in at.text)
    assert len(listing.splitlines()) == len(BAD_FILES)  # one line each, control characters escaped
    for _, fragment in BAD_FILES.values():
        assert fragment in listing
    assert "\x1b" not in listing
    for element in [*at.markdown, *at.caption, *at.warning, *at.success, *at.info]:
        assert not _MARKDOWN_DANGER.search(element.value), element.value


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("../../etc/passwd.md", "passwd.md"),
        ("C:\\Users\\ana\\notes.md", "notes.md"),
        ("docs/sub/page.html", "page.html"),
        ("new\nline.md", "new\nline.md"),  # kept; the ingest then skips it ("rename it")
    ],
)
def test_uploaded_file_names_never_leave_the_upload_folder(sent: str, stored: str, tmp_path: Path) -> None:
    name = corpus_collections._upload_name(sent)
    assert name == stored and "/" not in name
    (tmp_path / name).write_text(GOOD_TEXT)
    assert (tmp_path / name).resolve().parent == tmp_path.resolve()
    files, skipped = discover_files(tmp_path)
    if "\n" in name:
        assert files == [] and "rename it" in skipped[0] and "\n" not in skipped[0]
    else:
        assert [f.doc_id for f in files] == [stored]


@pytest.mark.parametrize("sent", ["", "..", ".hidden.md", "a/.env"])
def test_unusable_uploaded_file_names_are_refused_in_one_line(sent: str) -> None:
    with pytest.raises(InvalidInputError, match="rename the file") as raised:
        corpus_collections._upload_name(sent)
    assert "\n" not in str(raised.value)


def test_a_beir_folder_with_a_hostile_name_is_reported_as_text(corpus_env: Path, tmp_path: Path) -> None:
    folder = tmp_path / "![x](javascript:alert(1)) <img src=x onerror=alert(2)>"
    folder.mkdir()
    (folder / "corpus.jsonl").write_text('{"_id": "d1", "text": "Quokkas live on Rottnest Island."}\n')
    (folder / "queries.jsonl").write_text('{"_id": "q1", "text": "where do quokkas live"}\n')
    (folder / "qrels.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\t2\nq1\td9\tlots\n")
    at = AppTest.from_file(str(PAGE), default_timeout=180).run()
    at.text_input(key=keys.CORPUS_NEW_NAME).input("beir-hostile")
    at.radio(key=keys.CORPUS_SOURCE).set_value(corpus_collections.FOLDER)
    at.run()
    at.text_input(key=keys.CORPUS_FOLDER).input(str(folder))
    at.run()
    at.button(key="corpus.ingest").click()
    at.run()

    assert not at.exception and not at.error
    [golden] = [c.value for c in at.caption if c.value.startswith("Golden set")]
    assert golden.startswith(f"Golden set '{markdown_escape(folder.name)}': 1 queries, 1 judgements")
    assert "qrels.tsv:3: skipped, grade 'lots' is not a number" in "\n".join(t.value for t in at.text)
    for element in [*at.markdown, *at.caption, *at.warning, *at.success, *at.info]:
        assert not _MARKDOWN_DANGER.search(element.value), element.value
