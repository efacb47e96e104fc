"""The server's job list under AppTest: a job another session started is listed on the Models and Evaluate
pages with its owner and cancelled from there; an evaluation waits in the queue behind it, and one
cancelled while it waits saves no run. The queue is the app's own (one per server process)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from job_runner import killed_runner
from journey_pages import fresh_data_dir
from streamlit.testing.v1 import AppTest

from components.shared.jobs import server_jobs
from components.shared.resources import get_workspace
from reranklens.access.jobs import JOBS_FILE, LOST_ERROR, JobInfo, JobQueue, Report
from reranklens.config import Settings
from reranklens.errors import InvalidInputError
from reranklens.evaluate.runs import RunStore
from reranklens.views.render import markdown_escape

pytest_plugins = ["fixtures_page"]

PAGES = Path(__file__).resolve().parents[1] / "pages"
WAIT_S = 120  # a bound for a stuck thread, never a measured time


def blocker(cancel: threading.Event, report: Report) -> None:
    """A long job of another user: runs until it is cancelled."""
    report(3, 10, "training")
    cancel.wait()
    raise InvalidInputError("Training was cancelled; nothing was saved.")


@pytest.fixture
def data_dir(page_data_dir: Path, tmp_path: Path) -> Path:
    """A copy of the demo store: the runs saved here must not reach other tests' pages."""
    return fresh_data_dir(page_data_dir, tmp_path)


@pytest.fixture
def queue(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[JobQueue]:
    for name in ("RERANKLENS_RERANKER", "RERANKLENS_EMBEDDER", "CHROMA_HOST", "CHROMA_PORT", "RERANKLENS_MAX_JOBS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RERANKLENS_DATA_DIR", str(data_dir))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    get_workspace.clear()
    jobs = server_jobs(Settings.from_env())
    yield jobs
    for info in jobs.jobs():
        if info.active:
            jobs.cancel(info.id, "test", any_owner=True)
    get_workspace.clear()


def listed(at: AppTest, info: JobInfo) -> list[str]:
    """The cells of ``info``'s row in the list: the markdown between its name and the next row."""
    texts = [m.value for m in at.markdown]
    start = texts.index(f"**{markdown_escape(info.name)}**")
    return texts[start : start + 5]


@pytest.mark.parametrize("page", ["models.py", "evaluate.py"])
def test_a_job_of_another_session_is_listed_and_cancelled(queue: JobQueue, page: str) -> None:
    job = queue.submit("train", f"shared-model-{page}", "ann", blocker)
    at = AppTest.from_file(str(PAGES / page), default_timeout=WAIT_S).run()
    assert not at.exception
    assert "Jobs on this server" in [h.value for h in at.subheader]
    assert listed(at, queue.get(job))[:4] == [
        f"**{markdown_escape(f'shared-model-{page}')}**",
        "train",
        "ann",
        "▶️ running 3/10",
    ]
    cancel = at.button(key=f"jobs.cancel.{job}")
    assert cancel.label == "Cancel" and not cancel.disabled

    cancel.click().run()  # without sign-in everyone is an admin and may cancel anyone's job
    assert not at.exception
    assert queue.wait(job, WAIT_S).state == "cancelled"
    at.run()
    assert listed(at, queue.get(job))[3] == "⏹️ cancelled"
    assert f"jobs.cancel.{job}" not in [b.key for b in at.button]  # ended: nothing to cancel


def test_a_job_whose_process_died_is_listed_as_lost(queue: JobQueue, data_dir: Path) -> None:
    job = killed_runner(data_dir / JOBS_FILE)  # another app process on the same records, killed mid-job
    at = AppTest.from_file(str(PAGES / "models.py"), default_timeout=WAIT_S).run()
    assert not at.exception
    info = queue.get(job)
    assert (info.state, info.error) == ("lost", LOST_ERROR)
    assert listed(at, info)[:4] == ["**forever**", "train", "ann", "💀 lost"]
    assert f"jobs.cancel.{job}" not in [b.key for b in at.button]


def test_an_evaluation_waits_behind_a_running_job_and_a_cancelled_one_saves_nothing(
    queue: JobQueue, data_dir: Path
) -> None:
    running = queue.submit("train", "slot-holder", "ann", blocker)

    def cancel_the_waiting_evaluation() -> None:
        """Another tab: cancels the evaluation from the list once it is queued behind the slot holder."""
        while True:
            waiting = [j for j in queue.jobs() if j.kind == "evaluate" and j.state == "queued"]
            if waiting:
                queue.cancel(waiting[0].id, "local")
                return
            queue.wait(running, 0.05)

    other_tab = threading.Thread(target=cancel_the_waiting_evaluation, daemon=True)
    at = AppTest.from_file(str(PAGES / "evaluate.py"), default_timeout=WAIT_S).run()
    other_tab.start()
    next(b for b in at.sidebar.button if b.label == "Run evaluation").click().run()
    other_tab.join(WAIT_S)
    assert not at.exception
    assert [i.value for i in at.info if "Cancelled" in i.value] == ["Cancelled before it started."]
    assert queue.get(running).state == "running"  # the slot holder was not touched
    evaluation = next(j for j in queue.jobs() if j.kind == "evaluate")
    assert (evaluation.state, evaluation.owner) == ("cancelled", "local")
    assert RunStore(data_dir / "runs.sqlite").list() == []


def test_an_evaluation_from_the_page_is_a_job_in_the_list(queue: JobQueue, data_dir: Path) -> None:
    at = AppTest.from_file(str(PAGES / "evaluate.py"), default_timeout=WAIT_S).run()
    at.sidebar.multiselect[0].set_value(["bm25"])
    next(b for b in at.sidebar.button if b.label == "Run evaluation").click().run()
    assert not at.exception
    evaluation = next(j for j in queue.jobs() if j.kind == "evaluate")
    assert (evaluation.state, evaluation.owner) == ("done", "local")
    assert evaluation.name == "demo-hard on demo (N=50)"
    assert listed(at, evaluation)[1:4] == ["evaluate", "local", "✅ done"]
    assert at.dataframe[0].value.columns.tolist() == ["bm25"]  # the page still shows the result
    assert len(RunStore(data_dir / "runs.sqlite").list()) == 1  # saved by the job
    assert "Cancel the evaluation" not in [b.label for b in at.button]  # it ended: nothing left to cancel
