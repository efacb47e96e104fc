"""Golden set import/export: round trips in every format, errors that name file:line and leave
the target set untouched, and the real BEIR qrels of ../shared."""

from __future__ import annotations

import csv
import json
from datetime import datetime
from pathlib import Path

import pytest
from conftest import shared_collection

from reranklens.errors import InvalidInputError, UnreadableFileError
from reranklens.golden.beir import read_beir_judgements
from reranklens.golden.formats import (
    CSV_COLUMNS,
    FORMATS,
    Format,
    export_set,
    golden_records,
    guess_format,
    import_set,
    topics_path,
)
from reranklens.golden.store import GoldenQuery, GoldenStore, Judgement

TRICKY_TEXT = 'Commas, "quotes",\ttabs and\na line break: ünïcödé 日本語 <script>alert("x")</script>'
TRICKY_NOTE = 'note, with "quotes"\r\nand CRLF\t<b>bold</b> ✓'
QUERIES = [
    GoldenQuery("q-1", TRICKY_TEXT, TRICKY_NOTE),
    GoldenQuery("q-2", "plain question", ""),
    GoldenQuery("q-3", "a query nobody judged yet", 'still to label, "soon"'),
    GoldenQuery("17", "a BEIR-style numeric id", ""),
]
JUDGEMENTS = [
    Judgement(
        "q-1",
        "chunk",
        "3f2a9c0d11b7e4a5c6d8",
        3,
        'exact answer, "step 2"\n\tsee below',
        "ana",
        "human",
        "2026-01-02T03:04:05+00:00",
    ),
    Judgement("q-1", "doc", "guides/keys.md", 0, "", "bob", "suggestion", "2026-01-03T00:00:00+00:00"),
    Judgement("q-2", "doc", "guides/keys.md", 2, "", "import", "import", "2026-01-04T00:00:00+00:00"),
    Judgement("q-2", "chunk", "00aa11bb22cc33dd44ee", 1, "ünï <i>", "", "human", "2026-01-05T00:00:00+00:00"),
    Judgement("17", "doc", "184", 4, "", "import", "import", "2026-01-06T00:00:00+00:00"),  # imported 0-4 scale
]
EXPORT_NAMES: dict[Format, str] = {"beir": "out-beir", "trec": "out.qrels", "jsonl": "out.jsonl", "csv": "out.csv"}


@pytest.fixture
def store(tmp_path: Path) -> GoldenStore:
    golden = GoldenStore(tmp_path / "golden.sqlite")
    golden.write_set("tricky", QUERIES, JUDGEMENTS, source="hand-made")
    return golden


def _core(judgements: list[Judgement]) -> list[tuple[str, str, str, int]]:
    """What every format carries: query, level, target and grade."""
    return [(j.query_id, j.level, j.target_id, j.grade) for j in judgements]


def _written_files(out: Path) -> list[Path]:
    return sorted(out.iterdir()) if out.is_dir() else [out, *([topics_path(out)] if topics_path(out).exists() else [])]


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_jsonl_and_csv_round_trips_are_lossless(store: GoldenStore, tmp_path: Path, fmt: Format) -> None:
    out = export_set(store, "tricky", fmt, tmp_path / EXPORT_NAMES[fmt])
    info = import_set(store, out, "copy")

    assert (info.name, info.queries, info.judgements, info.source) == ("copy", 4, 5, str(out))
    assert store.query_list("copy") == QUERIES
    assert store.judgements("copy") == JUDGEMENTS  # every field: notes, who, origin, updated_at
    again = export_set(store, "copy", fmt, tmp_path / f"again.{fmt}")
    assert again.read_bytes() == out.read_bytes()


@pytest.mark.parametrize("fmt", ["beir", "trec"])
def test_beir_and_trec_round_trips_keep_what_the_format_carries(
    store: GoldenStore, tmp_path: Path, fmt: Format
) -> None:
    out = export_set(store, "tricky", fmt, tmp_path / EXPORT_NAMES[fmt])
    import_set(store, out, "copy")

    # Queries survive whole (ids, texts, notes), the unjudged one included.
    assert store.query_list("copy") == QUERIES
    copied = store.judgements("copy")
    assert sorted(_core(copied)) == sorted(_core(JUDGEMENTS))  # chunk level survives via the 'chunk:' prefix
    # What BEIR and TREC qrels cannot carry: judgement notes, who, origin and time. Imports say so.
    assert {(j.note, j.who, j.origin) for j in copied} == {("", "import", "import")}
    assert all(datetime.fromisoformat(j.updated_at).tzinfo for j in copied)  # stamped at import
    again = tmp_path / f"again-{fmt}"
    export_set(store, "copy", fmt, again)
    assert [p.read_bytes() for p in _written_files(again)] == [p.read_bytes() for p in _written_files(out)]


