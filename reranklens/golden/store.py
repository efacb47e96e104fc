"""Golden sets: named sets of queries with relevance judgements, in one SQLite file.

Every person's judgement is kept: (set, query, level, target, labeller ``who``) -> grade, note, origin,
time. The grade a set *uses* (evaluation, training, TREC/BEIR export) is its consensus: one rule per set
(``median``, the default, ``mean``, ``max`` or ``latest``), overridden per target by an adjudicated grade
(who decided, when). With one labeller the consensus is that person's judgement, unchanged, so a set
labelled by one person behaves as it did before grades were kept per person. ``judgements`` and
``qrels`` return the consensus; ``person_judgements`` returns every person's grade.

SQLite in WAL mode because labels are precious and several app sessions write at once: every write
is one ``BEGIN IMMEDIATE`` transaction (writers queue, nothing is lost), readers never block.
``PRAGMA user_version`` holds the schema version; ``_MIGRATIONS`` upgrades older files in place.

A judgement targets a document (``level='doc'``, as BEIR qrels do) or a chunk (``level='chunk'``)
with a grade (0 = judged not relevant). Labels made in RerankLens use 0-3; imported judgements
keep their published scale (Cranfield's qrels go to 4), up to ``MAX_IMPORTED_GRADE``.
Judgements point at ids, not rows of the vector store,
so they survive re-ingestion; a chunk id that no longer exists is reported as orphaned, never
dropped.
"""

from __future__ import annotations

import hashlib
import math
import sqlite3
import statistics
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, get_args

from reranklens import database
from reranklens.errors import InvalidInputError, RerankLensError

SCHEMA_VERSION = 4
Level = Literal["doc", "chunk"]
Origin = Literal["human", "import", "suggestion"]
LEVELS: tuple[Level, ...] = ("doc", "chunk")
ConsensusRule = Literal["median", "mean", "max", "latest"]
CONSENSUS_RULES: tuple[ConsensusRule, ...] = get_args(ConsensusRule)
DEFAULT_CONSENSUS: ConsensusRule = "median"
MIN_GRADE, MAX_GRADE = 0, 3
# Imported collections may use a wider scale (Cranfield's qrels go to 4); labels made here use 0-3.
MAX_IMPORTED_GRADE = 10
GRADE_LABELS = {0: "not relevant", 1: "related", 2: "relevant", 3: "answers it"}

