"""One queue per server process for long work (training, evaluations, sweeps), so a shared server runs
at most ``max_running`` of them at once and every visitor sees, and may cancel, what is going on.

A job is a callable ``work(cancel, report)``: it checks ``cancel`` (a ``threading.Event``) between steps
or queries and raises when it is set, and calls ``report(done, total, message)`` as it goes. The queue
never imports what it runs (training and evaluation sit above this layer): callers pass the callable.
Further jobs wait, first come first served, until a running one ends; at most ``max_queued`` wait, and
one owner has at most ``max_per_user`` queued or running, so one visitor cannot fill the queue.

A job runs in a copy of its submitter's ``contextvars`` context, taken when it is submitted: whatever
the submitter set there (the paid-call guard of ``reranklens.llm.budget``) holds for the job too, so its
paid requests count for the user who started it, not for nobody.
"""

from __future__ import annotations

import contextvars
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Literal

from reranklens.errors import RerankLensError

log = logging.getLogger(__name__)

JobKind = Literal["train", "evaluate"]
JobState = Literal["queued", "running", "done", "cancelled", "failed"]
Report = Callable[[int, int, str], None]
Work = Callable[[threading.Event, Report], object]
ACTIVE: tuple[JobState, ...] = ("queued", "running")
MAX_QUEUED = 20
KEEP_FINISHED = 20  # finished jobs kept in the list (and their results, for the page that waits on them)


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

    @property
    def fraction(self) -> float:
        return min(1.0, self.done / self.total) if self.total else 0.0

    @property
    def active(self) -> bool:
        return self.state in ACTIVE


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class JobQueue:
    """Jobs of every session of this process, newest first in ``jobs()``; thread-safe."""

    def __init__(self, max_running: int, max_queued: int = MAX_QUEUED, max_per_user: int | None = None) -> None:
        if max_running < 1:
            raise JobError(f"RERANKLENS_MAX_JOBS must be at least 1, got {max_running}.")
        if max_per_user is not None and max_per_user < 1:
            raise JobError(f"RERANKLENS_MAX_JOBS_PER_USER must be at least 1, got {max_per_user}.")
        self.max_running = max_running
        self.max_queued = max_queued
        self.max_per_user = max_per_user
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._info: dict[int, JobInfo] = {}
        self._work: dict[int, Work] = {}
        self._cancel: dict[int, threading.Event] = {}
        self._context: dict[int, contextvars.Context] = {}
        self._next_id = 1

    def submit(self, kind: JobKind, name: str, owner: str, work: Work) -> int:
        """Queue ``work`` (it starts at once when a slot is free; it runs in a copy of the caller's context);
        returns the job's id. ``JobError`` when the queue is full or ``owner`` has ``max_per_user`` active."""
        owner = owner or "local"
        with self._lock:
            waiting = sum(info.state == "queued" for info in self._info.values())
            if waiting >= self.max_queued:
                raise JobError(f"{waiting} jobs are already waiting on this server: try again when some have ended.")
            mine = sum(info.active and info.owner == owner for info in self._info.values())
            if self.max_per_user is not None and mine >= self.max_per_user:
                raise JobError(
                    f"{owner} already has {mine} jobs queued or running, this server's limit per user "
                    "(RERANKLENS_MAX_JOBS_PER_USER): wait for one to end or cancel it."
                )
            job_id, self._next_id = self._next_id, self._next_id + 1
            self._info[job_id] = JobInfo(job_id, kind, name, owner, "queued", _now())
            self._work[job_id] = work
            self._cancel[job_id] = threading.Event()
            self._context[job_id] = contextvars.copy_context()
            self._start_ready()
        return job_id

    def cancel(self, job_id: int, by: str, any_owner: bool = False) -> JobInfo:
        """Cancel a queued job at once, or ask a running one to stop at its next check. Only its owner
        may, or anyone with ``any_owner`` (an admin, or everyone without sign-in)."""
        with self._lock:
            info = self._get(job_id)
            if not any_owner and info.owner != by:
                raise JobError(f"Job '{info.name}' belongs to {info.owner}: only they or an admin may cancel it.")
            if info.state == "queued":
                info = self._finish(job_id, "cancelled", error="Cancelled before it started.")
            elif info.state == "running":
                self._cancel[job_id].set()
                info = self._set(job_id, cancel_requested=True, message="cancelling…")
            return info

    def get(self, job_id: int) -> JobInfo:
        with self._lock:
            return self._get(job_id)

    def jobs(self) -> list[JobInfo]:
        with self._lock:
            return sorted(self._info.values(), key=lambda info: info.id, reverse=True)

    def wait(self, job_id: int, timeout: float | None = None) -> JobInfo:
        """The job once it has ended (or as it is when ``timeout`` seconds pass first)."""
        with self._changed:
            self._changed.wait_for(lambda: not self._get(job_id).active, timeout)
            return self._get(job_id)

    def _get(self, job_id: int) -> JobInfo:
        if job_id not in self._info:
            raise JobError(f"No job {job_id} on this server (finished jobs are kept for a while only).")
        return self._info[job_id]

    def _set(self, job_id: int, **changes: object) -> JobInfo:
        info = replace(self._info[job_id], **changes)  # type: ignore[arg-type]
        self._info[job_id] = info
        self._changed.notify_all()
        return info

    def _finish(self, job_id: int, state: JobState, result: object = None, error: str = "") -> JobInfo:
        info = self._set(job_id, state=state, result=result, error=error)
        self._work.pop(job_id, None)
        self._cancel.pop(job_id, None)
        self._context.pop(job_id, None)
        finished = [i for i, job in sorted(self._info.items()) if not job.active]
        for old in finished[:-KEEP_FINISHED]:
            del self._info[old]
        return info

    def _start_ready(self) -> None:
        """Start queued jobs, oldest first, while fewer than ``max_running`` run (lock held)."""
        running = sum(info.state == "running" for info in self._info.values())
        for job_id in sorted(i for i, info in self._info.items() if info.state == "queued"):
            if running >= self.max_running:
                return
            info = self._set(job_id, state="running", started=_now())
            context = self._context[job_id]
            thread = threading.Thread(
                target=context.run, args=(self._run, job_id), name=f"job-{job_id}-{info.kind}", daemon=True
            )
            thread.start()
            running += 1

    def _run(self, job_id: int) -> None:
        with self._lock:
            work, cancel = self._work[job_id], self._cancel[job_id]

        def report(done: int, total: int, message: str) -> None:
            with self._lock:
                self._set(job_id, done=done, total=total, message="cancelling…" if cancel.is_set() else message)

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
        with self._lock:
            self._finish(job_id, state, result, error)
            self._start_ready()