def test_beir_export_layout(store: GoldenStore, tmp_path: Path) -> None:
    folder = export_set(store, "tricky", "beir", tmp_path / "beir")
    assert sorted(p.name for p in folder.iterdir()) == ["qrels.tsv", "queries.jsonl"]
    lines = [json.loads(line) for line in (folder / "queries.jsonl").read_text(encoding="utf-8").splitlines()]
    assert lines[0] == {"_id": "q-1", "text": TRICKY_TEXT, "note": TRICKY_NOTE}
    assert lines[1] == {"_id": "q-2", "text": "plain question"}  # "note" only when there is one
    assert (folder / "qrels.tsv").read_text(encoding="utf-8").splitlines() == [
        "query-id\tcorpus-id\tscore",
        "q-1\tchunk:3f2a9c0d11b7e4a5c6d8\t3",
        "q-1\tguides/keys.md\t0",
        "q-2\tguides/keys.md\t2",
        "q-2\tchunk:00aa11bb22cc33dd44ee\t1",
        "17\t184\t4",
    ]
    # The project's own BEIR reader (used by ingest) reads the export.
    queries, qrels = read_beir_judgements(folder) or ({}, {})
    assert list(queries) == ["q-1", "q-2", "q-3", "17"]
    assert qrels["q-1"] == {"chunk:3f2a9c0d11b7e4a5c6d8": 3, "guides/keys.md": 0}


def test_trec_export_layout(store: GoldenStore, tmp_path: Path) -> None:
    qrels = export_set(store, "tricky", "trec", tmp_path / "golden.qrels")
    assert qrels.read_text(encoding="utf-8").splitlines() == [
        "q-1 0 chunk:3f2a9c0d11b7e4a5c6d8 3",
        "q-1 0 guides/keys.md 0",
        "q-2 0 guides/keys.md 2",
        "q-2 0 chunk:00aa11bb22cc33dd44ee 1",
        "17 0 184 4",
    ]
    assert topics_path(qrels) == tmp_path / "golden.qrels.topics.tsv"
    with topics_path(qrels).open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle, delimiter="\t"))
    assert rows == [["qid", "text", "note"], *[[q.query_id, q.text, q.note] for q in QUERIES]]


def test_trec_without_topics_file_uses_the_qid_as_query_text(store: GoldenStore, tmp_path: Path) -> None:
    qrels = tmp_path / "bare.qrels"
    qrels.write_text("7 0 d1 1\n7 0 d2 0\n\n8 Q0 chunk:c9 3\n", encoding="utf-8")
    info = import_set(store, qrels, "bare")
    assert (info.queries, info.judgements) == (2, 3)
    assert store.query_list("bare") == [GoldenQuery("7", "7"), GoldenQuery("8", "8")]
    assert store.qrels("bare") == {"7": {"d1": 1, "d2": 0}}
    assert store.qrels("bare", "chunk") == {"8": {"c9": 3}}


def test_csv_layout_has_one_row_per_judgement(store: GoldenStore, tmp_path: Path) -> None:
    out = export_set(store, "tricky", "csv", tmp_path / "golden.csv")
    with out.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert len(rows) == len(JUDGEMENTS) + 1  # + the unjudged query's row
    assert rows[0]["query"] == TRICKY_TEXT and rows[0]["query_note"] == TRICKY_NOTE
    unjudged = [r for r in rows if r["query_id"] == "q-3"]
    expected = dict.fromkeys(CSV_COLUMNS, "") | {
        "query_id": "q-3",
        "query": QUERIES[2].text,
        "query_note": QUERIES[2].note,
    }
    assert unjudged == [expected]


def test_jsonl_records_are_the_documented_shape(store: GoldenStore, tmp_path: Path) -> None:
    out = export_set(store, "tricky", "jsonl", tmp_path / "golden.jsonl")
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 4
    assert [json.loads(line) for line in lines] == golden_records(store, "tricky")
    first = json.loads(lines[0])
    assert list(first) == ["query_id", "text", "note", "judgements"]
    assert list(first["judgements"][0]) == ["level", "target_id", "grade", "note", "who", "origin", "updated_at"]
    assert json.loads(lines[2])["judgements"] == []


