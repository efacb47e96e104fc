"""Ingestion is a set difference: re-running is a no-op, a changed file replaces its chunks,
``rebuild`` starts over, deleting really deletes. Each test uses its own collection and its
own copy of the inputs, so one workspace serves the whole module."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from reranklens.cli import main as cli
from reranklens.config import Settings
from reranklens.errors import UnknownCollectionError
from reranklens.workspace import Workspace

FIXTURE_DOCS = Path(__file__).parent / "fixtures" / "engine" / "docs"


@pytest.fixture(scope="module")
def workspace_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("idempotency")


@pytest.fixture(scope="module")
def ws(workspace_dir: Path) -> Workspace:
    return Workspace(Settings(data_dir=workspace_dir / "store"))


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    shutil.copytree(FIXTURE_DOCS, folder)
    return folder


def ids_by_doc(ws: Workspace, collection: str) -> dict[str, set[str]]:
    grouped: dict[str, set[str]] = {}
    for chunk in ws.store.all_chunks(collection).chunks:
        grouped.setdefault(chunk.doc_id, set()).add(chunk.chunk_id)
    return grouped


def test_ingesting_the_same_input_twice_changes_nothing(ws: Workspace, docs: Path) -> None:
    first = ws.ingest([docs], "twice")
    ids = ids_by_doc(ws, "twice")
    revision = ws.store.metadata("twice")["revision"]
    second = ws.ingest([docs], "twice")
    assert first.chunks_added == first.chunks_total > 0
    assert (second.chunks_added, second.chunks_removed, second.chunks_total) == (0, 0, first.chunks_total)
    assert ids_by_doc(ws, "twice") == ids
    assert ws.store.info("twice").chunk_count == first.chunks_total
    # No change, no new revision: cached BM25 indexes stay valid.
    assert ws.store.metadata("twice")["revision"] == revision


def test_changed_file_replaces_only_its_own_chunks(ws: Workspace, docs: Path) -> None:
    ws.ingest([docs], "changed")
    before = ids_by_doc(ws, "changed")
    ws.search("quokka", "changed", mode="bm25")  # builds and caches a BM25 index
    (docs / "notes.txt").write_text(
        "Field notes, week four.\n\nA numbat was seen digging for termites near the northern waterhole.\n",
        encoding="utf-8",
    )
    report = ws.ingest([docs], "changed")
    after = ids_by_doc(ws, "changed")
    assert report.chunks_removed == len(before["notes.txt"])
    assert report.chunks_added == len(after["notes.txt"])
    assert not before["notes.txt"] & after["notes.txt"]
    for doc_id in ("guide.md", "page.html"):
        assert after[doc_id] == before[doc_id]
    assert ws.store.info("changed").chunk_count == sum(len(ids) for ids in after.values())
    assert ws.store.info("changed").doc_count == 3
    # The new text is found, the old one is gone (the BM25 cache follows the revision).
    assert [h.chunk.doc_id for h in ws.search("numbat termites", "changed", mode="bm25").hits] == ["notes.txt"]
    assert ws.search("quokka", "changed", mode="bm25").hits == ()
    assert ws.search("numbat digging for termites", "changed", candidates=1).hits[0].chunk.doc_id == "notes.txt"


def test_same_file_gives_the_same_chunk_ids_in_a_fresh_data_dir(
    ws: Workspace, docs: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    ws.ingest([docs], "first-dir")
    # Another machine: another data dir, and the same files checked out somewhere else.
    elsewhere = tmp_path_factory.mktemp("fresh")
    shutil.copytree(docs, elsewhere / "checkout")
    other = Workspace(Settings(data_dir=elsewhere / "store"))
    other.ingest([elsewhere / "checkout"], "second-dir")
    first = {(c.chunk_id, c.doc_id, c.char_start, c.char_end) for c in ws.store.all_chunks("first-dir").chunks}
    second = {(c.chunk_id, c.doc_id, c.char_start, c.char_end) for c in other.store.all_chunks("second-dir").chunks}
    assert first == second
    assert len(first) > 3


def test_ingesting_more_files_adds_to_the_collection(ws: Workspace, docs: Path) -> None:
    ws.ingest([docs / "guide.md"], "grows")
    guide = ids_by_doc(ws, "grows")
    report = ws.ingest([docs / "notes.txt"], "grows")
    grown = ids_by_doc(ws, "grows")
    assert set(grown) == {"guide.md", "notes.txt"}
    assert grown["guide.md"] == guide["guide.md"]
    assert report.chunks_removed == 0
    assert ws.store.info("grows").doc_count == 2


def test_rebuild_starts_the_collection_over(ws: Workspace, docs: Path) -> None:
    ws.ingest([docs], "rebuilt")
    revision = ws.store.metadata("rebuilt")["revision"]
    report = ws.ingest([docs / "notes.txt"], "rebuilt", rebuild=True)
    assert set(ids_by_doc(ws, "rebuilt")) == {"notes.txt"}
    assert report.chunks_added == report.chunks_total == ws.store.info("rebuilt").chunk_count
    assert ws.store.info("rebuilt").doc_count == 1
    assert ws.store.metadata("rebuilt")["revision"] != revision
    assert not [name for name in ws.store.names() if ".building-" in name]
    assert ws.search("guide installation", "rebuilt", mode="bm25").hits == ()


def test_rebuild_of_a_new_collection_creates_it(ws: Workspace, docs: Path) -> None:
    report = ws.ingest([docs / "guide.md"], "rebuilt-new", rebuild=True)
    assert ws.store.exists("rebuilt-new")
    assert report.chunks_added == ws.store.info("rebuilt-new").chunk_count > 0


def test_delete_collection_removes_it(ws: Workspace, docs: Path) -> None:
    ws.ingest([docs / "notes.txt"], "doomed")
    ws.search("quokka", "doomed", mode="bm25")
    ws.delete_collection("doomed")
    assert "doomed" not in ws.store.names()
    assert "doomed" not in [info.name for info in ws.collections()]
    for mode in ("vector", "bm25", "hybrid"):
        with pytest.raises(UnknownCollectionError, match="No collection named 'doomed'"):
            ws.search("quokka", "doomed", mode=mode)
    with pytest.raises(UnknownCollectionError, match="reranklens ingest PATH --collection doomed"):
        ws.delete_collection("doomed")
    # The name is free again and a new collection under it starts empty.
    ws.ingest([docs / "guide.md"], "doomed")
    assert set(ids_by_doc(ws, "doomed")) == {"guide.md"}


def test_cli_delete_removes_the_collection(
    ws: Workspace, docs: Path, workspace_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ws.ingest([docs / "notes.txt"], "cli-doomed")
    capsys.readouterr()
    code = cli.main(["--data-dir", str(workspace_dir / "store"), "delete", "cli-doomed"])
    out, err = capsys.readouterr()
    assert code == 0
    assert out.strip() == "Deleted collection 'cli-doomed'."
    assert err == ""
    assert not ws.store.exists("cli-doomed")
    with pytest.raises(UnknownCollectionError):
        ws.search("quokka", "cli-doomed")

    code = cli.main(["--data-dir", str(workspace_dir / "store"), "delete", "cli-doomed"])
    out, err = capsys.readouterr()
    assert code == 1
    assert err.startswith("error: No collection named 'cli-doomed'")
    assert len(err.splitlines()) == 1
