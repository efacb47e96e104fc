"""Paid requests, jobs, suggestions and uploads on a shared server with sign-in (AppTest, the signed-in
identity seeded through ``AppTest.user`` and an ``[auth]`` secrets section, so the app's own role rules run).

Every request of an ``openai:MODEL`` reranker an admin registered counts for the page's user, on Explore, on
Label, in a trace replay and in an evaluation job: with a limit of 1, exactly one request reaches the local
OpenAI-protocol server and the next is refused in one line. A model off the allow-list sends nothing.
Viewers start no jobs and ask for no suggestions; a session has one job at a time.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from journey_pages import fresh_data_dir
from openai_server import OpenAIStubServer
from streamlit.testing.v1 import AppTest
from test_page_traces import imported

from components.label.suggestions import FOR_LABELERS
from components.shared import identity, keys
from components.shared.jobs import server_jobs
from components.shared.resources import get_workspace
from reranklens.access.jobs import JobQueue, Report
from reranklens.config import Settings
from reranklens.evaluate.runs import RunStore
from reranklens.models.registry import ModelRegistry

pytest_plugins = ["fixtures_page", "fixtures_openai"]

PAGES = Path(__file__).resolve().parents[1] / "pages"
TIMEOUT_S = 240
QUERY = "How do I rotate an API key in Acme Cloud 2.4?"
# One request per candidate, one at a time: the count at the refusal is exact.
JUDGE = "openai:gpt-4o-mini?mode=pointwise&concurrency=1"
LIMIT_LINE = "limit of 1 paid requests per hour"
AUTH = {
    "redirect_uri": "http://127.0.0.1:8501/oauth2callback",
    "cookie_secret": "a-test-only-cookie-secret-0123456789",
    "client_id": "reranklens",
    "client_secret": "test-only",
    "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration",
}


def signed_in(page: str, role: str = "viewer", verified: bool = True) -> AppTest:
    """``page`` for a new signed-in person of ``role`` (a fresh address: the hourly limit is per address)."""
    domain = {"viewer": "team.org", "labeler": "labelers.team.org", "admin": "ops.team.org"}[role]
    email = f"{role}-{uuid.uuid4().hex[:8]}@{domain}"
    at = AppTest.from_file(str(PAGES / f"{page}.py"), default_timeout=TIMEOUT_S)
    at.secrets["auth"] = AUTH
    at.user = {"is_logged_in": True, "email": email, "sub": f"sub-{email}", "email_verified": verified}
    return at


def run_ok(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def chat_requests(server: OpenAIStubServer) -> int:
    return sum(r["path"].endswith("/chat/completions") for r in server.requests)


def errors(at: AppTest) -> list[str]:
    return [e.value.replace("\\", "") for e in at.error]


@pytest.fixture
def shared(
    offline_page_env: None,
    openai_env: OpenAIStubServer,
    page_data_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[OpenAIStubServer]:
    """A copy of the demo store where an admin registered ``gpt-judge`` (an LLM reranker); a limit of one
    paid request per user and hour; labelers and admins by domain."""
    data_dir = fresh_data_dir(page_data_dir, tmp_path)
    monkeypatch.setenv("RERANKLENS_DATA_DIR", str(data_dir))
    monkeypatch.setenv("RERANKLENS_PAID_CALLS_PER_HOUR", "1")
    monkeypatch.setenv("RERANKLENS_LABELERS", "@labelers.team.org")
    monkeypatch.setenv("RERANKLENS_ADMINS", "@ops.team.org")
    monkeypatch.delenv("RERANKLENS_MAX_JOBS", raising=False)
    ModelRegistry(data_dir).add("gpt-judge", JUDGE)
    get_workspace.clear()
    identity._paid_calls.clear()
    yield openai_env
    queue = server_jobs(Settings.from_env())
    for info in queue.jobs():
        if info.active:
            queue.cancel(info.id, "test", any_owner=True)
    get_workspace.clear()
    identity._paid_calls.clear()


@pytest.mark.parametrize("page", ["explore", "label"])
def test_a_registered_llm_reranker_counts_every_request_of_a_viewer(shared: OpenAIStubServer, page: str) -> None:
    at = signed_in(page)
    at.query_params["q"] = QUERY
    at.query_params["reranker"] = "gpt-judge"
    run_ok(at)
    assert chat_requests(shared) == 1
    [error] = errors(at)
    assert LIMIT_LINE in error and "\n" not in error


def test_a_trace_replay_counts_every_request(shared: OpenAIStubServer) -> None:
    imported(Settings.from_env().data_dir)  # the support-bot trace set, in this test's store
    at = signed_in("explore")
    at.query_params["trace"] = "support-bot:chat-0417"
    at.session_state[keys.RERANKER] = "gpt-judge"
    run_ok(at)
    assert chat_requests(shared) == 1
    [error] = errors(at)
    assert LIMIT_LINE in error


def test_an_evaluation_job_counts_for_its_labeler_and_a_model_off_the_list_sends_nothing(
    shared: OpenAIStubServer,
) -> None:
    ModelRegistry(Settings.from_env().data_dir).add("gpt-big", "openai:gpt-4.1?mode=pointwise&concurrency=1")
    at = run_ok(signed_in("evaluate", "labeler"))
    for reranker, line, sent in (("gpt-big", "Chat model 'gpt-4.1' is not allowed", 0), ("gpt-judge", LIMIT_LINE, 1)):
        at.multiselect[0].set_value([f"vector+rerank:{reranker}"])
        next(b for b in at.sidebar.button if b.label == "Run evaluation").click()
        run_ok(at)
        assert chat_requests(shared) == sent
        [error] = errors(at)
        assert line in error, error
    assert RunStore(Settings.from_env().runs_db_path).list() == []


def test_a_viewer_starts_no_evaluation(shared: OpenAIStubServer) -> None:
    queue = server_jobs(Settings.from_env())
    before = queue.jobs()
    at = run_ok(signed_in("evaluate"))
    at.multiselect[0].set_value(["bm25"])
    next(b for b in at.sidebar.button if b.label == "Run evaluation").click()
    run_ok(at)
    [error] = errors(at)
    assert error.startswith("Running jobs on this server needs the labeler role;") and "is a viewer" in error
    assert queue.jobs() == before


def test_a_session_with_a_job_still_going_starts_no_second_one(shared: OpenAIStubServer) -> None:
    """The session's earlier job is still queued or running (here: held by the test): a second click is
    refused in one line, and the queue holds the first job only."""
    queue = server_jobs(Settings.from_env())
    release = threading.Event()

    def held(cancel: threading.Event, report: Report) -> None:
        while not cancel.is_set() and not release.wait(0.05):
            continue

    at = run_ok(signed_in("evaluate", "labeler"))
    first = queue.submit("evaluate", "earlier run", at.user["email"], held)
    at.session_state[keys.SESSION_JOBS] = [first]  # what the session's earlier click kept
    at.multiselect[0].set_value(["bm25"])
    next(b for b in at.sidebar.button if b.label == "Run evaluation").click()
    run_ok(at)
    [error] = errors(at)
    assert error == "Your job 'earlier run' is still running: wait for it to end or cancel it, then start another."
    assert [j.id for j in queue.jobs() if j.owner == at.user["email"]] == [first]
    release.set()
    assert queue.wait(first, TIMEOUT_S).state == "done"


def test_only_labelers_are_offered_grade_suggestions(shared: OpenAIStubServer) -> None:
    for role, offered in (("viewer", False), ("labeler", True)):
        at = signed_in("label", role)
        at.query_params["q"] = QUERY
        at.query_params["set"] = "demo"
        run_ok(at)
        assert ("label.suggest" in [b.key for b in at.button]) is offered
        assert (FOR_LABELERS in [c.value for c in at.caption]) is not offered
    assert chat_requests(shared) == 0


def test_a_viewer_is_drawn_no_uploader_and_an_unverified_address_grants_no_role(shared: OpenAIStubServer) -> None:
    """Corpus: an admin gets both uploaders (documents, trace file); a viewer none, and an admin address the
    provider did not verify is a viewer, told why in one line."""

    def uploaders(at: AppTest) -> int:
        return len(at.get("file_uploader"))

    admin = run_ok(signed_in("corpus", "admin"))
    assert uploaders(admin) == 2 and not admin.sidebar.warning
    viewer = run_ok(signed_in("corpus", "viewer"))
    assert uploaders(viewer) == 0
    unverified = run_ok(signed_in("corpus", "admin", verified=False))
    assert uploaders(unverified) == 0
    [why] = [w.value.replace("\\", "") for w in unverified.sidebar.warning]
    assert "has not verified" in why and "you are a viewer" in why and "RERANKLENS_ADMIN_SUBS" in why
    assert "(viewer)" in unverified.sidebar.caption[0].value


def test_the_job_queue_caps_each_user(shared: OpenAIStubServer) -> None:
    """``RERANKLENS_MAX_JOBS_PER_USER`` (default 2) reaches the app's queue."""
    queue: JobQueue = server_jobs(Settings.from_env())
    assert queue.max_per_user == 2