def test_hand_written_jsonl_and_csv_may_leave_optional_fields_out(store: GoldenStore, tmp_path: Path) -> None:
    jsonl = tmp_path / "hand.jsonl"
    jsonl.write_text(
        '{"query_id": "a", "text": "alpha", "judgements": [{"level": "doc", "target_id": "d", "grade": 2}]}\n'
    )
    import_set(store, jsonl, "hand")
    (judgement,) = store.judgements("hand")
    assert (judgement.grade, judgement.note, judgement.who, judgement.origin) == (2, "", "", "import")
    assert judgement.updated_at  # the time of the import

    table = tmp_path / "hand.csv"
    table.write_text("query_id,query,level,target_id,grade\nb,beta,chunk,c1,3\nc,gamma,,,\n", encoding="utf-8")
    info = import_set(store, table, "hand")  # replaces the jsonl import
    assert (info.queries, info.judgements) == (2, 1)
    assert store.qrels("hand", "chunk") == {"b": {"c1": 3}} and store.queries("hand") == {"b": "beta", "c": "gamma"}


TEAM_JSONL = (
    '{"query_id": "q1", "text": "reset a password", "judgements": ['
    '{"level": "chunk", "target_id": "c1", "grade": 3, "who": "ana", "note": "the steps"}, '
    '{"level": "chunk", "target_id": "c1", "grade": 0, "who": "bob", "note": "other product"}, '
    '{"level": "chunk", "target_id": "c2", "grade": 1}]}\n'
)


def test_an_import_keeps_two_peoples_grades_for_one_chunk(store: GoldenStore, tmp_path: Path) -> None:
    path = tmp_path / "team.jsonl"
    path.write_text(TEAM_JSONL, encoding="utf-8")

    info = import_set(store, path, "team", importer="carla")

    assert (info.judgements, info.labels, info.labelers) == (2, 3, 3)
    people = [(j.target_id, j.who, j.grade, j.note) for j in store.person_judgements("team")]
    assert people == [("c1", "ana", 3, "the steps"), ("c1", "bob", 0, "other product"), ("c2", "carla", 1, "")]
    assert store.qrels("team", "chunk") == {"q1": {"c1": 2, "c2": 1}}  # median of 3 and 0, rounded half up

    conflict = tmp_path / "conflict.jsonl"
    conflict.write_text(TEAM_JSONL.replace('"who": "bob"', '"who": "ana"'), encoding="utf-8")
    with pytest.raises(InvalidInputError, match=r"Conflicting judgements by 'ana' of chunk 'c1' for query 'q1'"):
        import_set(store, conflict, "team")
    assert len(store.person_judgements("team")) == 3  # the refused file changed nothing


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_jsonl_and_csv_export_every_persons_grade(store: GoldenStore, tmp_path: Path, fmt: Format) -> None:
    path = tmp_path / "team.jsonl"
    path.write_text(TEAM_JSONL, encoding="utf-8")
    import_set(store, path, "team", importer="carla")

    out = export_set(store, "team", fmt, tmp_path / EXPORT_NAMES[fmt])
    import_set(store, out, "copy")

    assert store.person_judgements("copy") == store.person_judgements("team")
    assert len(golden_records(store, "team")[0]["judgements"]) == 3


@pytest.mark.parametrize("fmt", ["beir", "trec"])
def test_beir_and_trec_export_the_consensus(store: GoldenStore, tmp_path: Path, fmt: Format) -> None:
    path = tmp_path / "team.jsonl"
    path.write_text(TEAM_JSONL, encoding="utf-8")
    import_set(store, path, "team", importer="carla")
    store.adjudicate("team", "q1", "chunk", "c2", 0, who="rita")

    out = export_set(store, "team", fmt, tmp_path / EXPORT_NAMES[fmt])
    import_set(store, out, "copy")

    assert store.qrels("copy", "chunk") == {"q1": {"c1": 2, "c2": 0}} == store.qrels("team", "chunk")
    assert store.labelers("copy") == ["import"]


def test_identical_duplicate_lines_are_merged(store: GoldenStore, tmp_path: Path) -> None:
    qrels = tmp_path / "dup.qrels"
    qrels.write_text("1 0 d1 2\n1 0 d1 2\n", encoding="utf-8")
    assert import_set(store, qrels, "dup").judgements == 1


