"""BM25 indexes are built once per collection version, saved in the data dir and loaded by every
later process: same rankings as a fresh build, rebuilt when the collection changes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from reranklens.config import Settings
from reranklens.retrieve.search import BM25Index
from reranklens.retrieve.store import VectorStore
from reranklens.workspace import Workspace

FIXTURE_DOCS = Path(__file__).parent / "fixtures" / "engine" / "docs"
QUERIES = ["reset password", "install windows administrator", "email link valid hour", "mobile", "zzz unknownword"]


def ranking(index: BM25Index, query: str) -> list[tuple[str, float]]:
    return [(hit.chunk.chunk_id, round(hit.score, 5)) for hit in index.search(query, 20)]


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    shutil.copytree(FIXTURE_DOCS, folder)
    return folder


@pytest.fixture
def counted_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Names of collections whose every chunk was read (what building a BM25 index needs)."""
    reads: list[str] = []
    real = VectorStore.all_chunks

    def all_chunks(self: VectorStore, name: str):  # noqa: ANN202 - the real method's return type
        reads.append(name)
        return real(self, name)

    monkeypatch.setattr(VectorStore, "all_chunks", all_chunks)
    return reads


def test_persisted_index_ranks_like_a_fresh_build_and_is_not_rebuilt(
    settings: Settings, docs: Path, counted_reads: list[str]
) -> None:
    Workspace(settings).ingest([docs], "kbase")
    counted_reads.clear()
    first = Workspace(settings)
    built = first.bm25_index("kbase")
    assert counted_reads == ["kbase"]  # built once...
    folders = list((settings.data_dir / "bm25" / "kbase").iterdir())
    assert [f.name for f in folders] == [first.bm25_fingerprint("kbase")]

    second = Workspace(settings)  # ...and a new process only loads it
    loaded = second.bm25_index("kbase")
    assert counted_reads == ["kbase"]
    fresh = BM25Index(second.store.all_chunks("kbase").chunks)
    for query in QUERIES:
        assert ranking(loaded, query) == ranking(fresh, query) == ranking(built, query)
    assert ranking(loaded, "reset password")  # the comparison is not between empty lists
    hits = loaded.search("reset password", 3)
    assert [h.rank for h in hits] == [1, 2, 3][: len(hits)] and "reset" in hits[0].chunk.text.lower()


def test_a_changed_collection_gets_a_new_index(settings: Settings, docs: Path, counted_reads: list[str]) -> None:
    workspace = Workspace(settings)
    workspace.ingest([docs], "kbase")
    before = workspace.bm25_fingerprint("kbase")
    assert not workspace.bm25_index("kbase").search("quasar telescope", 5)
    (docs / "astro.md").write_text("# Astronomy\n\nThe quasar telescope observes distant galaxies at night.\n")
    workspace.ingest([docs], "kbase")
    counted_reads.clear()

    later = Workspace(settings)
    assert later.bm25_fingerprint("kbase") != before
    index = later.bm25_index("kbase")
    assert "kbase" in counted_reads  # rebuilt for the new version
    assert index.search("quasar telescope", 5)[0].chunk.doc_id.endswith("astro.md")
    assert [f.name for f in (settings.data_dir / "bm25" / "kbase").iterdir()] == [later.bm25_fingerprint("kbase")]
    # The process that held the old index sees the new version too.
    assert workspace.bm25_index("kbase").search("quasar telescope", 5)


def test_deleting_a_collection_removes_its_index(settings: Settings, docs: Path) -> None:
    workspace = Workspace(settings)
    workspace.ingest([docs], "kbase")
    workspace.bm25_index("kbase")
    assert (settings.data_dir / "bm25" / "kbase").is_dir()
    workspace.delete_collection("kbase")
    assert not (settings.data_dir / "bm25" / "kbase").exists()


def test_batched_reads_return_every_chunk(settings: Settings, docs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    workspace = Workspace(settings)
    workspace.ingest([docs], "kbase")
    whole = workspace.store.all_chunks("kbase")
    monkeypatch.setattr("reranklens.retrieve.store.READ_BATCH", 2)  # many pages over a small collection
    paged = workspace.store.all_chunks("kbase")
    assert len(whole.chunks) > 2
    assert sorted(c.chunk_id for c in paged.chunks) == sorted(c.chunk_id for c in whole.chunks)
    assert paged.doc_hashes == whole.doc_hashes
    ids = [c.chunk_id for c in whole.chunks][::-1]
    assert [c.chunk_id for c in workspace.store.get_chunks("kbase", ids)] == ids
