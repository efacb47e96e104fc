"""The Explore page's answer preview under AppTest, with and without an OpenAI key, against a real
local OpenAI-protocol server: both answers streamed from each ranking's top-k with their citations,
chunks cited by one answer only, costs, escaping, and every error leaving the page (and earlier
answers) in place. What the page shows is checked against the engine on the same data dir."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from openai_server import CHAT_API_KEY, SLOW_S, OpenAIStubServer, chat_answer, free_port
from streamlit.testing.v1 import AppTest

from components.explore.answers import NO_KEY_HELP
from components.explore.controls import EXAMPLE_QUERY
from components.shared.resources import get_workspace
from reranklens.ingest.demo import DEMO_COLLECTION
from reranklens.views.answer import answer_contexts, build_messages, parse_citations
from reranklens.views.explore import ExploreView
from reranklens.workspace import Workspace

pytest_plugins = ["fixtures_page", "fixtures_openai"]

APP = Path(__file__).resolve().parents[1] / "app.py"
TIMEOUT_S = 180
GENERATE = "answer.generate"
_CITED = re.compile(r'<li class="rl-cited" data-chunk="([^"]*)">(.*?)</li>')


@pytest.fixture
def explore_env(offline_page_env: None) -> None:
    """The shared offline page environment (``fixtures_page.offline_page_env``), no OpenAI key."""


@pytest.fixture
def keyed_env(explore_env: None, openai_env: OpenAIStubServer) -> OpenAIStubServer:
    get_workspace.clear()  # the workspace must be built with the key
    return openai_env


def run_ok(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def explore_page() -> AppTest:
    return run_ok(AppTest.from_file(str(APP), default_timeout=TIMEOUT_S))


def answers(at: AppTest) -> dict[str, str]:
    """The rendered answers by side ("vector", "reranked")."""
    found = {}
    for element in at.html:
        match = re.match(r'<div class="rl-answer rl-(\w+)">', element.value)
        if match:
            found[match.group(1)] = element.value
    return found


def ranking_columns(at: AppTest) -> int:
    return sum(element.value.startswith('<div class="rl-column') for element in at.html)


def errors(at: AppTest) -> list[str]:
    return [unescaped(e.value) for e in at.error]


def unescaped(text: str) -> str:
    """A Markdown element's text as the user reads it (backslash escapes removed)."""
    return re.sub(r"\\(.)", r"\1", text)


def engine_view(page_engine: Workspace) -> ExploreView:
    view, reason = page_engine.explore(EXAMPLE_QUERY, DEMO_COLLECTION, "vector", 50, 3)
    assert reason is None, reason
    return view


def test_without_a_key_the_preview_says_how_to_enable_it(explore_env: None) -> None:
    at = explore_page()
    assert any(info.value == NO_KEY_HELP for info in at.info)
    assert not [b for b in at.button if b.key == GENERATE]
    assert ranking_columns(at) == 2  # the rest of the page is all there


def test_both_answers_stream_from_each_top_k_with_citations(
    keyed_env: OpenAIStubServer, page_engine: Workspace
) -> None:
    at = explore_page()
    assert keyed_env.requests == []  # nothing is generated before the click
    assert at.selectbox(key="answer.model").value == "gpt-4o-mini"
    assert any("USD 0.15 in / 0.6 out per million tokens (list prices as of" in c.value for c in at.caption)
    at.button(key=GENERATE).click()
    run_ok(at)

    vector_ctx, reranked_ctx = answer_contexts(engine_view(page_engine))
    bodies = [json.loads(str(r["body"])) for r in keyed_env.requests]
    assert [b["messages"] for b in bodies] == [build_messages(EXAMPLE_QUERY, c) for c in (vector_ctx, reranked_ctx)]
    assert all(b["stream"] and b["stream_options"] == {"include_usage": True} for b in bodies)

    shown = answers(at)
    assert set(shown) == {"vector", "reranked"}
    for side, context in (("vector", vector_ctx), ("reranked", reranked_ctx)):
        expected = chat_answer(build_messages(EXAMPLE_QUERY, context))
        assert expected.split(" [")[0] in shown[side]
        numbers = parse_citations(expected, len(context.chunks)).numbers
        assert [chunk_id for chunk_id, _ in _CITED.findall(shown[side])] == [
            context.chunks[n - 1].chunk_id for n in numbers
        ]
        assert ("Cites no chunk." in shown[side]) == (not numbers)
    # The stub cites chunks sharing words with the query: the vector top-3 of this query has some.
    assert _CITED.findall(shown["vector"])
    usage = [c.value for c in at.caption if "prompt +" in c.value and "completion tokens" in c.value]
    assert len(usage) == 3 and all("≈ \\$" in u for u in usage)  # per answer, and both together
    assert ranking_columns(at) == 2