_SCHEMA_V1 = """
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
# version reached -> SQL that gets there from the version before
_MIGRATIONS: dict[int, str] = {
    1: _SCHEMA_V1,
    2: """
    ALTER TABLE judgements ADD COLUMN origin TEXT NOT NULL DEFAULT 'human';
    ALTER TABLE queries ADD COLUMN created_at TEXT NOT NULL DEFAULT '';
    UPDATE judgements SET origin = 'import' WHERE who = 'import';
    """,
    # What an LLM judge suggested when the person labelled (kept whether they accepted it or not,
    # so agreement between suggestions and people can be measured).
    3: """
    ALTER TABLE judgements ADD COLUMN suggested_grade INTEGER;
    ALTER TABLE judgements ADD COLUMN suggested_by TEXT NOT NULL DEFAULT '';
    """,
    # One judgement per person (``who`` joins the key: a second person's grade no longer replaces the
    # first's), an adjudicated grade per target, and each set's consensus rule and blind switch. The
    # table is rebuilt because a primary key cannot be altered; today's rows keep their ``who``.
    4: """
    CREATE TABLE judgements_v4 (
        golden_set TEXT NOT NULL,
        query_id TEXT NOT NULL,
        level TEXT NOT NULL CHECK (level IN ('doc', 'chunk')),
        target_id TEXT NOT NULL,
        who TEXT NOT NULL DEFAULT '',
        grade INTEGER NOT NULL,
        note TEXT NOT NULL DEFAULT '',
        origin TEXT NOT NULL DEFAULT 'human',
        updated_at TEXT NOT NULL,
        suggested_grade INTEGER,
        suggested_by TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (golden_set, query_id, level, target_id, who),
        FOREIGN KEY (golden_set, query_id) REFERENCES queries(golden_set, query_id) ON DELETE CASCADE
    );
    INSERT INTO judgements_v4
        (golden_set, query_id, level, target_id, who, grade, note, origin, updated_at, suggested_grade, suggested_by)
        SELECT golden_set, query_id, level, target_id, who, grade, note, origin, updated_at, suggested_grade,
            suggested_by
        FROM judgements ORDER BY rowid;
    DROP TABLE judgements;
    ALTER TABLE judgements_v4 RENAME TO judgements;
    CREATE TABLE adjudications (
        golden_set TEXT NOT NULL,
        query_id TEXT NOT NULL,
        level TEXT NOT NULL CHECK (level IN ('doc', 'chunk')),
        target_id TEXT NOT NULL,
        grade INTEGER NOT NULL,
        note TEXT NOT NULL DEFAULT '',
        who TEXT NOT NULL DEFAULT '',
        decided_at TEXT NOT NULL,
        PRIMARY KEY (golden_set, query_id, level, target_id),
        FOREIGN KEY (golden_set, query_id) REFERENCES queries(golden_set, query_id) ON DELETE CASCADE
    );
    ALTER TABLE golden_sets ADD COLUMN consensus TEXT NOT NULL DEFAULT 'median';
    ALTER TABLE golden_sets ADD COLUMN blind INTEGER NOT NULL DEFAULT 0;
    """,
}
_JUDGEMENT_COLUMNS = "query_id, level, target_id, grade, note, who, origin, updated_at, suggested_grade, suggested_by"


@dataclass(frozen=True)
class GoldenSetInfo:
    """``judgements``: targets holding a grade (the consensus count); ``labels``: every person's grades."""

    name: str
    source: str
    queries: int
    judgements: int
    labels: int = 0
    labelers: int = 0
    consensus: ConsensusRule = DEFAULT_CONSENSUS
    blind: bool = False


@dataclass(frozen=True)
class GoldenQuery:
    query_id: str
    text: str
    note: str = ""


@dataclass(frozen=True)
class Judgement:
    """One grade. ``origin='suggestion'``: a person (``who``) accepted an LLM judge's suggestion;
    ``'human'``: a person chose the grade. ``suggested_grade``/``suggested_by`` keep the suggestion
    (and the model that made it) that was shown when the person labelled, if any."""

    query_id: str
    level: Level
    target_id: str
    grade: int
    note: str = ""
    who: str = ""
    origin: Origin = "human"
    updated_at: str = ""
    suggested_grade: int | None = None
    suggested_by: str = ""

    def __post_init__(self) -> None:
        check_grade(self.grade, MAX_IMPORTED_GRADE)
        if self.suggested_grade is not None:
            check_grade(self.suggested_grade)
        if self.level not in LEVELS:
            raise InvalidInputError(f"Judgement level must be 'doc' or 'chunk', got {self.level!r}.")
        if not self.target_id:
            raise InvalidInputError("A judgement needs a chunk or document id.")


@dataclass(frozen=True)
class Adjudication:
    """The final grade for one target, decided by ``who`` (an admin or reviewer) at ``decided_at``."""

    query_id: str
    level: Level
    target_id: str
    grade: int
    who: str
    decided_at: str
    note: str = ""


def check_grade(grade: object, maximum: int = MAX_GRADE) -> int:
    if isinstance(grade, bool) or not isinstance(grade, int) or not MIN_GRADE <= grade <= maximum:
        raise InvalidInputError(f"Grade must be an integer {MIN_GRADE}-{maximum}, got {grade!r}.")
    return grade


def query_id_for(text: str) -> str:
    """A stable id for a typed query: the same words give the same id."""
    normalised = " ".join(text.lower().split())
    return "q-" + hashlib.sha1(normalised.encode()).hexdigest()[:10]


