"""One job queue for long work (training, evaluations, sweeps) shared by every app process on one database, so a
team's server runs at most ``max_running`` of them at once and every visitor sees, and may cancel, what is going on.

A job is a callable ``work(cancel, report)``: it checks ``cancel`` (a ``threading.Event``) between steps
or queries and raises when it is set, and calls ``report(done, total, message)`` as it goes. The queue
never imports what it runs (training and evaluation sit above this layer): callers pass the callable.
Further jobs wait, first come first served, until a running one ends; at most ``max_queued`` wait, and
one owner has at most ``max_per_user`` queued or running, so one visitor cannot fill the queue.

The records (owner, kind, state, start, end, error, progress, the process that runs it) are rows of the
``jobs`` table (``jobs.sqlite`` in the data dir, or the configured database: reranklens.database), so a
restarted server lists finished jobs and two app processes share one list and one cap. A job runs in the
process that accepted it; its result stays in that process's memory (the page that waits on it is served
there). Starting a job is a claim: one transaction that counts the running jobs and marks the oldest queued
ones running while slots are free. Claims take one lock (SQLite's ``BEGIN IMMEDIATE``; on PostgreSQL a
transaction advisory lock), because a count of running rows is only a cap when no other claimer counts at the
same time: row locks alone (``FOR UPDATE SKIP LOCKED``) hand out rows, not a bound on how many are taken.
Each process beats a heartbeat into its active jobs' rows and reads their cancel flags every
``HEARTBEAT_S``, so a Cancel clicked in another process stops the job at its next check; an active job whose
process is gone (not alive on this machine, or no heartbeat for ``LOST_AFTER_S``) is marked "lost".

A job runs in a copy of its submitter's ``contextvars`` context, taken when it is submitted: whatever
the submitter set there (the paid-call guard of ``reranklens.llm.budget``) holds for the job too, so its
paid requests count for the user who started it, not for nobody.
"""

from __future__ import annotations

import contextvars
import logging
import os
import socket
import tempfile
import threading
import time
import uuid
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from reranklens import database
from reranklens.errors import RerankLensError

log = logging.getLogger(__name__)

JobKind = Literal["train", "evaluate"]
JobState = Literal["queued", "running", "done", "cancelled", "failed", "lost"]
Report = Callable[[int, int, str], None]
Work = Callable[[threading.Event, Report], object]
ACTIVE: tuple[JobState, ...] = ("queued", "running")
MAX_QUEUED = 20
KEEP_FINISHED = 20  # finished jobs shown in the list (every record stays in the table)
JOBS_FILE = "jobs.sqlite"
HEARTBEAT_S = 0.5  # how often a process claims free slots, beats, and reads cancel flags
LOST_AFTER_S = 30.0  # an active job whose process has not beaten for this long is lost
REPORT_EVERY_S = 0.25  # progress written at most this often (the last step always)
LOST_ERROR = "Its server process stopped (restarted or killed) before it ended."
_CLAIM_LOCK = zlib.crc32(b"reranklens.jobs")

_METADATA = sa.MetaData()
JOBS = sa.Table(
    "jobs",
    _METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("owner", sa.Text, nullable=False),
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("submitted", sa.Text, nullable=False),
    sa.Column("started", sa.Text, nullable=False, server_default=""),
    sa.Column("ended", sa.Text, nullable=False, server_default=""),
    sa.Column("done", sa.Integer, nullable=False, server_default="0"),
    sa.Column("total", sa.Integer, nullable=False, server_default="0"),
    sa.Column("message", sa.Text, nullable=False, server_default=""),
    sa.Column("cancel_requested", sa.Integer, nullable=False, server_default="0"),
    sa.Column("error", sa.Text, nullable=False, server_default=""),
    sa.Column("process", sa.Text, nullable=False, server_default=""),
    sa.Column("heartbeat", sa.Float, nullable=False, server_default="0"),
    sa.Index("jobs_by_state", "state", "id"),
    sqlite_autoincrement=True,
)
SCHEMA = database.Schema("jobs", _METADATA)


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


HOST, BOOT = socket.gethostname(), _boot_id()


class JobError(RerankLensError):
    """A job that cannot be queued or cancelled (queue full, not the owner); the message says why."""


