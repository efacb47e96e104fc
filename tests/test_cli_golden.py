"""``reranklens golden list|show|import|export|delete`` through ``reranklens.cli.main``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reranklens.cli import main as cli
from reranklens.config import Settings
from reranklens.golden.store import GoldenQuery, GoldenStore, Judgement
from reranklens.workspace import Workspace

QUERIES = [GoldenQuery("q-1", "How do I rotate\tan API key?", "ambiguous"), GoldenQuery("q-2", "Unjudged, for now")]
JUDGEMENTS = [
    Judgement("q-1", "chunk", "3f2a9c0d11b7e4a5c6d8", 3, "step 2", "ana", "human", "2026-01-02T03:04:05+00:00"),
    Judgement("q-1", "doc", "guides/keys.md", 0, "", "import", "import", "2026-01-03T00:00:00+00:00"),
]


@pytest.fixture
def golden(settings: Settings) -> GoldenStore:
    """The data dir's golden store holding set 'faq'; the demo counts as ingested, so no model loads."""
    settings.data_dir.mkdir(parents=True)
    (settings.data_dir / ".demo-ingested").touch()
    store = GoldenStore(settings.golden_db_path)
    store.write_set("faq", QUERIES, JUDGEMENTS, source="hand-made")
    return store


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_list(golden: GoldenStore, capsys: pytest.CaptureFixture[str]) -> None:
    golden.write_set("empty", [GoldenQuery("x", "nothing judged")], [])
    code, out, err = run(capsys, "golden", "list")
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        f"{'empty':<24} 1 query, 0 judgements",
        f"{'faq':<24} 2 queries, 2 judgements  source=hand-made",
    ]

    code, out, _ = run(capsys, "golden", "list", "--json")
    assert code == 0
    team = {"consensus": "median", "blind": False}
    assert json.loads(out) == [
        {"name": "empty", "source": "", "queries": 1, "judgements": 0, "labels": 0, "labelers": 0, **team},
        {"name": "faq", "source": "hand-made", "queries": 2, "judgements": 2, "labels": 2, "labelers": 2, **team},
    ]


def test_list_without_sets(settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    settings.data_dir.mkdir(parents=True)
    (settings.data_dir / ".demo-ingested").touch()
    assert run(capsys, "golden", "list", "--json") == (0, "[]\n", "")
    code, out, _ = run(capsys, "golden", "list")
    assert code == 0 and out.startswith("No golden sets yet: reranklens golden import PATH --name NAME")


def test_show(golden: GoldenStore, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "golden", "show", "faq")
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        "Golden set 'faq' from hand-made: 2 queries, 2 judgements.",
        "q-1  2 judgements (1 doc, 1 chunk)  How do I rotate an API key?  [note: ambiguous]",
        "    chunk 3f2a9c0d11b7e4a5c6d8  (not in any collection)  grade 3 (answers it)  by ana  human  [note: step 2]",
        "    doc   guides/keys.md  grade 0  by import  import",  # imported: no 0-3 label for another scale
        "q-2  0 judgements  Unjudged, for now",
    ]


def test_show_names_the_document_and_heading_of_each_judged_chunk(
    golden: GoldenStore, settings: Settings, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "keys.md").write_text("# API keys\n\n## Rotating a key\n\nOpen Settings, then Rotate.\n", "utf-8")
    workspace = Workspace(settings)
    workspace.ingest([docs], "kb-docs")
    chunk = next(c for c in workspace.store.all_chunks("kb-docs").chunks if "Rotate" in c.text)
    golden.write_set("kb-docs", [GoldenQuery("q", "rotate a key")], [Judgement("q", "chunk", chunk.chunk_id, 3)])
    code, out, _ = run(capsys, "golden", "show", "kb-docs")
    assert code == 0
    assert f"    chunk {chunk.chunk_id}  keys.md · {chunk.heading}  grade 3 (answers it)" in out
    assert "Rotating a key" in chunk.heading