def _migrate(db: sqlite3.Connection, path: Path) -> None:
    """Bring the file's schema to ``SCHEMA_VERSION`` (inside the caller's transaction)."""
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise RerankLensError(
            f"{path} was written by a newer RerankLens (schema {version} > {SCHEMA_VERSION}): upgrade."
        )
    for target in range(version + 1, SCHEMA_VERSION + 1):
        for statement in _MIGRATIONS[target].split(";"):
            if statement.strip():
                db.execute(statement)
        db.execute(f"PRAGMA user_version = {target}")


class GoldenStore:
    """Read and write golden sets in ``path`` (created, or migrated, on first use)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        with self._connect():  # creates or migrates the file now, so a newer schema is refused up front
            pass

    # -- plumbing -------------------------------------------------------------------------------

    def _connect(self) -> AbstractContextManager[sqlite3.Connection]:
        return database.reading(self.path, lambda db: _migrate(db, self.path))

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._connect() as db, database.transaction(db):
            yield db

    def schema_version(self) -> int:
        with self._connect() as db:
            return int(db.execute("PRAGMA user_version").fetchone()[0])

    def _require_set(self, db: sqlite3.Connection, name: str) -> None:
        if db.execute("SELECT 1 FROM golden_sets WHERE name = ?", (name,)).fetchone() is None:
            known = ", ".join(r[0] for r in db.execute("SELECT name FROM golden_sets ORDER BY name")) or "none yet"
            raise InvalidInputError(f"No golden set named '{name}' (existing: {known}).")

    def _require_query(self, db: sqlite3.Connection, name: str, query_id: str) -> None:
        self._require_set(db, name)
        found = db.execute("SELECT 1 FROM queries WHERE golden_set = ? AND query_id = ?", (name, query_id)).fetchone()
        if found is None:
            raise InvalidInputError(f"No query '{query_id}' in golden set '{name}': add the query first.")

    # -- sets -----------------------------------------------------------------------------------

    def create_set(self, name: str, source: str = "") -> None:
        """Create an empty set; an existing set of that name is left as it is."""
        name = _check_name(name)
        with self._transaction() as db:
            db.execute(
                "INSERT INTO golden_sets (name, source, created_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING",
                (name, source, _now()),
            )

    def delete_set(self, name: str) -> None:
        with self._transaction() as db:
            self._require_set(db, name)
            db.execute("DELETE FROM adjudications WHERE golden_set = ?", (name,))
            db.execute("DELETE FROM judgements WHERE golden_set = ?", (name,))
            db.execute("DELETE FROM queries WHERE golden_set = ?", (name,))
            db.execute("DELETE FROM golden_sets WHERE name = ?", (name,))

    def names(self) -> list[str]:
        with self._connect() as db:
            return [row[0] for row in db.execute("SELECT name FROM golden_sets ORDER BY name")]

    def info(self, name: str) -> GoldenSetInfo:
        with self._connect() as db:
            self._require_set(db, name)
            source, consensus, blind = db.execute(
                "SELECT source, consensus, blind FROM golden_sets WHERE name = ?", (name,)
            ).fetchone()
            queries = db.execute("SELECT COUNT(*) FROM queries WHERE golden_set = ?", (name,)).fetchone()[0]
            labels, labelers = db.execute(
                "SELECT COUNT(*), COUNT(DISTINCT who) FROM judgements WHERE golden_set = ?", (name,)
            ).fetchone()
            judged = db.execute(
                "SELECT COUNT(*) FROM (SELECT DISTINCT query_id, level, target_id FROM judgements "
                "WHERE golden_set = ?) AS targets",
                (name,),
            ).fetchone()[0]
        return GoldenSetInfo(
            name=name,
            source=source,
            queries=queries,
            judgements=judged,
            labels=labels,
            labelers=labelers,
            consensus=consensus if consensus in CONSENSUS_RULES else DEFAULT_CONSENSUS,
            blind=bool(blind),
        )

    def replace_set(
        self,
        name: str,
        queries: Mapping[str, str],
        qrels: Mapping[str, Mapping[str, int]],
        level: Level = "doc",
        source: str = "",
    ) -> GoldenSetInfo:
        """Create or overwrite set ``name`` from TREC-shaped data in one transaction (all or nothing)."""
        judgements = [
            Judgement(qid, level, target, int(grade), who="import", origin="import")
            for qid, targets in qrels.items()
            for target, grade in targets.items()
        ]
        return self.write_set(name, [GoldenQuery(qid, text) for qid, text in queries.items()], judgements, source)

    def write_set(
        self, name: str, queries: list[GoldenQuery], judgements: list[Judgement], source: str = ""
    ) -> GoldenSetInfo:
        """Create or overwrite set ``name`` with exactly these queries and judgements, atomically.

        Judgements by different people (``who``) for one target are all kept; the same person twice for
        one target keeps the later one. An overwritten set keeps its consensus rule and blind switch;
        its adjudications go with the judgements they decided.
        """
        name = _check_name(name)
        known = {q.query_id for q in queries}
        if len(known) != len(queries):
            raise InvalidInputError(f"Golden set '{name}': duplicate query ids.")
        unknown = sorted({j.query_id for j in judgements} - known)
        if unknown:
            raise InvalidInputError(f"Judgements name queries that are not in the set: {', '.join(unknown[:5])}")
        unique = list({(j.query_id, j.level, j.target_id, j.who): j for j in judgements}.values())
        now = _now()
        with self._transaction() as db:
            kept = db.execute("SELECT consensus, blind FROM golden_sets WHERE name = ?", (name,)).fetchone()
            consensus, blind = kept if kept is not None else (DEFAULT_CONSENSUS, 0)
            db.execute("DELETE FROM adjudications WHERE golden_set = ?", (name,))
            db.execute("DELETE FROM judgements WHERE golden_set = ?", (name,))
            db.execute("DELETE FROM queries WHERE golden_set = ?", (name,))
            db.execute("DELETE FROM golden_sets WHERE name = ?", (name,))
            db.execute(
                "INSERT INTO golden_sets (name, source, created_at, consensus, blind) VALUES (?, ?, ?, ?, ?)",
                (name, source, now, consensus, blind),
            )
            db.executemany(
                "INSERT INTO queries (golden_set, query_id, text, note, created_at) VALUES (?, ?, ?, ?, ?)",
                [(name, q.query_id, q.text, q.note, now) for q in queries],
            )
            _insert_judgements(db, name, unique)
        return self.info(name)

    # -- queries --------------------------------------------------------------------------------

    def add_query(self, name: str, text: str, query_id: str | None = None, note: str | None = None) -> str:
        """Add ``text`` to the set (created if needed) and return its id; a query already in the set
        (same id, or same words) is reused, its note updated when one is given."""
        text = " ".join(text.split())
        if not text:
            raise InvalidInputError("A golden query needs text.")
        query_id = query_id or query_id_for(text)
        self.create_set(name)
        with self._transaction() as db:
            row = db.execute(
                "SELECT query_id FROM queries WHERE golden_set = ? AND (query_id = ? OR text = ?)",
                (name, query_id, text),
            ).fetchone()
            if row is None:
                db.execute(
                    "INSERT INTO queries (golden_set, query_id, text, note, created_at) VALUES (?, ?, ?, ?, ?)",
                    (name, query_id, text, note or "", _now()),
                )
                return query_id
            if note is not None:
                db.execute("UPDATE queries SET note = ? WHERE golden_set = ? AND query_id = ?", (note, name, row[0]))
            return str(row[0])

    def set_query_note(self, name: str, query_id: str, note: str) -> None:
        with self._transaction() as db:
            changed = db.execute(
                "UPDATE queries SET note = ? WHERE golden_set = ? AND query_id = ?", (note, name, query_id)
            ).rowcount
            if not changed:
                raise InvalidInputError(f"No query '{query_id}' in golden set '{name}'.")

    def queries(self, name: str) -> dict[str, str]:
        """``{query_id: text}`` in insertion order."""
        return {q.query_id: q.text for q in self.query_list(name)}

    def query_list(self, name: str) -> list[GoldenQuery]:
        with self._connect() as db:
            self._require_set(db, name)
            rows = db.execute(
                "SELECT query_id, text, note FROM queries WHERE golden_set = ? ORDER BY rowid", (name,)
            ).fetchall()
        return [GoldenQuery(*row) for row in rows]

    def find_query(self, name: str, text: str) -> GoldenQuery | None:
        """The set's query with these words (whitespace-insensitive), if any."""
        text = " ".join(text.split())
        with self._connect() as db:
            row = db.execute(
                "SELECT query_id, text, note FROM queries WHERE golden_set = ? AND text = ?", (name, text)
            ).fetchone()
        return GoldenQuery(*row) if row else None

    # -- judgements -----------------------------------------------------------------------------

    def judge(
        self,
        name: str,
        query_id: str,
        level: Level,
        target_id: str,
        grade: int,
        note: str = "",
        who: str = "",
        origin: Origin = "human",
        suggested_grade: int | None = None,
        suggested_by: str = "",
    ) -> Judgement:
        """Record ``who``'s grade for one chunk or document of one query (their re-grade replaces their
        old grade; other people's grades are kept).

        ``suggested_grade`` is the LLM suggestion the person saw (None: none was shown); with
        ``origin='suggestion'`` the grade is that suggestion, accepted by ``who``.
        """
        check_grade(grade)
        if origin == "suggestion":
            if suggested_grade not in (None, grade):
                raise InvalidInputError("A label accepted from a suggestion must have the suggested grade.")
            suggested_grade = grade
        judgement = Judgement(
            query_id, level, target_id, grade, note, who, origin, _now(), suggested_grade, suggested_by
        )
        with self._transaction() as db:
            self._require_query(db, name, query_id)
            # Delete then insert (not an upsert): the new row goes last, so row order is write order,
            # which ``latest`` and the listing order rely on.
            db.execute(
                "DELETE FROM judgements WHERE golden_set = ? AND query_id = ? AND level = ? AND target_id = ? "
                "AND who = ?",
                (name, query_id, level, target_id, who),
            )
            _insert_judgements(db, name, [judgement])
        return judgement

    def unjudge(self, name: str, query_id: str, level: Level, target_id: str, who: str | None = None) -> None:
        """Remove ``who``'s grade for the target; ``who=None`` removes everyone's, and its adjudication."""
        where = "golden_set = ? AND query_id = ? AND level = ? AND target_id = ?"
        key = (name, query_id, level, target_id)
        with self._transaction() as db:
            if who is None:
                db.execute(f"DELETE FROM judgements WHERE {where}", key)
                db.execute(f"DELETE FROM adjudications WHERE {where}", key)
            else:
                db.execute(f"DELETE FROM judgements WHERE {where} AND who = ?", (*key, who))

    def person_judgements(self, name: str, query_id: str | None = None, who: str | None = None) -> list[Judgement]:
        """Every person's judgement (one per target and labeller) in the order they were made,
        optionally only for one query and/or one labeller."""
        sql = f"SELECT {_JUDGEMENT_COLUMNS} FROM judgements WHERE golden_set = ?"
        args: list[str] = [name]
        if query_id is not None:
            sql += " AND query_id = ?"
            args.append(query_id)
        if who is not None:
            sql += " AND who = ?"
            args.append(who)
        with self._connect() as db:
            self._require_set(db, name)
            rows = db.execute(sql + " ORDER BY rowid", args).fetchall()
        return [Judgement(*row) for row in rows]

    def labelers(self, name: str) -> list[str]:
        """The people (``who``) holding at least one judgement in the set, in order of their first one."""
        seen: dict[str, None] = {}
        for judgement in self.person_judgements(name):
            seen.setdefault(judgement.who, None)
        return list(seen)

    def judgements(self, name: str, query_id: str | None = None) -> list[Judgement]:
        """The set's consensus: one judgement per target, its grade by the set's rule (or adjudicated).

        With one labeller for a target, that person's judgement as it was stored. With several, ``who``
        lists them (comma-separated, in order), ``note`` joins their notes, ``updated_at`` is the
        latest; an adjudicated target carries the adjudicator as ``who`` and the decision's time.
        """
        people = self.person_judgements(name, query_id)
        rule = self.consensus_rule(name)
        decided = {(a.query_id, a.level, a.target_id): a for a in self.adjudications(name, query_id)}
        by_target: dict[tuple[str, str, str], list[Judgement]] = {}
        for judgement in people:
            by_target.setdefault((judgement.query_id, judgement.level, judgement.target_id), []).append(judgement)
        return [_consensus(group, rule, decided.get(target)) for target, group in by_target.items()]

    def qrels(self, name: str, level: Level = "doc") -> dict[str, dict[str, int]]:
        """``{query_id: {target_id: grade}}`` for one level, consensus grades: the TREC shape metric
        libraries take."""
        qrels: dict[str, dict[str, int]] = {}
        for judgement in self.judgements(name):
            if judgement.level == level:
                qrels.setdefault(judgement.query_id, {})[judgement.target_id] = judgement.grade
        return qrels

    # -- consensus, adjudication, blind labelling -----------------------------------------------

    def consensus_rule(self, name: str) -> ConsensusRule:
        with self._connect() as db:
            self._require_set(db, name)
            rule = db.execute("SELECT consensus FROM golden_sets WHERE name = ?", (name,)).fetchone()[0]
        return rule if rule in CONSENSUS_RULES else DEFAULT_CONSENSUS

    def set_consensus_rule(self, name: str, rule: str) -> None:
        """Choose how the set turns several people's grades into the one it uses."""
        if rule not in CONSENSUS_RULES:
            raise InvalidInputError(f"Unknown consensus rule {rule!r}: choose one of {', '.join(CONSENSUS_RULES)}.")
        with self._transaction() as db:
            self._require_set(db, name)
            db.execute("UPDATE golden_sets SET consensus = ? WHERE name = ?", (rule, name))

    def is_blind(self, name: str) -> bool:
        """Blind labelling: a labeller sees other people's grades for a target only after grading it."""
        with self._connect() as db:
            self._require_set(db, name)
            return bool(db.execute("SELECT blind FROM golden_sets WHERE name = ?", (name,)).fetchone()[0])

    def set_blind(self, name: str, blind: bool) -> None:
        with self._transaction() as db:
            self._require_set(db, name)
            db.execute("UPDATE golden_sets SET blind = ? WHERE name = ?", (1 if blind else 0, name))

    def adjudicate(
        self, name: str, query_id: str, level: Level, target_id: str, grade: int, who: str, note: str = ""
    ) -> Adjudication:
        """Record the final grade for a target people disagree on; it wins over the consensus rule.
        Deciding again replaces the earlier decision."""
        check_grade(grade)
        decision = Adjudication(query_id, level, target_id, grade, who, _now(), note)
        with self._transaction() as db:
            self._require_query(db, name, query_id)
            if (
                db.execute(
                    "SELECT 1 FROM judgements WHERE golden_set = ? AND query_id = ? AND level = ? AND target_id = ?",
                    (name, query_id, level, target_id),
                ).fetchone()
                is None
            ):
                raise InvalidInputError(f"Nobody has graded {level} '{target_id}' for this query: nothing to decide.")
            db.execute(
                "INSERT INTO adjudications (golden_set, query_id, level, target_id, grade, note, who, decided_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (golden_set, query_id, level, target_id) "
                "DO UPDATE SET grade = excluded.grade, note = excluded.note, who = excluded.who, "
                "decided_at = excluded.decided_at",
                (name, query_id, level, target_id, grade, note, who, decision.decided_at),
            )
        return decision

    def clear_adjudication(self, name: str, query_id: str, level: Level, target_id: str) -> None:
        """Drop the decision: the target's grade is the consensus rule's again."""
        with self._transaction() as db:
            db.execute(
                "DELETE FROM adjudications WHERE golden_set = ? AND query_id = ? AND level = ? AND target_id = ?",
                (name, query_id, level, target_id),
            )

    def adjudications(self, name: str, query_id: str | None = None) -> list[Adjudication]:
        sql = "SELECT query_id, level, target_id, grade, who, decided_at, note FROM adjudications WHERE golden_set = ?"
        args: list[str] = [name]
        if query_id is not None:
            sql += " AND query_id = ?"
            args.append(query_id)
        with self._connect() as db:
            self._require_set(db, name)
            rows = db.execute(sql + " ORDER BY query_id, level, target_id", args).fetchall()
        return [Adjudication(*row) for row in rows]


