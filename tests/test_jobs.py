"""The server's job queue with real threads: the cap on running jobs, a queued job starting when a slot
frees, cancelling a queued and a running job, who may cancel, failures captured in the list, the cap per
user, and the submitter's paid-call guard carried into the job. Every case runs with the records in a SQLite
file and in PostgreSQL; the last ones check two queues (two app processes) on one database, a restart,
and a process killed while its job ran."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from job_runner import killed_runner

from reranklens.access.jobs import JobError, JobQueue, Report
from reranklens.errors import InvalidInputError
from reranklens.llm.budget import paid_calls, take_paid_call

pytest_plugins = ["fixtures_postgres"]

WAIT_S = 30  # a bound for a stuck thread, never a measured time


@pytest.fixture(autouse=True)
def _each_backend(backend: str) -> str:
    """Each case once with SQLite files, once with a PostgreSQL database of its own."""
    return backend


class Gate:
    """A job that reports once, then waits until the test opens it (or it is cancelled)."""

    def __init__(self, result: object = "ok") -> None:
        self.started = threading.Event()
        self.release = threading.Event()
        self.result = result

    def __call__(self, cancel: threading.Event, report: Report) -> object:
        report(1, 2, "halfway")
        self.started.set()
        while not self.release.wait(0.01):
            if cancel.is_set():
                raise InvalidInputError("stopped between steps")
        return self.result


@pytest.fixture
def queue() -> JobQueue:
    return JobQueue(max_running=1)


def test_the_cap_holds_and_a_queued_job_starts_when_a_slot_frees(queue: JobQueue) -> None:
    first, second = Gate("one"), Gate("two")
    a = queue.submit("train", "model-a", "ann@example.org", first)
    b = queue.submit("evaluate", "demo on demo", "bob@example.org", second)
    assert first.started.wait(WAIT_S)
    assert queue.get(a).state == "running" and queue.get(b).state == "queued"
    assert not second.started.is_set()
    assert [(j.name, j.kind, j.owner) for j in queue.jobs()] == [
        ("demo on demo", "evaluate", "bob@example.org"),
        ("model-a", "train", "ann@example.org"),
    ]
    running = queue.get(a)
    assert (running.done, running.total, running.message) == (1, 2, "halfway") and running.started

    first.release.set()
    assert queue.wait(a, WAIT_S).state == "done" and queue.get(a).result == "one"
    assert second.started.wait(WAIT_S)
    assert queue.get(b).state == "running"
    second.release.set()
    assert queue.wait(b, WAIT_S).result == "two"


def test_two_slots_run_two_jobs_at_once() -> None:
    queue = JobQueue(max_running=2)
    gates = [Gate(), Gate(), Gate()]
    ids = [queue.submit("evaluate", f"run {n}", "local", gate) for n, gate in enumerate(gates)]
    assert gates[0].started.wait(WAIT_S) and gates[1].started.wait(WAIT_S)
    assert [queue.get(i).state for i in ids] == ["running", "running", "queued"]
    for gate in gates:
        gate.release.set()
    assert [queue.wait(i, WAIT_S).state for i in ids] == ["done", "done", "done"]


def test_cancel_a_queued_job_never_runs_it(queue: JobQueue) -> None:
    first, second = Gate(), Gate()
    a = queue.submit("train", "a", "local", first)
    b = queue.submit("train", "b", "local", second)
    cancelled = queue.cancel(b, "local")
    assert cancelled.state == "cancelled" and cancelled.error == "Cancelled before it started."
    first.release.set()
    assert queue.wait(a, WAIT_S).state == "done"
    assert not second.started.is_set() and queue.get(b).state == "cancelled"


def test_cancel_a_running_job_stops_it_at_its_next_check(queue: JobQueue) -> None:
    gate = Gate()
    job = queue.submit("train", "a", "ann@example.org", gate)
    assert gate.started.wait(WAIT_S)
    assert queue.cancel(job, "ann@example.org").cancel_requested
    ended = queue.wait(job, WAIT_S)
    assert ended.state == "cancelled" and ended.error == "stopped between steps" and ended.result is None
    assert not gate.release.is_set()


def test_only_the_owner_or_an_admin_may_cancel(queue: JobQueue) -> None:
    gate = Gate()
    job = queue.submit("train", "a", "ann@example.org", gate)
    with pytest.raises(JobError, match=r"^Job 'a' belongs to ann@example.org: only they or an admin may cancel it\.$"):
        queue.cancel(job, "bob@example.org")
    assert queue.get(job).active and not queue.get(job).cancel_requested
    queue.cancel(job, "root@example.org", any_owner=True)
    assert queue.wait(job, WAIT_S).state == "cancelled"


def test_failures_are_captured_and_the_next_job_still_runs(queue: JobQueue) -> None:
    def broken(cancel: threading.Event, report: Report) -> object:
        raise ZeroDivisionError("division by zero")

    def refused(cancel: threading.Event, report: Report) -> object:
        raise InvalidInputError("Golden set 'x' has no labels.")

    a = queue.submit("train", "broken", "local", broken)
    b = queue.submit("evaluate", "refused", "local", refused)
    after = Gate("after")
    after.release.set()
    c = queue.submit("evaluate", "after", "local", after)
    assert queue.wait(a, WAIT_S).error == "ZeroDivisionError: division by zero"
    assert (queue.wait(b, WAIT_S).state, queue.get(b).error) == ("failed", "Golden set 'x' has no labels.")
    assert queue.wait(c, WAIT_S).result == "after"
    assert queue.get(a).state == "failed"


def test_a_full_queue_refuses_with_one_line() -> None:
    queue = JobQueue(max_running=1, max_queued=1)
    gates = [Gate(), Gate()]
    for name, gate in zip("ab", gates, strict=True):
        queue.submit("train", name, "local", gate)
    with pytest.raises(
        JobError, match=r"^1 jobs are already waiting on this server: try again when some have ended\.$"
    ):
        queue.submit("train", "c", "local", Gate())
    for gate in gates:
        gate.release.set()


def test_the_cap_must_be_positive() -> None:
    with pytest.raises(JobError, match="RERANKLENS_MAX_JOBS must be at least 1"):
        JobQueue(max_running=0)


def test_each_user_has_at_most_max_per_user_jobs_queued_or_running() -> None:
    queue = JobQueue(max_running=1, max_per_user=2)
    gates = [Gate(), Gate()]
    for name, gate in zip("ab", gates, strict=True):
        queue.submit("evaluate", name, "eve@team.org", gate)
    with pytest.raises(JobError, match=r"^eve@team\.org already has 2 jobs queued or running, .*PER_USER\): wait"):
        queue.submit("evaluate", "c", "eve@team.org", Gate())
    other = Gate()
    other.release.set()
    queue.submit("train", "d", "ann@team.org", other)  # another user is not held up by eve's cap
    gates[0].release.set()
    assert queue.wait(1, WAIT_S).state == "done"
    done = Gate("after")
    done.release.set()
    again = queue.submit("evaluate", "e", "eve@team.org", done)  # one ended: eve may queue again
    gates[1].release.set()
    assert queue.wait(again, WAIT_S).result == "after"


def test_a_job_runs_with_its_submitters_paid_call_guard() -> None:
    """The job's thread sees what the submitting run set (the paid-call guard), not an empty context."""
    queue, counted = JobQueue(max_running=1), []

    def work(cancel: threading.Event, report: Report) -> object:
        take_paid_call("gpt-4o-mini")
        return "ok"

    with paid_calls(lambda model: counted.append(("ann", model))):
        job = queue.submit("evaluate", "paid", "ann", work)
    assert queue.wait(job, WAIT_S).state == "done"
    assert counted == [("ann", "gpt-4o-mini")]