@dataclass(frozen=True)
class JobInfo:
    """What the list shows of one job, and its outcome once it ended (``result`` or ``error``)."""

    id: int
    kind: JobKind
    name: str
    owner: str
    state: JobState
    submitted: str  # ISO 8601, UTC, seconds
    started: str = ""
    done: int = 0
    total: int = 0
    message: str = ""
    cancel_requested: bool = False
    result: object = None
    error: str = ""
    ended: str = ""
    process: str = ""  # host:pid:boot:queue of the process that runs it

    @property
    def fraction(self) -> float:
        return min(1.0, self.done / self.total) if self.total else 0.0

    @property
    def active(self) -> bool:
        return self.state in ACTIVE


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class JobQueue:
    """Jobs of every process on the queue's database, newest first in ``jobs()``; thread-safe.

    ``path``: the SQLite file when no database is configured (the app passes the data dir's ``jobs.sqlite``);
    None gives a queue of its own in a temporary folder (tests, scripts)."""

    def __init__(
        self, max_running: int, max_queued: int = MAX_QUEUED, max_per_user: int | None = None, path: Path | None = None
    ) -> None:
        if max_running < 1:
            raise JobError(f"RERANKLENS_MAX_JOBS must be at least 1, got {max_running}.")
        if max_per_user is not None and max_per_user < 1:
            raise JobError(f"RERANKLENS_MAX_JOBS_PER_USER must be at least 1, got {max_per_user}.")
        self.max_running = max_running
        self.max_queued = max_queued
        self.max_per_user = max_per_user
        self.path = path if path is not None else Path(tempfile.mkdtemp(prefix="reranklens-jobs-")) / JOBS_FILE
        self.process = f"{HOST}:{os.getpid()}:{BOOT}:{uuid.uuid4().hex[:8]}"
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._work: dict[int, Work] = {}
        self._cancel: dict[int, threading.Event] = {}
        self._context: dict[int, contextvars.Context] = {}
        self._results: dict[int, object] = {}
        self._beating = False

    def submit(self, kind: JobKind, name: str, owner: str, work: Work) -> int:
        """Queue ``work`` (it starts at once when a slot is free; it runs in a copy of the caller's context);
        returns the job's id. ``JobError`` when the queue is full or ``owner`` has ``max_per_user`` active."""
        owner = owner or "local"

        def add(db: Connection) -> int:
            self._lock_claims(db)
            self._mark_lost(db)
            waiting = _count(db, JOBS.c.state == "queued")
            if waiting >= self.max_queued:
                raise JobError(f"{waiting} jobs are already waiting on this server: try again when some have ended.")
            mine = _count(db, JOBS.c.state.in_(ACTIVE), JOBS.c.owner == owner)
            if self.max_per_user is not None and mine >= self.max_per_user:
                raise JobError(
                    f"{owner} already has {mine} jobs queued or running, this server's limit per user "
                    "(RERANKLENS_MAX_JOBS_PER_USER): wait for one to end or cancel it."
                )
            row = {"kind": kind, "name": name, "owner": owner, "state": "queued", "submitted": _now()}
            added = JOBS.insert().values(**row, process=self.process, heartbeat=time.time()).returning(JOBS.c.id)
            return int(db.execute(added).scalar_one())

        with self._lock:
            job_id = database.write(self.path, add, SCHEMA)
            self._work[job_id] = work
            self._cancel[job_id] = threading.Event()
            self._context[job_id] = contextvars.copy_context()
        self._start_ready()
        self._ensure_heartbeat()
        return job_id

    def cancel(self, job_id: int, by: str, any_owner: bool = False) -> JobInfo:
        """Cancel a queued job at once, or ask a running one (in any process) to stop at its next check. Only
        its owner may, or anyone with ``any_owner`` (an admin, or everyone without sign-in)."""

        def ask(db: Connection) -> None:
            info = _info(_row(db, job_id, lock=True))
            if not any_owner and info.owner != by:
                raise JobError(f"Job '{info.name}' belongs to {info.owner}: only they or an admin may cancel it.")
            if info.state == "queued":
                ended = {"state": "cancelled", "error": "Cancelled before it started.", "ended": _now()}
                db.execute(JOBS.update().where(JOBS.c.id == job_id).values(**ended))
            elif info.state == "running":
                db.execute(JOBS.update().where(JOBS.c.id == job_id).values(cancel_requested=1, message="cancelling…"))

        database.write(self.path, ask, SCHEMA)
        with self._lock:
            if job_id in self._cancel and self.get_unlocked(job_id).state == "running":
                self._cancel[job_id].set()
            self._changed.notify_all()
        return self.get(job_id)

    def get(self, job_id: int) -> JobInfo:
        with self._lock:
            return self.get_unlocked(job_id)

    def get_unlocked(self, job_id: int) -> JobInfo:
        with database.reading(self.path, SCHEMA) as db:
            info = _info(_row(db, job_id))
        return self._with_result(info)

    def jobs(self) -> list[JobInfo]:
        """Active jobs and the last ``KEEP_FINISHED`` finished ones, newest first; lost ones marked as such."""
        with database.reading(self.path, SCHEMA) as db:
            active = db.execute(sa.select(JOBS).where(JOBS.c.state.in_(ACTIVE))).all()
        if any(self._gone(row.process, row.heartbeat) for row in active):

            def sweep(db: Connection) -> None:
                self._lock_claims(db)
                self._mark_lost(db)

            database.write(self.path, sweep, SCHEMA)
            self._start_ready()
        with database.reading(self.path, SCHEMA) as db:
            active = db.execute(sa.select(JOBS).where(JOBS.c.state.in_(ACTIVE))).all()
            finished = db.execute(
                sa.select(JOBS).where(JOBS.c.state.not_in(ACTIVE)).order_by(JOBS.c.id.desc()).limit(KEEP_FINISHED)
            ).all()
        infos = [self._with_result(_info(row)) for row in [*active, *finished]]
        return sorted(infos, key=lambda info: info.id, reverse=True)

    def wait(self, job_id: int, timeout: float | None = None) -> JobInfo:
        """The job once it has ended (or as it is when ``timeout`` seconds pass first). Jobs of other processes
        are polled every ``HEARTBEAT_S``."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            info = self.get(job_id)
            left = None if deadline is None else deadline - time.monotonic()
            if not info.active or (left is not None and left <= 0):
                return info
            with self._changed:
                self._changed.wait(min(HEARTBEAT_S, left) if left is not None else HEARTBEAT_S)

    # -- this process's jobs ------------------------------------------------------------------------

    def _with_result(self, info: JobInfo) -> JobInfo:
        if info.id in self._results:
            return JobInfo(**{**info.__dict__, "result": self._results[info.id]})
        return info

    def _lock_claims(self, db: Connection) -> None:
        """One claimer at a time across processes (SQLite's write lock already is one)."""
        if db.dialect.name == "postgresql":
            db.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _CLAIM_LOCK})

    def _mark_lost(self, db: Connection) -> None:
        """Active jobs whose process is gone end as "lost" (they free their slot)."""
        now = time.time()
        for job_id, process, heartbeat in db.execute(
            sa.select(JOBS.c.id, JOBS.c.process, JOBS.c.heartbeat).where(JOBS.c.state.in_(ACTIVE))
        ):
            if self._gone(process, heartbeat, now):
                lost = {"state": "lost", "error": LOST_ERROR, "ended": _now()}
                db.execute(JOBS.update().where(JOBS.c.id == job_id, JOBS.c.state.in_(ACTIVE)).values(**lost))

    def _gone(self, process: str, heartbeat: float, now: float | None = None) -> bool:
        """Whether the process that runs (or queued) a job is gone: not alive here, or silent too long."""
        if process == self.process:
            return False
        return (now or time.time()) - heartbeat > LOST_AFTER_S or not _alive(process)

    def _start_ready(self) -> None:
        """Claim free slots for this process's queued jobs, oldest job on the database first."""
        with self._lock:
            if not self._work:
                return
            mine = set(self._work)

        def claim(db: Connection) -> list[int]:
            self._lock_claims(db)
            self._mark_lost(db)
            free = self.max_running - _count(db, JOBS.c.state == "running")
            if free <= 0:
                return []
            oldest = db.execute(
                sa.select(JOBS.c.id).where(JOBS.c.state == "queued").order_by(JOBS.c.id).limit(free)
            ).scalars()
            claimed = [job_id for job_id in oldest if job_id in mine]
            if claimed:
                started = {"state": "running", "started": _now(), "heartbeat": time.time()}
                db.execute(JOBS.update().where(JOBS.c.id.in_(claimed)).values(**started))
            return claimed

        for job_id in database.write(self.path, claim, SCHEMA):
            with self._lock:
                context = self._context[job_id]
                kind = self._work[job_id]
            thread = threading.Thread(target=context.run, args=(self._run, job_id), name=f"job-{job_id}", daemon=True)
            thread.start()
            log.debug("job %s started (%s)", job_id, kind)

    def _ensure_heartbeat(self) -> None:
        with self._lock:
            if self._beating:
                return
            self._beating = True
        threading.Thread(target=self._beat, name="jobs-heartbeat", daemon=True).start()

    def _beat(self) -> None:
        """While this process has jobs: beat, pass on cancel flags set elsewhere, drop queued jobs cancelled
        elsewhere, and claim slots freed elsewhere."""
        while True:
            with self._lock:
                mine = list(self._work)
                if not mine:
                    self._beating = False
                    return
            try:
                self._beat_once(mine)
                self._start_ready()
            except Exception:  # noqa: BLE001 - a database away for a moment must not end the heartbeat
                log.warning("job heartbeat failed; trying again", exc_info=True)
            time.sleep(HEARTBEAT_S)

    def _beat_once(self, mine: list[int]) -> None:
        def beat(db: Connection) -> list[tuple[int, str, int]]:
            db.execute(JOBS.update().where(JOBS.c.id.in_(mine), JOBS.c.state.in_(ACTIVE)).values(heartbeat=time.time()))
            query = sa.select(JOBS.c.id, JOBS.c.state, JOBS.c.cancel_requested).where(JOBS.c.id.in_(mine))
            return [tuple(row) for row in db.execute(query)]

        with self._lock:
            for job_id, state, cancel_requested in database.write(self.path, beat, SCHEMA):
                if cancel_requested and job_id in self._cancel:
                    self._cancel[job_id].set()
                if state not in ACTIVE or (state == "queued" and cancel_requested):
                    self._forget(job_id)
            self._changed.notify_all()

    def _forget(self, job_id: int) -> None:
        self._work.pop(job_id, None)
        self._cancel.pop(job_id, None)
        self._context.pop(job_id, None)

    def _run(self, job_id: int) -> None:
        with self._lock:
            work, cancel = self._work[job_id], self._cancel[job_id]
        last = 0.0

        def report(done: int, total: int, message: str) -> None:
            nonlocal last
            if time.monotonic() - last < REPORT_EVERY_S and done < total:
                return
            last = time.monotonic()
            progress = {"done": done, "total": total, "message": "cancelling…" if cancel.is_set() else message}
            database.write(
                self.path, lambda db: db.execute(JOBS.update().where(JOBS.c.id == job_id).values(**progress)), SCHEMA
            )
            with self._changed:
                self._changed.notify_all()

        state: JobState = "done"
        result, error = None, ""
        try:
            result = work(cancel, report)
        except RerankLensError as exc:
            # Errors a user can cause, in the words of the page that started the job.
            state, error = ("cancelled" if cancel.is_set() else "failed"), getattr(exc, "page_message", str(exc))
        except Exception as exc:  # noqa: BLE001 - the list must show the failure, not lose the thread silently
            log.exception("job %s failed", job_id)
            state, error = "failed", f"{type(exc).__name__}: {exc}"
        ended = {"state": state, "error": error, "ended": _now()}
        with self._lock:
            self._results[job_id] = result
            for old in sorted(self._results)[:-KEEP_FINISHED]:
                del self._results[old]
        database.write(
            self.path, lambda db: db.execute(JOBS.update().where(JOBS.c.id == job_id).values(**ended)), SCHEMA
        )
        with self._changed:
            self._forget(job_id)
            self._changed.notify_all()
        self._start_ready()