def test_importing_into_an_existing_name_replaces_the_set(store: GoldenStore, tmp_path: Path) -> None:
    qrels = tmp_path / "small.qrels"
    qrels.write_text("q-2 0 other.md 3\n", encoding="utf-8")
    info = import_set(store, qrels, "tricky")
    assert (info.queries, info.judgements, info.source) == (1, 1, str(qrels))
    assert store.qrels("tricky") == {"q-2": {"other.md": 3}}


def test_guess_format(tmp_path: Path) -> None:
    (tmp_path / "beir").mkdir()
    assert guess_format(tmp_path / "beir") == "beir"
    assert guess_format(tmp_path / "beir" / "qrels.tsv") == "beir"
    assert guess_format(tmp_path / "set.jsonl") == "jsonl"
    assert guess_format(tmp_path / "set.CSV") == "csv"
    assert guess_format(tmp_path / "set.qrels") == "trec"
    assert guess_format(tmp_path / "qrels.txt") == "trec"
    assert set(FORMATS) == {"beir", "trec", "jsonl", "csv"}


def test_beir_import_accepts_the_qrels_file_of_a_folder(store: GoldenStore, tmp_path: Path) -> None:
    folder = export_set(store, "tricky", "beir", tmp_path / "beir")
    assert import_set(store, folder / "qrels.tsv", "via-file").judgements == len(JUDGEMENTS)


# -- export refusals ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "judgement", "message"),
    [
        ("trec", Judgement("q-2", "doc", "getting started.md", 1), "'getting started.md' is empty or holds whitespace"),
        ("beir", Judgement("q-2", "doc", "tab\there", 1), "'tab\\there' is empty or holds tabs or line breaks"),
        ("beir", Judgement("q-2", "doc", "chunk:looks-like-a-chunk", 1), "starts with 'chunk:'"),
    ],
)
def test_export_refuses_ids_the_format_cannot_hold(
    store: GoldenStore, tmp_path: Path, fmt: Format, judgement: Judgement, message: str
) -> None:
    store.write_set("awkward", QUERIES, [judgement])
    out = tmp_path / "awkward"
    with pytest.raises(InvalidInputError, match="Export as jsonl or csv instead") as error:
        export_set(store, "awkward", fmt, out)
    assert message in str(error.value)
    assert [p.name for p in tmp_path.iterdir() if not p.name.startswith("golden.sqlite")] == []  # nothing written


def test_export_replaces_existing_files_and_leaves_no_temporary_files(store: GoldenStore, tmp_path: Path) -> None:
    out = tmp_path / "exports" / "set.jsonl"
    out.parent.mkdir()
    out.write_text("old content\n", encoding="utf-8")
    export_set(store, "tricky", "jsonl", out)
    assert out.read_text(encoding="utf-8").count("\n") == 4
    assert [p.name for p in out.parent.iterdir()] == ["set.jsonl"]
    assert out.stat().st_mode & 0o044  # readable like any file the user writes (umask), not 0600


def test_exporting_an_unknown_set_touches_no_file(store: GoldenStore, tmp_path: Path) -> None:
    out = tmp_path / "keep.jsonl"
    out.write_text("precious\n", encoding="utf-8")
    with pytest.raises(InvalidInputError, match="No golden set named 'nope'"):
        export_set(store, "nope", "jsonl", out)
    assert out.read_text(encoding="utf-8") == "precious\n"


def test_export_to_a_folder_or_file_of_the_wrong_kind(store: GoldenStore, tmp_path: Path) -> None:
    (tmp_path / "file.txt").write_text("x", encoding="utf-8")
    with pytest.raises(InvalidInputError, match="a BEIR export needs a folder"):
        export_set(store, "tricky", "beir", tmp_path / "file.txt")
    with pytest.raises(InvalidInputError, match="give a file name for a csv export"):
        export_set(store, "tricky", "csv", tmp_path)


# -- import errors --------------------------------------------------------------------------------