def consensus_grade(grades: Sequence[int], rule: ConsensusRule) -> int:
    """One grade from several people's (oldest first) by ``rule``; ``median`` and ``mean`` round a
    half up (grades 0 and 3: median 1.5 -> 2), so a split between two people leans to relevant.

    >>> [consensus_grade([3, 0], r) for r in ("median", "mean", "max", "latest")]
    [2, 2, 3, 0]
    >>> consensus_grade([0, 1, 3], "median"), consensus_grade([0, 1, 3], "mean")
    (1, 1)
    """
    if not grades:
        raise ValueError("consensus of no grades")
    if rule == "latest":
        return grades[-1]
    if rule == "max":
        return max(grades)
    if rule == "mean":
        value = sum(grades) / len(grades)
    elif rule == "median":
        value = float(statistics.median(grades))
    else:
        raise InvalidInputError(f"Unknown consensus rule {rule!r}: choose one of {', '.join(CONSENSUS_RULES)}.")
    return math.floor(value + 0.5)


def _consensus(group: list[Judgement], rule: ConsensusRule, decided: Adjudication | None) -> Judgement:
    """The judgement a set uses for one target, from its people's judgements (oldest first)."""
    if len(group) == 1 and decided is None:
        return group[0]
    latest = group[-1]
    notes = list(dict.fromkeys(j.note for j in group if j.note))
    origins = {j.origin for j in group}
    if decided is not None:
        return replace(
            latest,
            grade=decided.grade,
            note=decided.note or "; ".join(notes),
            who=decided.who,
            origin="human",
            updated_at=decided.decided_at,
        )
    return replace(
        latest,
        grade=consensus_grade([j.grade for j in group], rule),
        note="; ".join(notes),
        who=", ".join(dict.fromkeys(j.who for j in group)),
        origin=latest.origin if len(origins) == 1 else "human",
        updated_at=max(j.updated_at for j in group),
    )


def _insert_judgements(db: sqlite3.Connection, name: str, judgements: Sequence[Judgement]) -> None:
    now = _now()
    db.executemany(
        "INSERT INTO judgements "
        "(golden_set, query_id, level, target_id, grade, note, who, origin, updated_at, suggested_grade, "
        "suggested_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                name,
                j.query_id,
                j.level,
                j.target_id,
                j.grade,
                j.note,
                j.who,
                j.origin,
                j.updated_at or now,
                j.suggested_grade,
                j.suggested_by,
            )
            for j in judgements
        ],
    )


def _check_name(name: str) -> str:
    name = (name or "").strip()
    if not name or len(name) > 128 or any(ch in name for ch in "/\\\n\r\t"):
        raise InvalidInputError(f"Invalid golden set name {name!r}: use 1-128 characters without slashes.")
    return name


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
