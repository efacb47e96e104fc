"""Errors a user can cause, raised by the engine with a message that says how to fix it, and
nothing half-written: a failed ingest leaves no collection behind, or the old one unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest

from reranklens.config import Settings
from reranklens.errors import (
    EmptyQueryError,
    InvalidInputError,
    MissingOpenAIKeyError,
    NoDocumentsError,
    UnknownCollectionError,
    UnreadableFileError,
)
from reranklens.workspace import Workspace

FIXTURE_DOCS = Path(__file__).parent / "fixtures" / "engine" / "docs"


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    workspace = Workspace(Settings(data_dir=tmp_path_factory.mktemp("errors") / "store"))
    workspace.ingest([FIXTURE_DOCS / "notes.txt"], "known")
    return workspace


@pytest.fixture
def bad_files(tmp_path: Path) -> dict[str, Path]:
    files = {
        "nul": tmp_path / "binary.txt",
        "latin1": tmp_path / "latin1.txt",
        "empty_dir": tmp_path / "empty",
        "unsupported_dir": tmp_path / "unsupported",
    }
    files["nul"].write_bytes(b"looks like text\x00\x01\x02 but is not")
    files["latin1"].write_bytes("Caf\xe9 cr\xe8me".encode("latin-1"))
    files["empty_dir"].mkdir()
    files["unsupported_dir"].mkdir()
    (files["unsupported_dir"] / "image.png").write_bytes(b"\x89PNG\r\n")
    return files


def snapshot(ws: Workspace, name: str) -> tuple[set[str], str, int]:
    return (
        {c.chunk_id for c in ws.store.all_chunks(name).chunks},
        ws.store.metadata(name)["revision"],
        ws.store.info(name).chunk_count,
    )


def test_unknown_collection(ws: Workspace) -> None:
    message = (
        r"No collection named 'missing' \(existing: known\)\. "
        r"Create it with: reranklens ingest PATH --collection missing"
    )
    for mode in ("vector", "bm25", "hybrid"):
        with pytest.raises(UnknownCollectionError, match=message):
            ws.search("quokka", "missing", mode=mode)
    with pytest.raises(UnknownCollectionError, match=message):
        ws.store.info("missing")
    with pytest.raises(UnknownCollectionError, match=message):
        ws.delete_collection("missing")
    assert ws.store.names() == ["known"]


def test_unknown_collection_in_an_empty_store(tmp_path: Path) -> None:
    empty = Workspace(Settings(data_dir=tmp_path / "store"))
    with pytest.raises(UnknownCollectionError, match=r"\(existing: none yet\)"):
        empty.search("anything", "missing", mode="bm25")


@pytest.mark.parametrize("query", ["", "   ", "\n\t  "])
@pytest.mark.parametrize("mode", ["vector", "bm25", "hybrid"])
def test_empty_query(ws: Workspace, query: str, mode: str) -> None:
    with pytest.raises(EmptyQueryError, match="^The query is empty: type a question to search for.$"):
        ws.search(query, "known", mode=mode)


def test_empty_query_is_checked_before_the_collection(ws: Workspace) -> None:
    with pytest.raises(EmptyQueryError):
        ws.search("  ", "missing")


@pytest.mark.parametrize("candidates", [0, -1, 201, 10_000])
def test_candidates_out_of_range(ws: Workspace, candidates: int) -> None:
    with pytest.raises(InvalidInputError, match=rf"^Candidate count must be between 1 and 200, got {candidates}\.$"):
        ws.search("quokka", "known", candidates=candidates)


@pytest.mark.parametrize("candidates", [1, 200])
def test_candidates_at_the_bounds_are_accepted(ws: Workspace, candidates: int) -> None:
    chunk_count = ws.store.info("known").chunk_count
    for mode in ("vector", "hybrid"):
        hits = ws.search("quokka", "known", mode=mode, candidates=candidates).hits
        assert len(hits) == min(candidates, chunk_count)


def test_unknown_search_mode(ws: Workspace) -> None:
    with pytest.raises(InvalidInputError, match="Unknown search mode 'fuzzy': choose one of vector, bm25, hybrid"):
        ws.search("quokka", "known", mode="fuzzy")  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["ab", "bad name!", "-leading", "trailing-", "a" * 129, "", "naïve"])
def test_invalid_collection_name(ws: Workspace, name: str) -> None:
    with pytest.raises(InvalidInputError, match=f"Invalid collection name '{name}': use 3-128 letters, digits"):
        ws.ingest([FIXTURE_DOCS / "notes.txt"], name)
    assert ws.store.names() == ["known"]


def test_valid_unusual_collection_names(ws: Workspace) -> None:
    for name in ("a.b", "A_1-x.y", "x" * 128):
        ws.ingest([FIXTURE_DOCS / "notes.txt"], name)
        assert ws.store.exists(name)
        ws.delete_collection(name)


def test_binary_file(ws: Workspace, bad_files: dict[str, Path]) -> None:
    path = bad_files["nul"]
    with pytest.raises(NoDocumentsError, match=rf"{path}: looks binary \(contains NUL bytes\), not text"):
        ws.ingest([path], "from-binary")
    assert not ws.store.exists("from-binary")


def test_non_utf8_file(ws: Workspace, bad_files: dict[str, Path]) -> None:
    path = bad_files["latin1"]
    with pytest.raises(NoDocumentsError, match=rf"{path}: is not UTF-8 text \(byte 3\); convert it, e.g. iconv"):
        ws.ingest([path], "from-latin1")
    assert not ws.store.exists("from-latin1")


def test_empty_folder(ws: Workspace, bad_files: dict[str, Path]) -> None:
    path = bad_files["empty_dir"]
    with pytest.raises(NoDocumentsError, match=f"Nothing to ingest from {path}: .*no .md, .txt, .html or .pdf files"):
        ws.ingest([path], "from-empty")
    assert not ws.store.exists("from-empty")


def test_folder_without_supported_files(ws: Workspace, bad_files: dict[str, Path]) -> None:
    with pytest.raises(NoDocumentsError, match=r"image.png: skipped, unsupported file type '.png'"):
        ws.ingest([bad_files["unsupported_dir"]], "from-images")
    assert not ws.store.exists("from-images")


def test_missing_path_and_unsupported_file(ws: Workspace, tmp_path: Path, bad_files: dict[str, Path]) -> None:
    with pytest.raises(UnreadableFileError, match=f"^{tmp_path / 'nope.md'}: does not exist$"):
        ws.ingest([tmp_path / "nope.md"], "from-nothing")
    with pytest.raises(UnreadableFileError, match="unsupported file type '.png'"):
        ws.ingest([bad_files["unsupported_dir"] / "image.png"], "from-nothing")
    assert not ws.store.exists("from-nothing")


def test_failed_ingest_leaves_existing_collection_unchanged(ws: Workspace, bad_files: dict[str, Path]) -> None:
    before = snapshot(ws, "known")
    for path in (bad_files["nul"], bad_files["latin1"], bad_files["empty_dir"]):
        with pytest.raises(NoDocumentsError):
            ws.ingest([path], "known")
        with pytest.raises(NoDocumentsError):
            ws.ingest([path], "known", rebuild=True)
    assert snapshot(ws, "known") == before
    assert ws.store.names() == ["known"]


def test_unreadable_files_next_to_good_ones_are_skipped_and_reported(
    ws: Workspace, bad_files: dict[str, Path], tmp_path: Path
) -> None:
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "good.md").write_text("# Good\n\nA perfectly readable page about otters.\n", encoding="utf-8")
    (folder / "binary.txt").write_bytes(bad_files["nul"].read_bytes())
    (folder / "latin1.txt").write_bytes(bad_files["latin1"].read_bytes())
    report = ws.ingest([folder], "mixed")
    assert report.documents == 1
    assert {c.doc_id for c in ws.store.all_chunks("mixed").chunks} == {"good.md"}
    assert len(report.skipped) == 2
    assert any("binary.txt: looks binary" in line for line in report.skipped)
    assert any("latin1.txt: is not UTF-8 text" in line for line in report.skipped)
    ws.delete_collection("mixed")


def test_two_inputs_with_the_same_doc_id_are_refused(ws: Workspace, tmp_path: Path) -> None:
    for folder in ("one", "two"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "same.txt").write_text(f"text from {folder}", encoding="utf-8")
    with pytest.raises(InvalidInputError, match="Two inputs give the same document id 'same.txt'"):
        ws.ingest([tmp_path / "one" / "same.txt", tmp_path / "two" / "same.txt"], "twins")
    assert not ws.store.exists("twins")


def test_missing_openai_key(ws: Workspace) -> None:
    assert ws.settings.openai_api_key is None
    with pytest.raises(MissingOpenAIKeyError, match=r"^OPENAI_API_KEY is not set: export it .*--embedder sentence"):
        ws.ingest([FIXTURE_DOCS / "notes.txt"], "needs-openai", embedder="openai:text-embedding-3-small")
    assert not ws.store.exists("needs-openai")
