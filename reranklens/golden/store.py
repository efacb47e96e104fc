"""Golden sets: named sets of queries with relevance judgements, in ``golden.sqlite`` in the data dir or in the
configured database (reranklens.database).

Every person's judgement is kept: (set, query, level, target, labeller ``who``) -> grade, note, origin,
time. The grade a set *uses* (evaluation, training, TREC/BEIR export) is its consensus: one rule per set
(``median``, the default, ``mean``, ``max`` or ``latest``), overridden per target by an adjudicated grade
(who decided, when). With one labeller the consensus is that person's judgement, unchanged, so a set
labelled by one person behaves as it did before grades were kept per person. ``judgements`` and
``qrels`` return the consensus; ``person_judgements`` returns every person's grade.

Labels are precious and several app sessions (and processes) write at once: every write is one transaction
that first takes the write lock (SQLite's ``BEGIN IMMEDIATE``; on PostgreSQL the set's row, ``FOR UPDATE``), so
writers queue and nothing is lost; readers never block. ``seq`` numbers a set's queries and judgements in the
order they were written. ``_MIGRATIONS`` upgrades older files in place; the steps up to version 4 were written
for SQLite (``rowid``) and only ever run there: a PostgreSQL database starts at the newest version.

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
import statistics
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, get_args

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from reranklens import database
from reranklens.errors import InvalidInputError

SCHEMA_VERSION = 5
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
    # Write order as a column (PostgreSQL has no rowid): the order of queries and of judgements is kept.
    5: """
    ALTER TABLE queries ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;
    UPDATE queries SET seq = rowid;
    ALTER TABLE judgements ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;
    UPDATE judgements SET seq = rowid;
    CREATE INDEX queries_in_order ON queries (golden_set, seq);
    CREATE INDEX judgements_in_order ON judgements (golden_set, seq);
    """,
}
_METADATA = sa.MetaData()
SETS = sa.Table(
    "golden_sets",
    _METADATA,
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("source", sa.Text, nullable=False, server_default=""),
    sa.Column("created_at", sa.Text, nullable=False),
    sa.Column("consensus", sa.Text, nullable=False, server_default="median"),
    sa.Column("blind", sa.Integer, nullable=False, server_default="0"),
)
QUERIES = sa.Table(
    "queries",
    _METADATA,
    sa.Column("golden_set", sa.Text, sa.ForeignKey("golden_sets.name", ondelete="CASCADE"), primary_key=True),
    sa.Column("query_id", sa.Text, primary_key=True),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("note", sa.Text, nullable=False, server_default=""),
    sa.Column("created_at", sa.Text, nullable=False, server_default=""),
    sa.Column("seq", sa.Integer, nullable=False, server_default="0"),
    sa.Index("queries_in_order", "golden_set", "seq"),
)
_LEVEL_CHECK = "level IN ('doc', 'chunk')"
_QUERY_KEY = sa.ForeignKeyConstraint(
    ["golden_set", "query_id"], ["queries.golden_set", "queries.query_id"], ondelete="CASCADE"
)
JUDGEMENTS = sa.Table(
    "judgements",
    _METADATA,
    sa.Column("golden_set", sa.Text, primary_key=True),
    sa.Column("query_id", sa.Text, primary_key=True),
    sa.Column("level", sa.Text, sa.CheckConstraint(_LEVEL_CHECK), primary_key=True),
    sa.Column("target_id", sa.Text, primary_key=True),
    sa.Column("who", sa.Text, primary_key=True, server_default=""),
    sa.Column("grade", sa.Integer, nullable=False),
    sa.Column("note", sa.Text, nullable=False, server_default=""),
    sa.Column("origin", sa.Text, nullable=False, server_default="human"),
    sa.Column("updated_at", sa.Text, nullable=False),
    sa.Column("suggested_grade", sa.Integer),
    sa.Column("suggested_by", sa.Text, nullable=False, server_default=""),
    sa.Column("seq", sa.Integer, nullable=False, server_default="0"),
    _QUERY_KEY,
    sa.Index("judgements_in_order", "golden_set", "seq"),
)
ADJUDICATIONS = sa.Table(
    "adjudications",
    _METADATA,
    sa.Column("golden_set", sa.Text, primary_key=True),
    sa.Column("query_id", sa.Text, primary_key=True),
    sa.Column("level", sa.Text, sa.CheckConstraint(_LEVEL_CHECK), primary_key=True),
    sa.Column("target_id", sa.Text, primary_key=True),
    sa.Column("grade", sa.Integer, nullable=False),
    sa.Column("note", sa.Text, nullable=False, server_default=""),
    sa.Column("who", sa.Text, nullable=False, server_default=""),
    sa.Column("decided_at", sa.Text, nullable=False),
    sa.ForeignKeyConstraint(["golden_set", "query_id"], ["queries.golden_set", "queries.query_id"], ondelete="CASCADE"),
)
SCHEMA = database.Schema("golden", _METADATA, SCHEMA_VERSION, _MIGRATIONS)
J = JUDGEMENTS.c
_JUDGEMENT_COLUMNS = (
    J.query_id,
    J.level,
    J.target_id,
    J.grade,
    J.note,
    J.who,
    J.origin,
    J.updated_at,
    J.suggested_grade,
    J.suggested_by,
)


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


class GoldenStore:
    """Read and write golden sets in ``path`` (created, or migrated, on first use)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        with self._connect():  # creates or migrates the file now, so a newer schema is refused up front
            pass

    # -- plumbing -------------------------------------------------------------------------------

    def _connect(self) -> AbstractContextManager[Connection]:
        return database.reading(self.path, SCHEMA)

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        with database.transaction(self.path, SCHEMA) as db:
            yield db

    def schema_version(self) -> int:
        return database.version(self.path, SCHEMA)

    def _require_set(self, db: Connection, name: str, lock: bool = False) -> None:
        """Refuse an unknown set; ``lock``: hold its row until the transaction ends, so writers of one set queue
        on PostgreSQL as they do on SQLite (whose write lock covers the file)."""
        query = sa.select(SETS.c.name).where(SETS.c.name == name)
        if db.execute(query.with_for_update() if lock else query).first() is None:
            known = ", ".join(db.execute(sa.select(SETS.c.name).order_by(SETS.c.name)).scalars()) or "none yet"
            raise InvalidInputError(f"No golden set named '{name}' (existing: {known}).")

    def _require_query(self, db: Connection, name: str, query_id: str) -> None:
        self._require_set(db, name, lock=True)
        found = db.execute(
            sa.select(QUERIES.c.query_id).where(QUERIES.c.golden_set == name, QUERIES.c.query_id == query_id)
        ).first()
        if found is None:
            raise InvalidInputError(f"No query '{query_id}' in golden set '{name}': add the query first.")

    # -- sets -----------------------------------------------------------------------------------

    def create_set(self, name: str, source: str = "") -> None:
        """Create an empty set; an existing set of that name is left as it is."""
        name = _check_name(name)
        with self._transaction() as db:
            db.execute(database.insert_ignoring(db, SETS).values(name=name, source=source, created_at=_now()))

    def delete_set(self, name: str) -> None:
        with self._transaction() as db:
            self._require_set(db, name, lock=True)
            for table in (ADJUDICATIONS, JUDGEMENTS, QUERIES):
                db.execute(table.delete().where(table.c.golden_set == name))
            db.execute(SETS.delete().where(SETS.c.name == name))

    def names(self) -> list[str]:
        with self._connect() as db:
            return list(db.execute(sa.select(SETS.c.name).order_by(SETS.c.name)).scalars())

    def info(self, name: str) -> GoldenSetInfo:
        with self._connect() as db:
            self._require_set(db, name)
            source, consensus, blind = db.execute(
                sa.select(SETS.c.source, SETS.c.consensus, SETS.c.blind).where(SETS.c.name == name)
            ).one()
            queries = db.execute(
                sa.select(sa.func.count()).select_from(QUERIES).where(QUERIES.c.golden_set == name)
            ).scalar_one()
            labels, labelers = db.execute(
                sa.select(sa.func.count(), sa.func.count(sa.distinct(J.who))).where(J.golden_set == name)
            ).one()
            targets = sa.select(J.query_id, J.level, J.target_id).where(J.golden_set == name).distinct().subquery()
            judged = db.execute(sa.select(sa.func.count()).select_from(targets)).scalar_one()
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
            kept = db.execute(
                sa.select(SETS.c.consensus, SETS.c.blind).where(SETS.c.name == name).with_for_update()
            ).first()
            consensus, blind = kept if kept is not None else (DEFAULT_CONSENSUS, 0)
            for table in (ADJUDICATIONS, JUDGEMENTS, QUERIES):
                db.execute(table.delete().where(table.c.golden_set == name))
            db.execute(SETS.delete().where(SETS.c.name == name))
            db.execute(SETS.insert().values(name=name, source=source, created_at=now, consensus=consensus, blind=blind))
            if queries:
                db.execute(
                    QUERIES.insert(),
                    [
                        {"golden_set": name, "query_id": q.query_id, "text": q.text, "note": q.note}
                        | {"created_at": now, "seq": seq}
                        for seq, q in enumerate(queries, start=1)
                    ],
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
            self._require_set(db, name, lock=True)
            row = db.execute(
                sa.select(QUERIES.c.query_id).where(
                    QUERIES.c.golden_set == name, (QUERIES.c.query_id == query_id) | (QUERIES.c.text == text)
                )
            ).first()
            if row is None:
                seq = _next_seq(db, QUERIES, name)
                db.execute(
                    QUERIES.insert().values(
                        golden_set=name, query_id=query_id, text=text, note=note or "", created_at=_now(), seq=seq
                    )
                )
                return query_id
            if note is not None:
                db.execute(
                    QUERIES.update().where(QUERIES.c.golden_set == name, QUERIES.c.query_id == row[0]).values(note=note)
                )
            return str(row[0])

    def set_query_note(self, name: str, query_id: str, note: str) -> None:
        with self._transaction() as db:
            changed = db.execute(
                QUERIES.update()
                .where(QUERIES.c.golden_set == name, QUERIES.c.query_id == query_id)
                .values(note=note)
                .returning(QUERIES.c.query_id)
            ).first()
            if changed is None:
                raise InvalidInputError(f"No query '{query_id}' in golden set '{name}'.")

    def queries(self, name: str) -> dict[str, str]:
        """``{query_id: text}`` in insertion order."""
        return {q.query_id: q.text for q in self.query_list(name)}

    def query_list(self, name: str) -> list[GoldenQuery]:
        with self._connect() as db:
            self._require_set(db, name)
            rows = db.execute(
                sa.select(QUERIES.c.query_id, QUERIES.c.text, QUERIES.c.note)
                .where(QUERIES.c.golden_set == name)
                .order_by(QUERIES.c.seq)
            ).all()
        return [GoldenQuery(*row) for row in rows]

    def find_query(self, name: str, text: str) -> GoldenQuery | None:
        """The set's query with these words (whitespace-insensitive), if any."""
        text = " ".join(text.split())
        with self._connect() as db:
            row = db.execute(
                sa.select(QUERIES.c.query_id, QUERIES.c.text, QUERIES.c.note).where(
                    QUERIES.c.golden_set == name, QUERIES.c.text == text
                )
            ).first()
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
            db.execute(JUDGEMENTS.delete().where(_target(J, name, query_id, level, target_id), J.who == who))
            _insert_judgements(db, name, [judgement])
        return judgement

    def unjudge(self, name: str, query_id: str, level: Level, target_id: str, who: str | None = None) -> None:
        """Remove ``who``'s grade for the target; ``who=None`` removes everyone's, and its adjudication."""
        with self._transaction() as db:
            if who is None:
                db.execute(JUDGEMENTS.delete().where(_target(J, name, query_id, level, target_id)))
                db.execute(ADJUDICATIONS.delete().where(_target(ADJUDICATIONS.c, name, query_id, level, target_id)))
            else:
                db.execute(JUDGEMENTS.delete().where(_target(J, name, query_id, level, target_id), J.who == who))

    def person_judgements(self, name: str, query_id: str | None = None, who: str | None = None) -> list[Judgement]:
        """Every person's judgement (one per target and labeller) in the order they were made,
        optionally only for one query and/or one labeller."""
        query = sa.select(*_JUDGEMENT_COLUMNS).where(J.golden_set == name)
        if query_id is not None:
            query = query.where(J.query_id == query_id)
        if who is not None:
            query = query.where(J.who == who)
        with self._connect() as db:
            self._require_set(db, name)
            rows = db.execute(query.order_by(J.seq)).all()
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
            rule = db.execute(sa.select(SETS.c.consensus).where(SETS.c.name == name)).scalar_one()
        return rule if rule in CONSENSUS_RULES else DEFAULT_CONSENSUS

    def set_consensus_rule(self, name: str, rule: str) -> None:
        """Choose how the set turns several people's grades into the one it uses."""
        if rule not in CONSENSUS_RULES:
            raise InvalidInputError(f"Unknown consensus rule {rule!r}: choose one of {', '.join(CONSENSUS_RULES)}.")
        with self._transaction() as db:
            self._require_set(db, name, lock=True)
            db.execute(SETS.update().where(SETS.c.name == name).values(consensus=rule))

    def is_blind(self, name: str) -> bool:
        """Blind labelling: a labeller sees other people's grades for a target only after grading it."""
        with self._connect() as db:
            self._require_set(db, name)
            return bool(db.execute(sa.select(SETS.c.blind).where(SETS.c.name == name)).scalar_one())

    def set_blind(self, name: str, blind: bool) -> None:
        with self._transaction() as db:
            self._require_set(db, name, lock=True)
            db.execute(SETS.update().where(SETS.c.name == name).values(blind=1 if blind else 0))

    def adjudicate(
        self, name: str, query_id: str, level: Level, target_id: str, grade: int, who: str, note: str = ""
    ) -> Adjudication:
        """Record the final grade for a target people disagree on; it wins over the consensus rule.
        Deciding again replaces the earlier decision."""
        check_grade(grade)
        decision = Adjudication(query_id, level, target_id, grade, who, _now(), note)
        with self._transaction() as db:
            self._require_query(db, name, query_id)
            graded = db.execute(sa.select(J.grade).where(_target(J, name, query_id, level, target_id))).first()
            if graded is None:
                raise InvalidInputError(f"Nobody has graded {level} '{target_id}' for this query: nothing to decide.")
            key = {"golden_set": name, "query_id": query_id, "level": level, "target_id": target_id}
            row = key | {"grade": grade, "note": note, "who": who, "decided_at": decision.decided_at}
            database.upsert(db, ADJUDICATIONS, row)
        return decision

    def clear_adjudication(self, name: str, query_id: str, level: Level, target_id: str) -> None:
        """Drop the decision: the target's grade is the consensus rule's again."""
        with self._transaction() as db:
            db.execute(ADJUDICATIONS.delete().where(_target(ADJUDICATIONS.c, name, query_id, level, target_id)))

    def adjudications(self, name: str, query_id: str | None = None) -> list[Adjudication]:
        a = ADJUDICATIONS.c
        query = sa.select(a.query_id, a.level, a.target_id, a.grade, a.who, a.decided_at, a.note).where(
            a.golden_set == name
        )
        if query_id is not None:
            query = query.where(a.query_id == query_id)
        with self._connect() as db:
            self._require_set(db, name)
            rows = db.execute(query.order_by(a.query_id, a.level, a.target_id)).all()
        return [Adjudication(*row) for row in rows]


def _target(columns: sa.ColumnCollection, name: str, query_id: str, level: str, target_id: str) -> sa.ColumnElement:
    """One target's rows (every labeller's) in ``judgements`` or ``adjudications``."""
    return sa.and_(
        columns.golden_set == name,
        columns.query_id == query_id,
        columns.level == level,
        columns.target_id == target_id,
    )


def _next_seq(db: Connection, table: sa.Table, name: str) -> int:
    """The next write-order number in the set (writers of one set are serialised: see ``_require_set``)."""
    found = db.execute(sa.select(sa.func.max(table.c.seq)).where(table.c.golden_set == name)).scalar()
    return int(found or 0) + 1


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


def _insert_judgements(db: Connection, name: str, judgements: Sequence[Judgement]) -> None:
    if not judgements:
        return
    now = _now()
    first = _next_seq(db, JUDGEMENTS, name)
    db.execute(
        JUDGEMENTS.insert(),
        [
            {
                "golden_set": name,
                "query_id": j.query_id,
                "level": j.level,
                "target_id": j.target_id,
                "grade": j.grade,
                "note": j.note,
                "who": j.who,
                "origin": j.origin,
                "updated_at": j.updated_at or now,
                "suggested_grade": j.suggested_grade,
                "suggested_by": j.suggested_by,
                "seq": seq,
            }
            for seq, j in enumerate(judgements, start=first)
        ],
    )


def _check_name(name: str) -> str:
    name = (name or "").strip()
    if not name or len(name) > 128 or any(ch in name for ch in "/\\\n\r\t"):
        raise InvalidInputError(f"Invalid golden set name {name!r}: use 1-128 characters without slashes.")
    return name


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
