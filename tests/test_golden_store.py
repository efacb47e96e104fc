"""GoldenStore on real SQLite files: grading, notes, validation, migration, orphans, and two
processes writing into one set at once."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from golden_writer import QUERY, target_id

from reranklens import database
from reranklens.errors import InvalidInputError, RerankLensError
from reranklens.golden.store import (
    CONSENSUS_RULES,
    MAX_IMPORTED_GRADE,
    SCHEMA_VERSION,
    GoldenQuery,
    GoldenStore,
    Judgement,
    consensus_grade,
    query_id_for,
)

pytest_plugins = ["fixtures_postgres"]

WRITER = Path(__file__).with_name("golden_writer.py")
TABLES = ("queries", "judgements", "adjudications")

# The v1 schema as it shipped, copied on purpose: the migration must keep working on files written
# by that release even if golden.py's own copy is ever edited.
SCHEMA_V1 = """
CREATE TABLE golden_sets (
    name TEXT PRIMARY KEY,
    source TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL
);
CREATE TABLE queries (
    golden_set TEXT NOT NULL REFERENCES golden_sets(name) ON DELETE CASCADE,
    query_id TEXT NOT NULL,
    text TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (golden_set, query_id)
);
CREATE TABLE judgements (
    golden_set TEXT NOT NULL,
    query_id TEXT NOT NULL,
    level TEXT NOT NULL CHECK (level IN ('doc', 'chunk')),
    target_id TEXT NOT NULL,
    grade INTEGER NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    who TEXT NOT NULL DEFAULT '',
    updated_at TEXT NOT NULL,
    PRIMARY KEY (golden_set, query_id, level, target_id),
    FOREIGN KEY (golden_set, query_id) REFERENCES queries(golden_set, query_id) ON DELETE CASCADE
);
"""
# What versions 2 and 3 added, as they shipped: a v3 file (one grade per chunk) is what teams upgrade from.
SCHEMA_V3_STEPS = """
ALTER TABLE judgements ADD COLUMN origin TEXT NOT NULL DEFAULT 'human';
ALTER TABLE queries ADD COLUMN created_at TEXT NOT NULL DEFAULT '';
ALTER TABLE judgements ADD COLUMN suggested_grade INTEGER;
ALTER TABLE judgements ADD COLUMN suggested_by TEXT NOT NULL DEFAULT '';
"""


@pytest.fixture
def store(tmp_path: Path, backend: str) -> GoldenStore:
    """A new store on each backend: a SQLite file, and a PostgreSQL database of its own."""
    return GoldenStore(tmp_path / "golden.sqlite")


@pytest.fixture
def labelled(store: GoldenStore) -> tuple[GoldenStore, str]:
    """Set 'faq' with one query; returns the store and the query id."""
    return store, store.add_query("faq", "How do I rotate an API key?")


def _iso(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    assert parsed.tzinfo is not None, value
    return parsed


def test_judge_stores_every_field_and_qrels_have_the_trec_shape(labelled: tuple[GoldenStore, str]) -> None:
    store, qid = labelled
    made = store.judge("faq", qid, "chunk", "3f2a9c0d11b7e4a5c6d8", 2, note="covers step 2", who="ana")
    store.judge("faq", qid, "doc", "guides/keys.md", 0, who="ana", origin="suggestion")

    first, second = store.judgements("faq")
    assert first == made
    assert (first.query_id, first.level, first.target_id, first.grade) == (qid, "chunk", "3f2a9c0d11b7e4a5c6d8", 2)
    assert (first.note, first.who, first.origin) == ("covers step 2", "ana", "human")
    _iso(first.updated_at)
    assert (second.grade, second.origin) == (0, "suggestion")  # grade 0 = judged not relevant, still stored
    assert store.qrels("faq", "chunk") == {qid: {"3f2a9c0d11b7e4a5c6d8": 2}}
    assert store.qrels("faq") == {qid: {"guides/keys.md": 0}}
    assert store.info("faq").judgements == 2


def test_regrading_replaces_only_that_persons_judgement(labelled: tuple[GoldenStore, str]) -> None:
    store, qid = labelled
    before = store.judge("faq", qid, "chunk", "c1", 1, note="partial", who="ana")
    after = store.judge("faq", qid, "chunk", "c1", 3, note="", who="ana")

    assert store.judgements("faq") == store.person_judgements("faq") == [after]
    assert (after.grade, after.note, after.who) == (3, "", "ana")
    assert _iso(after.updated_at) >= _iso(before.updated_at)

    bob = store.judge("faq", qid, "chunk", "c1", 0, note="off topic", who="bob")
    assert store.person_judgements("faq") == [after, bob]  # a second person's grade no longer replaces the first
    assert store.person_judgements("faq", who="bob") == [bob]
    assert store.labelers("faq") == ["ana", "bob"]
    info = store.info("faq")
    assert (info.judgements, info.labels, info.labelers) == (1, 2, 2)


def test_unjudge_removes_only_that_judgement(labelled: tuple[GoldenStore, str]) -> None:
    store, qid = labelled
    store.judge("faq", qid, "chunk", "c1", 1)
    store.judge("faq", qid, "doc", "c1", 2)  # same id on the other level is a different judgement
    store.unjudge("faq", qid, "chunk", "c1")
    assert [(j.level, j.target_id) for j in store.judgements("faq")] == [("doc", "c1")]


def test_notes_on_queries_and_judgements(labelled: tuple[GoldenStore, str]) -> None:
    store, qid = labelled
    store.set_query_note("faq", qid, "ambiguous: key = API key or SSH key?")
    assert store.query_list("faq") == [
        GoldenQuery(qid, "How do I rotate an API key?", "ambiguous: key = API key or SSH key?")
    ]
    assert store.add_query("faq", "How do I rotate an API key?", note="settled: API key") == qid
    assert store.query_list("faq")[0].note == "settled: API key"
    assert store.add_query("faq", "How do I rotate an API key?") == qid  # no note given: note kept
    assert store.query_list("faq")[0].note == "settled: API key"

    store.judge("faq", qid, "doc", "keys.md", 3, note='the exact procedure, with "quotes"\nand a line break')
    assert store.judgements("faq")[0].note == 'the exact procedure, with "quotes"\nand a line break'


def test_add_query_reuses_a_query_with_the_same_words(store: GoldenStore) -> None:
    qid = store.add_query("faq", "How do I rotate an API key?")
    assert qid == query_id_for("how do I  rotate an api KEY?")
    assert store.add_query("faq", "  how do I\trotate an API key? ") == qid  # same words, other case/spacing
    custom = store.add_query("faq", "Where are the logs?", query_id="logs-1")
    assert custom == "logs-1"
    assert store.add_query("faq", "Where are  the logs?") == "logs-1"  # found by its words, not its id
    assert store.find_query("faq", "Where are the\nlogs?") == GoldenQuery("logs-1", "Where are the logs?")
    assert [q.query_id for q in store.query_list("faq")] == [qid, "logs-1"]


def test_add_query_refuses_empty_text(store: GoldenStore) -> None:
    with pytest.raises(InvalidInputError, match="needs text"):
        store.add_query("faq", " \n\t")


@pytest.mark.parametrize("grade", [4, -1, "2", True, 2.0, None])
def test_judge_refuses_grades_outside_0_to_3(labelled: tuple[GoldenStore, str], grade: object) -> None:
    store, qid = labelled
    with pytest.raises(InvalidInputError, match=r"Grade must be an integer 0-3, got "):
        store.judge("faq", qid, "chunk", "c1", grade)  # type: ignore[arg-type]
    assert store.judgements("faq") == []


def test_imported_scales_are_kept_by_write_set_but_not_typed_by_judge(store: GoldenStore) -> None:
    # Cranfield's qrels use 0-4: imports keep their scale up to MAX_IMPORTED_GRADE; labels made here are 0-3.
    store.write_set("cran", [GoldenQuery("1", "heat transfer")], [Judgement("1", "doc", "184", 4, origin="import")])
    assert store.qrels("cran") == {"1": {"184": 4}}
    with pytest.raises(InvalidInputError, match="0-3"):
        store.judge("cran", "1", "doc", "185", 4)
    with pytest.raises(InvalidInputError, match=f"0-{MAX_IMPORTED_GRADE}"):
        Judgement("1", "doc", "186", MAX_IMPORTED_GRADE + 1)


def test_judgement_validates_level_and_target() -> None:
    with pytest.raises(InvalidInputError, match="'doc' or 'chunk'"):
        Judgement("q", "passage", "x", 1)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="needs a chunk or document id"):
        Judgement("q", "doc", "", 1)


def test_unknown_set_and_query_errors_say_what_exists(labelled: tuple[GoldenStore, str]) -> None:
    store, qid = labelled
    with pytest.raises(InvalidInputError, match=r"No golden set named 'nope' \(existing: faq\)"):
        store.judge("nope", qid, "doc", "d", 1)
    with pytest.raises(InvalidInputError, match="No query 'q-missing' in golden set 'faq': add the query first"):
        store.judge("faq", "q-missing", "doc", "d", 1)
    with pytest.raises(InvalidInputError, match="No query 'q-missing' in golden set 'faq'"):
        store.set_query_note("faq", "q-missing", "note")
    for call in (store.info, store.query_list, store.judgements, store.delete_set):
        with pytest.raises(InvalidInputError, match="No golden set named 'nope'"):
            call("nope")
    assert store.judgements("faq") == []


def test_invalid_set_names_are_refused(store: GoldenStore) -> None:
    for name in ("", "  ", "a/b", "tab\tname", "x" * 129):
        with pytest.raises(InvalidInputError, match="Invalid golden set name"):
            store.create_set(name)
    assert store.names() == []


def test_delete_set_removes_its_queries_and_judgements_only(store: GoldenStore) -> None:
    for name in ("keep", "drop"):
        qid = store.add_query(name, "shared words")
        store.judge(name, qid, "chunk", "c1", 2)
        store.judge(name, qid, "chunk", "c1", 0, who="bob")
        store.adjudicate(name, qid, "chunk", "c1", 1, who="rita")
    store.delete_set("drop")

    assert store.names() == ["keep"]
    assert store.info("keep").judgements == 1
    assert store.qrels("keep", "chunk") == {qid: {"c1": 1}}
    with database.engine(database.url_for(store.path)).connect() as db:
        left = {t: db.exec_driver_sql(f"SELECT COUNT(*) FROM {t} WHERE golden_set = 'drop'").scalar() for t in TABLES}
    assert left == {"queries": 0, "judgements": 0, "adjudications": 0}


def test_write_set_replaces_everything_atomically(store: GoldenStore) -> None:
    store.write_set("s", [GoldenQuery("a", "old")], [Judgement("a", "doc", "d1", 1)], source="v1")
    with pytest.raises(InvalidInputError, match="not in the set: zzz"):
        store.write_set("s", [GoldenQuery("b", "new")], [Judgement("zzz", "doc", "d2", 2)], source="v2")
    assert (store.queries("s"), store.qrels("s"), store.info("s").source) == ({"a": "old"}, {"a": {"d1": 1}}, "v1")

    store.write_set("s", [GoldenQuery("b", "new")], [Judgement("b", "chunk", "c2", 2)], source="v2")
    assert (store.queries("s"), store.qrels("s", "chunk"), store.qrels("s")) == ({"b": "new"}, {"b": {"c2": 2}}, {})


def test_chunk_judgements_are_never_dropped_as_orphans(labelled: tuple[GoldenStore, str]) -> None:
    # No collection exists at all: every chunk id is an orphan. The store keeps them; the Label page
    # reports them as orphaned. Rewriting other judgements must not touch them.
    store, qid = labelled
    orphans = {"0000deadbeef00000000": 3, "1111deadbeef11111111": 0}
    for chunk_id, grade in orphans.items():
        store.judge("faq", qid, "chunk", chunk_id, grade)
    other = store.add_query("faq", "Where are the logs?")
    for grade in (1, 2, 3):
        store.judge("faq", qid, "doc", "guides/keys.md", grade)
        store.judge("faq", other, "chunk", "2222aaaa", grade)
    store.unjudge("faq", other, "chunk", "2222aaaa")
    store.set_query_note("faq", qid, "re-checked")

    assert store.qrels("faq", "chunk") == {qid: orphans}
    assert store.qrels("faq") == {qid: {"guides/keys.md": 3}}


def test_v1_database_is_migrated_in_place(tmp_path: Path) -> None:
    path = tmp_path / "golden.sqlite"
    with sqlite3.connect(path) as db:
        db.executescript(SCHEMA_V1)
        db.execute("PRAGMA user_version = 1")
        db.execute("INSERT INTO golden_sets VALUES ('old', 'beir/adi', '2025-01-01T00:00:00+00:00')")
        db.execute("INSERT INTO queries VALUES ('old', '1', 'what is indexing?', 'from v1')")
        db.execute(
            "INSERT INTO judgements VALUES ('old', '1', 'doc', '17', 1, '', 'import', '2025-01-01T00:00:00+00:00')"
        )
        db.execute("INSERT INTO judgements VALUES ('old', '1', 'chunk', 'c9', 3, 'good', 'ana', '2025-01-02T00:00:00')")
    db.close()

    store = GoldenStore(path)

    assert store.schema_version() == SCHEMA_VERSION == 5
    assert store.query_list("old") == [GoldenQuery("1", "what is indexing?", "from v1")]
    imported, human = store.judgements("old")
    assert imported == Judgement("1", "doc", "17", 1, "", "import", "import", "2025-01-01T00:00:00+00:00")
    assert (human.who, human.origin, human.note, human.grade) == ("ana", "human", "good", 3)
    assert store.info("old").source == "beir/adi"
    store.judge("old", "1", "doc", "18", 2)  # the migrated file takes new writes
    assert GoldenStore(path).info("old").judgements == 3  # reopening does not migrate twice


def test_v3_database_keeps_every_label_with_its_who(tmp_path: Path) -> None:
    """A file from the one-grade-per-chunk release: each label becomes its labeler's judgement, the
    consensus of a single labeler is that label unchanged, and the set's rule starts at median."""
    path = tmp_path / "golden.sqlite"
    with sqlite3.connect(path) as db:
        db.executescript(SCHEMA_V1 + SCHEMA_V3_STEPS)
        db.execute("PRAGMA user_version = 3")
        db.execute("INSERT INTO golden_sets VALUES ('team', '', '2026-01-01T00:00:00+00:00')")
        db.execute("INSERT INTO queries VALUES ('team', 'q1', 'reset a password', '', '')")
        rows = [
            ("chunk", "c1", 3, "answers it", "ana", "2026-01-02T00:00:00+00:00", "human", None, ""),
            ("chunk", "c2", 1, "", "bob", "2026-01-03T00:00:00+00:00", "suggestion", 1, "gpt-4o-mini"),
            ("doc", "d1", 2, "", "import", "2026-01-01T00:00:00+00:00", "import", None, ""),
            ("chunk", "c3", 0, "", "", "2026-01-04T00:00:00+00:00", "human", 2, "gpt-4o-mini"),
        ]
        db.executemany(
            "INSERT INTO judgements (golden_set, query_id, level, target_id, grade, note, who, updated_at, origin, "
            "suggested_grade, suggested_by) VALUES ('team', 'q1', ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
    db.close()

    store = GoldenStore(path)

    expected = [Judgement("q1", level, t, g, n, w, o, at, sg, sb) for level, t, g, n, w, at, o, sg, sb in rows]  # type: ignore[arg-type]
    assert store.schema_version() == 5
    assert store.person_judgements("team") == expected
    assert store.judgements("team") == expected
    assert store.labelers("team") == ["ana", "bob", "import", ""]
    assert (store.consensus_rule("team"), store.is_blind("team"), store.adjudications("team")) == ("median", False, [])
    store.judge("team", "q1", "chunk", "c1", 0, who="bob")  # a second person now adds to ana's grade
    assert [j.who for j in store.person_judgements("team", "q1") if j.target_id == "c1"] == ["ana", "bob"]


@pytest.mark.parametrize(
    ("grades", "expected"),
    [
        ((3, 0), {"median": 2, "mean": 2, "max": 3, "latest": 0}),
        ((0, 3), {"median": 2, "mean": 2, "max": 3, "latest": 3}),
        ((3, 0, 2), {"median": 2, "mean": 2, "max": 3, "latest": 2}),
        ((0, 0, 1), {"median": 0, "mean": 0, "max": 1, "latest": 1}),
        ((1, 2), {"median": 2, "mean": 2, "max": 2, "latest": 2}),
        ((2,), {"median": 2, "mean": 2, "max": 2, "latest": 2}),
    ],
)
def test_each_consensus_rule_sets_the_grade_the_set_uses(
    labelled: tuple[GoldenStore, str], grades: tuple[int, ...], expected: dict[str, int]
) -> None:
    store, qid = labelled
    for who, grade in zip(("ana", "bob", "cy"), grades, strict=False):
        store.judge("faq", qid, "chunk", "c1", grade, who=who)
    for rule in CONSENSUS_RULES:
        store.set_consensus_rule("faq", rule)
        assert store.consensus_rule("faq") == store.info("faq").consensus == rule
        assert store.qrels("faq", "chunk") == {qid: {"c1": expected[rule]}}, rule
        assert consensus_grade(list(grades), rule) == expected[rule]
    [consensus] = store.judgements("faq")
    assert consensus.who == ", ".join(("ana", "bob", "cy")[: len(grades)])


def test_an_unknown_consensus_rule_is_refused(labelled: tuple[GoldenStore, str]) -> None:
    store, _ = labelled
    with pytest.raises(
        InvalidInputError, match=r"Unknown consensus rule 'mode': choose one of median, mean, max, latest"
    ):
        store.set_consensus_rule("faq", "mode")
    assert store.consensus_rule("faq") == "median"


def test_an_adjudicated_grade_wins_until_it_is_cleared(labelled: tuple[GoldenStore, str]) -> None:
    store, qid = labelled
    store.judge("faq", qid, "chunk", "c1", 3, note="the exact steps", who="ana")
    store.judge("faq", qid, "chunk", "c1", 0, note="wrong product", who="bob")
    store.judge("faq", qid, "chunk", "c2", 1, who="ana")
    store.set_consensus_rule("faq", "max")

    decision = store.adjudicate("faq", qid, "chunk", "c1", 2, who="rita", note="partly: step 2 only")

    assert store.qrels("faq", "chunk") == {qid: {"c1": 2, "c2": 1}}
    c1 = store.judgements("faq", qid)[0]
    assert (c1.grade, c1.who, c1.note, c1.updated_at) == (2, "rita", "partly: step 2 only", decision.decided_at)
    _iso(decision.decided_at)
    assert store.adjudications("faq") == [decision]
    assert [j.grade for j in store.person_judgements("faq") if j.target_id == "c1"] == [3, 0]  # people's grades kept

    assert store.adjudicate("faq", qid, "chunk", "c1", 1, who="sam").who == "sam"  # deciding again replaces it
    assert store.qrels("faq", "chunk")[qid]["c1"] == 1
    store.clear_adjudication("faq", qid, "chunk", "c1")
    assert store.qrels("faq", "chunk")[qid]["c1"] == 3  # the rule (max) again

    store.adjudicate("faq", qid, "chunk", "c1", 2, who="rita")
    store.unjudge("faq", qid, "chunk", "c1", who="bob")  # one person withdraws: the decision stands
    assert store.qrels("faq", "chunk")[qid]["c1"] == 2
    store.unjudge("faq", qid, "chunk", "c1")  # everyone's grade removed: the decision goes with them
    assert store.adjudications("faq") == []
    assert store.qrels("faq", "chunk") == {qid: {"c2": 1}}


def test_adjudication_needs_a_graded_target_and_a_valid_grade(labelled: tuple[GoldenStore, str]) -> None:
    store, qid = labelled
    with pytest.raises(InvalidInputError, match="Nobody has graded chunk 'c9' for this query: nothing to decide"):
        store.adjudicate("faq", qid, "chunk", "c9", 2, who="rita")
    store.judge("faq", qid, "chunk", "c9", 1, who="ana")
    with pytest.raises(InvalidInputError, match="Grade must be an integer 0-3, got 4"):
        store.adjudicate("faq", qid, "chunk", "c9", 4, who="rita")
    with pytest.raises(InvalidInputError, match="No query 'q-missing' in golden set 'faq'"):
        store.adjudicate("faq", "q-missing", "chunk", "c9", 2, who="rita")
    assert store.adjudications("faq") == []


def test_blind_switch_is_kept_per_set(store: GoldenStore) -> None:
    store.create_set("open")
    store.create_set("blind")
    store.set_blind("blind", True)
    assert (store.is_blind("open"), store.is_blind("blind"), store.info("blind").blind) == (False, True, True)
    store.set_blind("blind", False)
    assert store.is_blind("blind") is False
    with pytest.raises(InvalidInputError, match="No golden set named 'nope'"):
        store.set_blind("nope", True)


def test_write_set_keeps_every_persons_grade_and_the_sets_options(store: GoldenStore) -> None:
    store.create_set("team")
    store.set_consensus_rule("team", "latest")
    store.set_blind("team", True)
    judgements = [
        Judgement("q1", "chunk", "c1", 3, who="ana"),
        Judgement("q1", "chunk", "c1", 0, who="bob"),
        Judgement("q1", "chunk", "c1", 1, who="bob"),  # the same person twice: the later one is kept
    ]
    info = store.write_set("team", [GoldenQuery("q1", "reset a password")], judgements)

    assert (info.judgements, info.labels, info.labelers, info.consensus, info.blind) == (1, 2, 2, "latest", True)
    assert [(j.who, j.grade) for j in store.person_judgements("team")] == [("ana", 3), ("bob", 1)]
    assert store.qrels("team", "chunk") == {"q1": {"c1": 1}}


def test_a_database_from_a_newer_release_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "golden.sqlite"
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA user_version = 99")
    db.close()
    with pytest.raises(RerankLensError, match=r"newer RerankLens \(schema 99 > 5\): upgrade"):
        GoldenStore(path)


def test_two_processes_writing_one_set_lose_nothing(tmp_path: Path, backend: str) -> None:
    path, per_writer = tmp_path / "golden.sqlite", 1000
    store = GoldenStore(path)
    qid = store.add_query("shared", QUERY)
    go = tmp_path / "go"
    writers = [
        subprocess.Popen(
            [sys.executable, str(WRITER), str(path), "shared", str(start), str(per_writer), str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(WRITER.parents[1])},  # the engine, installed or not
        )
        for start in (0, per_writer)
    ]
    try:
        for writer in writers:  # both have opened the store before either writes
            assert writer.stdout is not None
            line = writer.stdout.readline().strip()
            assert line == "ready", writer.stderr.read() if writer.stderr else line
        go.touch()
        results = [writer.communicate(timeout=180) for writer in writers]
    finally:
        for writer in writers:
            if writer.poll() is None:
                writer.kill()
                writer.wait()

    for writer, (_, stderr) in zip(writers, results, strict=True):
        assert writer.returncode == 0, stderr
    judgements = store.judgements("shared")
    assert len(judgements) == 2 * per_writer
    assert {j.target_id for j in judgements} == {target_id(n) for n in range(2 * per_writer)}
    assert all(j.query_id == qid and j.level == "chunk" for j in judgements)
    assert all(j.grade == int(j.target_id.removeprefix("chunk-")) % 4 for j in judgements)
    # The writes really overlapped: in commit order, the two writers' judgements alternate.
    writers_in_order = [j.who for j in judgements]
    switches = sum(a != b for a, b in zip(writers_in_order, writers_in_order[1:], strict=False))
    assert switches > 1, "the two writers ran one after the other; the test did not exercise concurrency"
