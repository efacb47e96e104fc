"""A small BEIR collection folder (corpus.jsonl, queries.jsonl, qrels.tsv) written from dicts, for tests
that ingest one: ``reranklens ingest`` makes it a collection and a golden set of the same name."""

from __future__ import annotations

import json
from pathlib import Path


def write_beir(
    folder: Path, docs: dict[str, tuple[str, str]], queries: dict[str, str], qrels: dict[str, dict[str, int]]
) -> Path:
    folder.mkdir(parents=True)
    with (folder / "corpus.jsonl").open("w", encoding="utf-8") as out:
        for doc_id, (title, text) in docs.items():
            out.write(json.dumps({"_id": doc_id, "title": title, "text": text}) + "\n")
    with (folder / "queries.jsonl").open("w", encoding="utf-8") as out:
        for qid, text in queries.items():
            out.write(json.dumps({"_id": qid, "text": text}) + "\n")
    with (folder / "qrels.tsv").open("w", encoding="utf-8") as out:
        out.write("query-id\tcorpus-id\tscore\n")
        for qid, targets in qrels.items():
            for doc_id, grade in targets.items():
                out.write(f"{qid}\t{doc_id}\t{grade}\n")
    return folder
