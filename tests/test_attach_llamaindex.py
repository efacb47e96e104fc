"""A Chroma store written by LlamaIndex itself, attached on a fresh data dir and queried from the command line.

LlamaIndex's readers give every document a new random UUID as ``ref_doc_id``; the table and the JSON must
show the file instead. A query on the attached collection must answer about it at once, without first
ingesting the bundled demo (which the query does not ask about).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from reranklens.cli import main as cli
from reranklens.config import Settings
from reranklens.ingest.demo import DEMO_COLLECTION, DEMO_MARKER
from reranklens.retrieve.conventions import MetadataKeys, map_chunk
from reranklens.workspace import Workspace

DOCS = Path(__file__).parent / "fixtures" / "engine" / "docs"
EMBEDDER = "sentence-transformers/all-MiniLM-L6-v2"
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# Another application: LlamaIndex reads a folder, splits it into nodes and writes them to Chroma through
# its own ChromaVectorStore (so the metadata is LlamaIndex's own). The vectors come from the packaged
# MiniLM, as LlamaIndex's embedding integration would compute them.
WRITER = """
import json
import sys
import chromadb
from llama_index.core import SimpleDirectoryReader
from llama_index.core.node_parser import SentenceSplitter
from llama_index.vector_stores.chroma import ChromaVectorStore
from reranklens.config import Settings
from reranklens.ingest.embed import make_embedder

target, docs, embedder = sys.argv[1:4]
client = chromadb.PersistentClient(path=target, settings=chromadb.Settings(anonymized_telemetry=False))
nodes = SentenceSplitter(chunk_size=64, chunk_overlap=8).get_nodes_from_documents(
    SimpleDirectoryReader(docs).load_data()
)
vectors = make_embedder(embedder, Settings.from_env()).embed_documents([n.get_content() for n in nodes])
for node, vector in zip(nodes, vectors):
    node.embedding = vector.tolist()
ChromaVectorStore(chroma_collection=client.create_collection("li_files")).add(nodes)
print(len(nodes), json.dumps(sorted({n.ref_doc_id for n in nodes})))
"""


@pytest.fixture(scope="module")
def llama_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """A LlamaIndex-written Chroma directory, and the ``ref_doc_id`` of each of its documents."""
    target = tmp_path_factory.mktemp("llama-app") / "chroma"
    done = subprocess.run(
        [sys.executable, "-c", WRITER, str(target), str(DOCS), EMBEDDER],
        capture_output=True,
        text=True,
        timeout=600,
        env=os.environ | {"PYTHONPATH": str(Path(__file__).resolve().parents[1])},
    )
    assert done.returncode == 0, done.stderr
    count, refs = done.stdout.strip().splitlines()[-1].split(" ", 1)
    ref_ids = json.loads(refs)
    assert int(count) > len(ref_ids) == 3 and all(UUID.fullmatch(r) for r in ref_ids)
    return target, ref_ids


def cli_run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_a_query_on_an_attached_store_in_a_fresh_data_dir_shows_files_and_never_ingests_the_demo(
    llama_store: tuple[Path, list[str]], settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    store, ref_ids = llama_store
    code, out, err = cli_run(capsys, "attach", str(store), "--collection", "li_files", "--embedder", EMBEDDER, "--json")
    assert code == 0, err
    assert json.loads(out)["convention"] == "llamaindex"

    code, out, err = cli_run(capsys, "query", "how do I reset my password", "-c", "li_files", "-n", "5", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["collection"] == "li_files" and len(data["candidates"]) == 5
    doc_ids = {c["doc_id"] for c in data["candidates"]}
    assert doc_ids <= {"guide.md", "notes.txt", "page.html"} and "guide.md" in doc_ids
    assert not doc_ids & set(ref_ids)

    code, out, err = cli_run(capsys, "query", "how do I reset my password", "-c", "li_files", "-n", "3")
    assert code == 0, err
    rows = out.splitlines()[2:5]
    assert len(rows) == 3 and all(re.search(r"\s(guide\.md|notes\.txt|page\.html)\s", row) for row in rows), out
    assert not UUID.search(out)

    # Nothing about the demo happened: no collection, no marker, no "first run" message.
    assert "demo" not in err.lower()
    assert not (settings.data_dir / DEMO_MARKER).exists()
    assert DEMO_COLLECTION not in {info.name for info in Workspace(settings).collections()}


def test_only_an_opaque_ref_doc_id_gives_way_to_the_file() -> None:
    """A reader that names its documents keeps its names; a UUID or a hash gives way; --id-key still wins."""
    opaque = "bdc2a6b3-b160-4dff-9eb4-6fe8ea064179"
    named = map_chunk("n1", "text", {"ref_doc_id": "handbook/ch-2", "file_name": "ch2.pdf"}, MetadataKeys())
    assert (named.doc_id, named.source) == ("handbook/ch-2", "ch2.pdf")
    hashed = map_chunk("n2", "text", {"ref_doc_id": "a" * 40, "file_path": "/srv/docs/faq.md"}, MetadataKeys())
    assert (hashed.doc_id, hashed.source) == ("/srv/docs/faq.md", "/srv/docs/faq.md")
    meta = {"ref_doc_id": opaque, "file_name": "faq.md", "file_path": "/srv/docs/faq.md"}
    assert map_chunk("n3", "text", meta, MetadataKeys()).doc_id == "faq.md"
    assert map_chunk("n4", "text", meta, MetadataKeys(id_key="ref_doc_id")).doc_id == opaque