def test_show_json(golden: GoldenStore, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "golden", "show", "faq", "--json")
    assert code == 0
    data = json.loads(out)
    assert {k: v for k, v in data.items() if k != "queries"} == {
        "name": "faq",
        "source": "hand-made",
        "query_count": 2,
        "judgement_count": 2,
    }
    assert data["queries"] == [
        {
            "query_id": "q-1",
            "text": "How do I rotate\tan API key?",
            "note": "ambiguous",
            "judgements": [
                {
                    "level": "chunk",
                    "target_id": "3f2a9c0d11b7e4a5c6d8",
                    "grade": 3,
                    "note": "step 2",
                    "who": "ana",
                    "origin": "human",
                    "updated_at": "2026-01-02T03:04:05+00:00",
                },
                {
                    "level": "doc",
                    "target_id": "guides/keys.md",
                    "grade": 0,
                    "note": "",
                    "who": "import",
                    "origin": "import",
                    "updated_at": "2026-01-03T00:00:00+00:00",
                },
            ],
        },
        {"query_id": "q-2", "text": "Unjudged, for now", "note": "", "judgements": []},
    ]


@pytest.mark.parametrize(
    ("fmt", "name"), [("jsonl", "set.jsonl"), ("csv", "set.csv"), ("trec", "set.qrels"), ("beir", "beir")]
)
def test_export_then_import_under_a_new_name(
    golden: GoldenStore, tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str, name: str
) -> None:
    out = tmp_path / "exports" / name
    code, stdout, err = run(capsys, "golden", "export", "faq", "--format", fmt, "--out", str(out))
    assert (code, err) == (0, "")
    topics = f" (query texts in {out}.topics.tsv)" if fmt == "trec" else ""
    assert stdout == f"Exported golden set 'faq' (2 queries, 2 judgements) as {fmt} to {out}{topics}.\n"
    assert out.exists()

    code, stdout, err = run(capsys, "golden", "import", str(out), "--name", "copy")  # format guessed
    assert (code, err) == (0, "")
    assert stdout == "Imported golden set 'copy': 2 queries, 2 judgements.\n"
    assert golden.query_list("copy") == QUERIES
    assert golden.qrels("copy", "chunk") == golden.qrels("faq", "chunk")
    assert golden.qrels("copy") == golden.qrels("faq")


def test_import_with_explicit_format_replaces_a_set(
    golden: GoldenStore, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    qrels = tmp_path / "judged.txt"
    qrels.write_text("q-9 0 d1 2\nq-9 0 chunk:c1 1\n", encoding="utf-8")
    code, out, err = run(capsys, "golden", "import", str(qrels), "--name", "faq", "--format", "trec")
    assert (code, err) == (0, "")
    assert out == "Imported golden set 'faq': 1 query, 2 judgements (replaced the previous set).\n"
    assert golden.info("faq").source == str(qrels)
    assert golden.qrels("faq") == {"q-9": {"d1": 2}} and golden.qrels("faq", "chunk") == {"q-9": {"c1": 1}}


def test_delete(golden: GoldenStore, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "golden", "delete", "faq") == (0, "Deleted golden set 'faq' (2 queries, 2 judgements).\n", "")
    assert golden.names() == []


def test_errors_print_one_line_and_exit_1(
    golden: GoldenStore, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for argv in (
        ["golden", "show", "nope"],
        ["golden", "delete", "nope"],
        ["golden", "export", "nope", "--format", "csv", "--out", str(tmp_path / "x.csv")],
    ):
        code, out, err = run(capsys, *argv)
        assert (code, out) == (1, "")
        assert err == "error: No golden set named 'nope' (existing: faq).\n"
    assert not (tmp_path / "x.csv").exists()


def test_a_bad_file_is_one_error_line_and_the_set_is_kept(
    golden: GoldenStore, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"query_id": "a", "text": "alpha"}\n{"query_id": "b", "text": \n', encoding="utf-8")
    code, out, err = run(capsys, "golden", "import", str(bad), "--name", "faq")
    assert (code, out) == (1, "")
    assert err.startswith(f"error: {bad}:2: not valid JSON") and err.count("\n") == 1
    assert golden.query_list("faq") == QUERIES and golden.judgements("faq") == JUDGEMENTS

    code, _, err = run(capsys, "golden", "import", str(tmp_path / "missing.csv"), "--name", "faq")
    assert (code, err) == (1, f"error: {tmp_path / 'missing.csv'}: does not exist\n")


def test_export_needs_a_format(golden: GoldenStore, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main(["golden", "export", "faq", "--out", str(tmp_path / "x")])
    assert exit_.value.code == 2
    assert "--format" in capsys.readouterr().err