def test_chunks_cited_by_one_answer_only_are_marked(keyed_env: OpenAIStubServer, page_engine: Workspace) -> None:
    keyed_env.chat_reply = "Open the security settings [1]."
    at = explore_page()
    at.button(key=GENERATE).click()
    run_ok(at)
    vector_ctx, reranked_ctx = answer_contexts(engine_view(page_engine))
    first_vector, first_reranked = vector_ctx.chunks[0].chunk_id, reranked_ctx.chunks[0].chunk_id
    shown = answers(at)
    for side, chunk_id in (("vector", first_vector), ("reranked", first_reranked)):
        ((cited, item),) = _CITED.findall(shown[side])
        assert cited == chunk_id
        assert ("only in this answer" in item) == (first_vector != first_reranked)


def test_answers_survive_reruns_and_are_escaped(keyed_env: OpenAIStubServer) -> None:
    keyed_env.chat_reply = "<img src=x onerror=alert(1)> **bold** [1] and [8]"
    at = explore_page()
    at.button(key=GENERATE).click()
    run_ok(at)
    shown = answers(at)["vector"]
    assert "&lt;img src=x onerror=alert(1)&gt;" in shown and "<img" not in shown
    assert "cites no chunk it was given" in shown  # [8]: top-3 has no chunk 8
    requests = len(keyed_env.requests)

    run_ok(at)  # any rerun (a widget elsewhere) keeps the answers without asking again
    assert set(answers(at)) == {"vector", "reranked"} and len(keyed_env.requests) == requests


def test_other_model_has_no_price(keyed_env: OpenAIStubServer, monkeypatch: pytest.MonkeyPatch) -> None:
    # Chat models come from the server's allow-list: the owner allows a local one.
    monkeypatch.setenv("RERANKLENS_CHAT_MODELS", "gpt-4o-mini,local-llama")
    get_workspace.clear()
    at = explore_page()
    at.selectbox(key="answer.model").set_value("local-llama")
    run_ok(at)
    assert any("No price known for 'local-llama': cost unknown" in c.value for c in at.caption)
    at.button(key=GENERATE).click()
    run_ok(at)
    assert json.loads(str(keyed_env.requests[0]["body"]))["model"] == "local-llama"
    assert any(c.value.endswith("cost unknown") for c in at.caption)


@pytest.mark.parametrize(
    ("failure", "message"),
    [
        ("wrong key", r"OpenAI rejected the API key \(401\): check OPENAI_API_KEY"),
        ("rate limit", r"OpenAI rate limit reached \(429\): wait a minute and retry"),
        ("server error", r"OpenAI chat request failed \(500\)"),
        ("timeout", r"did not answer within 1.5 s \(timeout\)"),
        ("server down", r"Cannot reach the OpenAI API: check OPENAI_BASE_URL"),
    ],
)
def test_errors_are_one_line_and_keep_the_page_and_earlier_answers(
    keyed_env: OpenAIStubServer, monkeypatch: pytest.MonkeyPatch, failure: str, message: str
) -> None:
    at = explore_page()
    at.button(key=GENERATE).click()
    run_ok(at)
    before = answers(at)
    assert set(before) == {"vector", "reranked"}

    if failure == "wrong key":
        keyed_env.api_key = "sk-changed-on-the-server"
    elif failure == "rate limit":
        keyed_env.fail_with = 429
    elif failure == "server error":
        keyed_env.fail_with = 500
    elif failure == "timeout":
        keyed_env.delay_s = SLOW_S
    else:
        monkeypatch.setenv("OPENAI_BASE_URL", f"http://127.0.0.1:{free_port()}/v1")
        get_workspace.clear()
    try:
        at.button(key=GENERATE).click()
        run_ok(at)
    finally:
        keyed_env.api_key = CHAT_API_KEY
    (error,) = errors(at)
    assert re.search(message, error), error
    assert error.endswith("Nothing else on this page changed.")
    assert "sk-" not in error
    assert answers(at) == before  # the earlier answers are still shown
    assert ranking_columns(at) == 2 and at.selectbox(key="answer.model").value == "gpt-4o-mini"


def test_an_answer_that_breaks_off_shows_what_arrived(keyed_env: OpenAIStubServer) -> None:
    keyed_env.cut_stream = True  # the server dies after the first word of the first answer
    at = explore_page()
    at.button(key=GENERATE).click()
    run_ok(at)
    (error,) = errors(at)
    assert error.startswith("Cannot reach the OpenAI API") and "The answer broke off after 10 characters." in error
    partial = [h.value for h in at.html if h.value.startswith('<div class="rl-answer-text"')]
    assert partial == ['<div class="rl-answer-text" style="white-space:pre-wrap">According </div>']
    assert any(c.value == "This answer broke off." for c in at.caption)
    assert not answers(at) and ranking_columns(at) == 2

    keyed_env.cut_stream = False
    keyed_env.fail_with = 500
    at.button(key=GENERATE).click()
    run_ok(at)
    assert any(c.value == "No answer." for c in at.caption)