def _count(db: Connection, *where: sa.ColumnElement[bool]) -> int:
    return int(db.execute(sa.select(sa.func.count()).select_from(JOBS).where(*where)).scalar_one())


def _row(db: Connection, job_id: int, lock: bool = False) -> sa.Row:
    query = sa.select(JOBS).where(JOBS.c.id == job_id)
    row = db.execute(query.with_for_update() if lock else query).first()
    if row is None:
        raise JobError(f"No job {job_id} on this server.")
    return row


def _info(row: sa.Row) -> JobInfo:
    return JobInfo(
        id=row.id,
        kind=row.kind,
        name=row.name,
        owner=row.owner,
        state=row.state,
        submitted=row.submitted,
        started=row.started,
        done=row.done,
        total=row.total,
        message=row.message,
        cancel_requested=bool(row.cancel_requested),
        error=row.error,
        ended=row.ended,
        process=row.process,
    )


def _alive(process: str) -> bool:
    """False when ``process`` ran on this machine since its last boot and its pid is gone; True when unsure
    (another machine: its heartbeat decides)."""
    host, _, rest = process.partition(":")
    pid, _, boot = rest.partition(":")
    boot = boot.split(":", 1)[0]
    if host != HOST or not pid.isdigit():
        return True
    if boot != BOOT:
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