def test_two_processes_share_one_cap_one_list_and_cancel_each_others_jobs(tmp_path: Path) -> None:
    path = tmp_path / "jobs.sqlite"
    here, there = JobQueue(max_running=1, path=path), JobQueue(max_running=1, path=path)
    first, second = Gate("here"), Gate("there")
    a = here.submit("train", "model-a", "ann", first)
    assert first.started.wait(WAIT_S)
    b = there.submit("evaluate", "demo", "bob", second)
    assert (
        [(j.id, j.state) for j in here.jobs()]
        == [(b, "queued"), (a, "running")]
        == [(j.id, j.state) for j in there.jobs()]
    )
    assert not second.started.wait(1.0)  # the slot is taken in the other process: bounded wait, not a sleep

    assert there.cancel(a, "root", any_owner=True).cancel_requested  # cancelled from the other process
    assert here.wait(a, WAIT_S).state == "cancelled" and not first.release.is_set()
    assert second.started.wait(WAIT_S)  # the freed slot goes to the other process's queued job
    second.release.set()
    assert there.wait(b, WAIT_S).result == "there"
    assert here.wait(b, WAIT_S).state == "done" and here.get(b).result is None  # the result stays where it ran

    restarted = JobQueue(max_running=1, path=path)  # a restarted server lists what ended before
    assert [(j.id, j.state) for j in restarted.jobs()] == [(b, "done"), (a, "cancelled")]


def test_a_job_whose_process_was_killed_is_lost_and_frees_its_slot(tmp_path: Path) -> None:
    path = tmp_path / "jobs.sqlite"
    job = killed_runner(path)
    queue = JobQueue(max_running=1, path=path)
    listed = {j.id: j for j in queue.jobs()}
    assert listed[job].state == "lost" and "process stopped" in listed[job].error and listed[job].ended
    after = Gate("after")
    after.release.set()
    assert queue.wait(queue.submit("train", "next", "ann", after), WAIT_S).result == "after"