GOOD_QUERIES = '{"_id": "1", "text": "one"}\n{"_id": "2", "text": "two"}\n'
# (format, {file name: content}, error type, message fragments with {dir} for the folder)
BAD_INPUTS = {
    "bad json line": (
        "jsonl",
        {"set.jsonl": '{"query_id": "a", "text": "x"}\n{"query_id": "b", "text": \n'},
        UnreadableFileError,
        ["{dir}/set.jsonl:2: not valid JSON"],
    ),
    "json line not an object": (
        "jsonl",
        {"set.jsonl": "[1, 2]\n"},
        UnreadableFileError,
        [":1: expected a JSON object"],
    ),
    "non-numeric grade": (
        "csv",
        {"set.csv": "query_id,query,level,target_id,grade\na,alpha,doc,d1,1\na,alpha,doc,d2,high\n"},
        InvalidInputError,
        ["{dir}/set.csv:3: grade 'high' is not a number"],
    ),
    "fractional grade": (
        "trec",
        {"set.qrels": "1 0 d1 1.5\n"},
        InvalidInputError,
        ["{dir}/set.qrels:1: grade '1.5' is not a whole number"],
    ),
    "grade above the imported scale": (
        "beir",
        {"queries.jsonl": GOOD_QUERIES, "qrels.tsv": "query-id\tcorpus-id\tscore\n1\td1\t1\n2\td2\t11\n"},
        InvalidInputError,
        ["{dir}/qrels.tsv:3: grade 11 is outside 0-10"],
    ),
    "negative grade": (
        "jsonl",
        {
            "set.jsonl": json.dumps(
                {"query_id": "a", "text": "x", "judgements": [{"level": "doc", "target_id": "d", "grade": -1}]}
            )
            + "\n"
        },
        InvalidInputError,
        ["{dir}/set.jsonl:1 (judgement 1): grade -1 is outside 0-10"],
    ),
    "unknown query id in beir qrels": (
        "beir",
        {"queries.jsonl": GOOD_QUERIES, "qrels.tsv": "query-id\tcorpus-id\tscore\n1\td1\t1\n9\td2\t1\n"},
        InvalidInputError,
        ["{dir}/qrels.tsv:3: query id '9' is not among the queries"],
    ),
    "unknown query id in trec qrels": (
        "trec",
        {"set.qrels": "1 0 d1 1\n9 0 d2 1\n", "set.qrels.topics.tsv": "qid\ttext\tnote\n1\tone\t\n"},
        InvalidInputError,
        ["{dir}/set.qrels:2: query id '9' is not among the queries"],
    ),
    "conflicting duplicate in beir": (
        "beir",
        {"queries.jsonl": GOOD_QUERIES, "qrels.tsv": "query-id\tcorpus-id\tscore\n1\td1\t1\n2\td1\t0\n1\td1\t3\n"},
        InvalidInputError,
        ["{dir}/qrels.tsv:2 and {dir}/qrels.tsv:4", "grade 1 vs 3"],
    ),
    "conflicting duplicate in csv": (
        "csv",
        {"set.csv": "query_id,query,level,target_id,grade\na,alpha,chunk,c1,2\na,alpha,doc,c1,2\na,alpha,chunk,c1,0\n"},
        InvalidInputError,
        ["{dir}/set.csv:2 and {dir}/set.csv:4", "grade 2 vs 0"],
    ),
    "query defined twice differently": (
        "csv",
        {"set.csv": "query_id,query,level,target_id,grade\na,alpha,doc,d1,2\na,ALPHA,doc,d2,2\n"},
        InvalidInputError,
        ["{dir}/set.csv:3: query 'a' is already defined differently at {dir}/set.csv:2"],
    ),
    "error line counts multi-line cells": (
        "csv",
        {"set.csv": 'query_id,query,level,target_id,grade\na,"two\nlines",doc,d1,2\nb,beta,doc,d1,x\n'},
        InvalidInputError,
        ["{dir}/set.csv:4: grade 'x' is not a number"],
    ),
    "bad level": (
        "jsonl",
        {
            "set.jsonl": json.dumps(
                {"query_id": "a", "text": "x", "judgements": [{"level": "page", "target_id": "d", "grade": 1}]}
            )
            + "\n"
        },
        InvalidInputError,
        [":1 (judgement 1): level must be 'doc' or 'chunk', got 'page'"],
    ),
    "bad origin": (
        "csv",
        {"set.csv": ",".join(CSV_COLUMNS) + "\na,alpha,,doc,d1,1,,,robot,\n"},
        InvalidInputError,
        [":2: origin must be one of human, import, suggestion, got 'robot'"],
    ),
    "bad time": (
        "csv",
        {"set.csv": ",".join(CSV_COLUMNS) + "\na,alpha,,doc,d1,1,,,human,yesterday\n"},
        InvalidInputError,
        [":2: updated_at 'yesterday' is not an ISO 8601 time"],
    ),
    "csv header lacks columns": (
        "csv",
        {"set.csv": "id,text\na,alpha\n"},
        UnreadableFileError,
        ["{dir}/set.csv:1: the header lacks the column(s) query_id, query, level, target_id, grade"],
    ),
    "trec wrong column count": (
        "trec",
        {"set.qrels": "1 0 d1 1\n1\td2\t1\n"},
        UnreadableFileError,
        ["{dir}/set.qrels:2: expected 4 space-separated columns 'qid 0 docid grade', got 3"],
    ),
    "beir folder without qrels": (
        "beir",
        {"queries.jsonl": GOOD_QUERIES},
        UnreadableFileError,
        ["{dir}: is not a BEIR folder: it has no qrels.tsv"],
    ),
    "empty file": ("jsonl", {"set.jsonl": "\n\n"}, InvalidInputError, ["set.jsonl: no queries found"]),
    "query without text": (
        "jsonl",
        {"set.jsonl": '{"query_id": "a", "text": " "}\n'},
        InvalidInputError,
        [":1: query 'a' has no text"],
    ),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_a_bad_input_names_file_and_line_and_leaves_the_set_intact(
    store: GoldenStore, tmp_path: Path, case: str
) -> None:
    fmt, files, error_type, fragments = BAD_INPUTS[case]
    folder = tmp_path / "input"
    folder.mkdir()
    for name, content in files.items():
        (folder / name).write_text(content, encoding="utf-8")
    path = folder if fmt == "beir" else folder / next(iter(files))
    before = (store.query_list("tricky"), store.judgements("tricky"), store.info("tricky"))

    with pytest.raises(error_type) as error:
        import_set(store, path, "tricky", fmt)  # type: ignore[arg-type]

    message = str(error.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment.format(dir=folder) in message
    assert (store.query_list("tricky"), store.judgements("tricky"), store.info("tricky")) == before


def test_a_missing_file_is_one_clear_error(store: GoldenStore, tmp_path: Path) -> None:
    for fmt in FORMATS:
        with pytest.raises(UnreadableFileError, match=r"nowhere\.jsonl: does not exist"):
            import_set(store, tmp_path / "nowhere.jsonl", "tricky", fmt)
    assert store.info("tricky").judgements == len(JUDGEMENTS)


def test_a_file_that_is_not_utf8_is_refused(store: GoldenStore, tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes("query_id,query,level,target_id,grade\na,caf\xe9,doc,d,1\n".encode("latin-1"))
    with pytest.raises(UnreadableFileError, match=r"latin1\.csv: is not UTF-8 text"):
        import_set(store, path, "tricky")


def test_an_invalid_set_name_is_refused_before_anything_is_written(store: GoldenStore, tmp_path: Path) -> None:
    out = export_set(store, "tricky", "jsonl", tmp_path / "set.jsonl")
    with pytest.raises(InvalidInputError, match="Invalid golden set name"):
        import_set(store, out, "a/b")
    assert store.names() == ["tricky"]


# -- the real collections of ../shared ------------------------------------------------------------


def _file_counts(folder: Path) -> tuple[int, int]:
    queries = sum(1 for line in (folder / "queries.jsonl").open(encoding="utf-8") if line.strip())
    qrels = sum(1 for line in (folder / "qrels.tsv").open(encoding="utf-8") if line.strip()) - 1  # header
    return queries, qrels


@pytest.mark.slow
@pytest.mark.parametrize(("name", "queries", "judgements"), [("cisi", 76, 3114), ("cranfield", 225, 1837)])
def test_real_beir_qrels_import_whole(tmp_path: Path, name: str, queries: int, judgements: int) -> None:
    folder = shared_collection(name)
    store = GoldenStore(tmp_path / "golden.sqlite")

    info = import_set(store, folder, name)

    assert (info.queries, info.judgements) == (queries, judgements) == _file_counts(folder)
    expected_queries, expected_qrels = read_beir_judgements(folder) or ({}, {})
    assert store.queries(name) == expected_queries
    assert store.qrels(name) == expected_qrels  # grades as given: Cranfield keeps its 0-4 scale
    # TREC out and back in keeps every judgement of a real collection.
    qrels_file = export_set(store, name, "trec", tmp_path / f"{name}.qrels")
    assert import_set(store, qrels_file, "again").judgements == judgements
    assert store.qrels("again") == expected_qrels and store.queries("again") == expected_queries


@pytest.mark.slow
def test_cranfield_grades_span_0_to_4(tmp_path: Path) -> None:
    store = GoldenStore(tmp_path / "golden.sqlite")
    import_set(store, shared_collection("cranfield"), "cran")
    grades = [grade for targets in store.qrels("cran").values() for grade in targets.values()]
    assert {grade: grades.count(grade) for grade in sorted(set(grades))} == {0: 225, 1: 363, 2: 734, 3: 387, 4: 128}
