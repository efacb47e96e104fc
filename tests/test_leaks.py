"""What leaves the server: prompts to the LLM provider carry no absolute server
path; a BEIR ingest never replaces a golden set of the same name. (Error messages that never quote
``OPENAI_BASE_URL`` / ``RERANKLENS_RERANK_URL`` are pinned in test_answer.py and test_rerank.py.)"""

from __future__ import annotations

from pathlib import Path

from reranklens.config import Settings
from reranklens.golden.suggest import build_judge_messages
from reranklens.types import Chunk
from reranklens.views.answer import AnswerContext, build_messages
from reranklens.workspace import Workspace

SERVER_PATH = "/srv/team-secrets/acme/guide.md"
CHUNK = Chunk("c1", "guide.md", "Reset it under Security.", SERVER_PATH, 0, ("Guide",))


def test_prompts_name_documents_by_id_not_by_server_path() -> None:
    answer = build_messages("how to reset", AnswerContext("vector", "Vector search", (CHUNK,)))
    judge = build_judge_messages("how to reset", [CHUNK])
    for message in [*answer, *judge]:
        assert "/srv/" not in message["content"], message
    assert "[1] guide.md › Guide\nReset it under Security." in answer[1]["content"]
    assert "[1] guide.md › Guide\nReset it under Security." in judge[1]["content"]


def test_ingested_chunks_reach_the_prompt_without_their_folder(tmp_path: Path) -> None:
    folder = tmp_path / "private-layout" / "docs"
    folder.mkdir(parents=True)
    (folder / "guide.md").write_text("# Guide\n\nReset your password under Security.\n", encoding="utf-8")
    workspace = Workspace(Settings(data_dir=tmp_path / "data"))
    workspace.ingest([folder], "docs")
    chunks = tuple(hit.chunk for hit in workspace.search("reset password", "docs", "vector", 5).hits)
    assert chunks and all(str(tmp_path) in c.source for c in chunks)  # the store keeps where it came from
    [_, user] = build_messages("reset password", AnswerContext("vector", "Vector search", chunks))
    assert str(tmp_path) not in user["content"] and "private-layout" not in user["content"]


def beir_folder(root: Path, name: str = "quokka") -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "corpus.jsonl").write_text('{"_id": "d1", "text": "Quokkas live on Rottnest Island."}\n')
    (folder / "queries.jsonl").write_text('{"_id": "q1", "text": "where do quokkas live"}\n')
    (folder / "qrels.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\t2\n")
    return folder


def test_a_beir_ingest_never_replaces_a_labelled_golden_set(tmp_path: Path) -> None:
    workspace = Workspace(Settings(data_dir=tmp_path / "data"))
    golden = workspace.golden
    golden.create_set("quokka")
    query_id = golden.add_query("quokka", "are quokkas friendly")
    golden.judge("quokka", query_id, "doc", "d9", 3, who="ana")
    before = golden.judgements("quokka")

    report = workspace.ingest([beir_folder(tmp_path)], "quokka-docs")
    assert (report.golden_set, report.golden_renamed_from) == ("quokka-2", "quokka")
    assert golden.judgements("quokka") == before  # Ana's label is still there
    assert golden.qrels("quokka-2") == {"q1": {"d1": 2}}

    again = workspace.ingest([beir_folder(tmp_path / "again")], "quokka-docs")
    assert (again.golden_set, again.golden_renamed_from) == ("quokka-2", "quokka")  # no third copy
    assert golden.names() == ["quokka", "quokka-2"]


def test_reingesting_a_beir_folder_keeps_its_own_set_without_a_copy(tmp_path: Path) -> None:
    workspace = Workspace(Settings(data_dir=tmp_path / "data"))
    folder = beir_folder(tmp_path)
    first = workspace.ingest([folder], "quokka-docs")
    again = workspace.ingest([folder], "quokka-docs")
    assert (first.golden_set, again.golden_set, again.golden_renamed_from) == ("quokka", "quokka", None)
    assert workspace.golden.names() == ["quokka"]
