"""The LLM reranker (``openai:MODEL``) against the local OpenAI-protocol server, through the real
``openai`` client: listwise windows, pointwise grades, repaired permutations, empty answers, a 429,
a timeout, the cache, the concurrency limit and the cost."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from openai_server import SLOW_S, OpenAIStubServer, _tokens

from reranklens.access.limits import LimitError, RateLimiter, check_chat_model
from reranklens.config import Settings
from reranklens.errors import InvalidInputError, OpenAIRequestError
from reranklens.llm.budget import paid_calls
from reranklens.llm.client import ChatModel, usage_for
from reranklens.rerank.llm_reranker import (
    LlmReranker,
    parse_grade,
    parse_llm_name,
    parse_permutation,
    sliding_windows,
)
from reranklens.rerank.rerankers import make_reranker, rerank
from reranklens.rerank.score_cache import ScoreCache
from reranklens.types import Chunk, Hit, PassageScore

pytest_plugins = ["fixtures_openai"]

QUERY = "How do I rotate the API signing key?"
PASSAGES = [
    "Billing happens monthly and invoices are emailed.",
    "The dashboard shows usage charts per project.",
    "Rotate the API signing key under Settings, Keys: click rotate signing key.",
    "Support is available around the clock by chat.",
    "Regions: eu-west and us-east are available.",
    "Old API keys stop working one hour after you rotate them.",
    "Invite teammates from the members page.",
]


def hits(passages: list[str] = PASSAGES) -> tuple[Hit, ...]:
    return tuple(
        Hit(Chunk(f"c{i}", f"d{i}", text, "test", 0, char_end=len(text)), rank=i + 1, score=1.0 - i / 10)
        for i, text in enumerate(passages)
    )


def order_of(result: object) -> list[str]:
    return [r.hit.chunk.chunk_id for r in result.hits]  # type: ignore[attr-defined]


def chat_requests(server: OpenAIStubServer) -> list[dict]:
    return [json.loads(r["body"]) for r in server.requests if r["path"].endswith("/chat/completions")]


# -- repairing what models answer -----------------------------------------------------------------


def test_a_clean_permutation_needs_no_repair() -> None:
    permutation = parse_permutation("[2] > [3] > [1]", 3)
    assert permutation.order == (1, 2, 0)
    assert not permutation.repaired
    assert permutation.describe() == ""


@pytest.mark.parametrize(
    ("answer", "order", "said"),
    [
        ("Here is my ranking: [3] > [1] > [2]. Hope it helps!", (2, 0, 1), "text around the ranking was ignored"),
        ("[2] > [2] > [1] > [3]", (1, 0, 2), "repeated [2]"),
        ("[7] > [3] > [1] > [2]", (2, 0, 1), "unknown [7] dropped"),
        # [2] and [4] were left out: they follow, in their earlier relative order (2 before 4).
        ("[3] > [1]", (2, 0, 1, 3), "missing [2], [4] kept their earlier order"),
        ("3, 1, 2", (2, 0, 1), ""),  # bare numbers, no brackets: read as is
    ],
)
def test_malformed_permutations_are_repaired(answer: str, order: tuple[int, ...], said: str) -> None:
    permutation = parse_permutation(answer, len(order))
    assert permutation.order == order
    assert sorted(permutation.order) == list(range(len(order)))
    assert said in permutation.describe()
    assert permutation.repaired == bool(said)


def test_an_empty_answer_keeps_the_earlier_order() -> None:
    permutation = parse_permutation("  \n", 4)
    assert permutation.order == (0, 1, 2, 3)
    assert permutation.repaired and "empty" in permutation.describe()


def test_grades_are_read_from_json_or_a_digit() -> None:
    assert parse_grade('{"grade": 2}') == 2
    assert parse_grade('{"grades": [{"chunk": 1, "grade": 3}]}') == 3
    assert parse_grade("Grade: 1") == 1
    assert parse_grade('{"grade": 7}') is None
    assert parse_grade("") is None


def test_windows_slide_from_the_bottom_and_cover_every_position() -> None:
    assert sliding_windows(7, 4, 2) == [(3, 7), (1, 5), (0, 3)]
    assert sliding_windows(3, 20, 10) == [(0, 3)]
    for count, window, step in [(50, 20, 10), (23, 5, 5), (9, 4, 1)]:
        covered = {i for start, end in sliding_windows(count, window, step) for i in range(start, end)}
        assert covered == set(range(count))


def test_options_ride_on_the_name() -> None:
    model, options = parse_llm_name("openai:gpt-4o-mini?mode=pointwise&concurrency=8")
    assert (model, options.mode, options.concurrency) == ("gpt-4o-mini", "pointwise", 8)
    assert parse_llm_name("openai:m?window=6")[1].step == 3  # default step: half a small window
    for bad, says in [
        ("openai:", "Name the LLM"),
        ("openai:m?window=1", "window must be"),
        ("openai:m?window=4&step=5", "step must be"),
        ("openai:m?mode=pairwise", "Unknown LLM reranker mode"),
        ("openai:m?temperature=1", "Unknown LLM reranker option"),
        ("openai:m?window=ten", "whole numbers"),
    ]:
        with pytest.raises(InvalidInputError, match=says):
            parse_llm_name(bad)


# -- against the server ---------------------------------------------------------------------------


def test_listwise_windows_reorder_and_report_the_repair(chat_settings: Settings, chat_server: OpenAIStubServer) -> None:
    # A model that reverses every window it sees, always naming four ids: the last window has three
    # passages, so its [4] is unknown and must be dropped (and reported).
    chat_server.chat_reply = "[4] > [3] > [2] > [1]"
    reranker = make_reranker("openai:gpt-4o-mini?window=4&step=2", chat_settings)
    result = rerank(reranker, QUERY, hits())
    # windows (3,7), (1,5), (0,3) applied bottom first, worked out by hand:
    # [0..6] -> [0,1,2,6,5,4,3] -> [0,5,6,2,1,4,3] -> [6,5,0,2,1,4,3]
    assert order_of(result) == ["c6", "c5", "c0", "c2", "c1", "c4", "c3"]
    assert len(chat_requests(chat_server)) == 3
    assert result.repairs == ("candidates 1-3: unknown [4] dropped",)
    assert [r.raw_score for r in result.hits] == sorted((r.raw_score for r in result.hits), reverse=True)
    assert result.score_kind == "relevance" and result.cost is not None and result.cost.calls == 3


def test_prose_with_two_ids_is_repaired_and_the_rest_keep_their_order(
    chat_settings: Settings, chat_server: OpenAIStubServer
) -> None:
    # The stub model answers in prose citing the (at most two) passages sharing most words with the question.
    result = rerank(make_reranker("openai:gpt-4o-mini", chat_settings), QUERY, hits())
    order = order_of(result)
    assert order[0] == "c2"  # "Rotate the API signing key ..." shares most words with the question
    rest = [c for c in order[2:]]
    assert rest == sorted(rest, key=lambda c: int(c[1:]))  # the unnamed ones in their earlier order
    assert len(result.repairs) == 1
    assert "text around the ranking was ignored" in result.repairs[0] and "missing" in result.repairs[0]


def test_an_empty_answer_keeps_the_first_stage_order_and_says_so(
    chat_settings: Settings, chat_server: OpenAIStubServer
) -> None:
    chat_server.chat_reply = ""
    result = rerank(make_reranker("openai:gpt-4o-mini", chat_settings), QUERY, hits())
    assert order_of(result) == [f"c{i}" for i in range(len(PASSAGES))]
    assert result.repairs == ("candidates 1-7: the model's answer was empty: the earlier order was kept",)


def test_pointwise_grades_each_passage_concurrently_within_the_limit(
    chat_settings: Settings, chat_server: OpenAIStubServer
) -> None:
    chat_server.delay_s = 0.3  # long enough that the two allowed requests overlap
    reranker = make_reranker("openai:gpt-4o-mini?mode=pointwise&concurrency=2", chat_settings)
    result = rerank(reranker, QUERY, hits())
    requests = chat_requests(chat_server)
    assert len(requests) == len(PASSAGES)
    assert all(r["response_format"] == {"type": "json_object"} for r in requests)
    assert chat_server.max_in_flight == 2
    # The stub grades by words shared with the question (capped at 3): the key passage first.
    assert order_of(result)[0] == "c2"
    assert {round(r.raw_score * 3) for r in result.hits} <= {0, 1, 2, 3}
    assert result.repairs == ()


def test_pointwise_answer_without_a_grade_is_graded_zero_and_reported(
    chat_settings: Settings, chat_server: OpenAIStubServer
) -> None:
    chat_server.chat_reply = "I cannot tell."
    result = rerank(make_reranker("openai:gpt-4o-mini?mode=pointwise", chat_settings), QUERY, hits())
    assert {r.raw_score for r in result.hits} == {0.0}
    assert order_of(result) == [f"c{i}" for i in range(len(PASSAGES))]  # ties keep first-stage order
    assert result.repairs == ("the model's answer had no 0-3 grade: graded 0",)


def test_tokens_and_cost_are_counted(chat_settings: Settings, chat_server: OpenAIStubServer) -> None:
    result = rerank(make_reranker("openai:gpt-4o-mini?window=4&step=2", chat_settings), QUERY, hits())
    requests = chat_requests(chat_server)
    prompt = sum(_tokens(m["content"]) for r in requests for m in r["messages"])
    assert result.cost is not None
    assert result.cost.calls == len(requests) == 3
    assert result.cost.prompt_tokens == prompt
    expected = usage_for("gpt-4o-mini", result.cost.prompt_tokens, result.cost.completion_tokens)
    assert result.cost.usd == pytest.approx(expected.cost_usd) and result.cost.usd > 0


def test_unknown_price_is_unknown_not_zero(chat_settings: Settings, chat_server: OpenAIStubServer) -> None:
    result = rerank(make_reranker("openai:local-llama", chat_settings), QUERY, hits())
    assert result.cost is not None and result.cost.calls == 1 and result.cost.usd is None


def test_cached_like_the_cross_encoder_and_keyed_by_the_candidate_set(
    chat_settings: Settings, chat_server: OpenAIStubServer
) -> None:
    chat_server.chat_reply = "[2] > [1]"
    reranker = make_reranker("openai:gpt-4o-mini", chat_settings)
    cache: ScoreCache[PassageScore] = ScoreCache()
    first = rerank(reranker, QUERY, hits(), cache)
    again = rerank(reranker, QUERY, hits(), cache)
    assert len(chat_requests(chat_server)) == 1
    assert order_of(again) == order_of(first)
    assert again.repairs == first.repairs != ()  # the repair is still reported from the cache
    assert again.cost is not None and again.cost.calls == 0 and again.cost.usd == 0
    # Fewer candidates: a listwise score depends on the others, so nothing may be reused.
    rerank(reranker, QUERY, hits()[:4], cache)
    assert len(chat_requests(chat_server)) == 2


def test_a_429_is_one_clear_error(chat_settings: Settings, chat_server: OpenAIStubServer) -> None:
    chat_server.fail_with = 429
    with pytest.raises(OpenAIRequestError, match=r"rate limit reached \(429\)"):
        rerank(make_reranker("openai:gpt-4o-mini", chat_settings), QUERY, hits())


def test_a_timeout_is_one_clear_error(chat_settings: Settings, chat_server: OpenAIStubServer) -> None:
    chat_server.delay_s = SLOW_S
    reranker = LlmReranker("openai:gpt-4o-mini?mode=pointwise&concurrency=1", chat_settings, max_retries=0)
    with pytest.raises(OpenAIRequestError, match="did not answer within 1.5 s"):
        rerank(reranker, QUERY, hits()[:1])


def test_without_a_key_the_message_says_what_to_set(settings: Settings) -> None:
    with pytest.raises(Exception, match="OPENAI_API_KEY is not set"):
        make_reranker("openai:gpt-4o-mini", replace(settings, openai_api_key=None))


@pytest.mark.parametrize("name", ["openai:gpt-4o-mini?window=3&step=2", "openai:gpt-4o-mini?mode=pointwise"])
def test_each_request_is_a_paid_call_of_the_guarded_user(
    chat_settings: Settings, chat_server: OpenAIStubServer, name: str
) -> None:
    """Listwise windows and pointwise requests (in worker threads) all count for the caller's user; the
    request over the limit is never sent."""
    limiter = RateLimiter(2)
    with paid_calls(lambda model: limiter.take("ann")), pytest.raises(LimitError, match="limit of 2 paid requests"):
        rerank(make_reranker(name, chat_settings), QUERY, hits())
    assert len(chat_requests(chat_server)) == 2
    with pytest.raises(LimitError):
        limiter.take("ann")  # both calls were ann's
    limiter.take("bob")  # another user's budget is untouched


def test_each_retry_is_a_paid_call_and_a_model_off_the_list_sends_nothing(
    chat_settings: Settings, chat_server: OpenAIStubServer
) -> None:
    """The guard is asked before every attempt: a failing server retried under a limit of 2 sees 2
    requests, then the limit's line; the guard is told the model, so an allow-list can refuse it."""
    limiter, models = RateLimiter(2), []

    def guard(model: str) -> None:
        models.append(model)
        limiter.take("ann")

    chat_server.fail_with = 500
    reranker = LlmReranker("openai:gpt-4o-mini?mode=pointwise&concurrency=1", chat_settings, max_retries=5)
    with paid_calls(guard), pytest.raises(LimitError, match="limit of 2 paid requests"):
        rerank(reranker, QUERY, hits()[:1])
    assert len(chat_requests(chat_server)) == 2 and models == ["gpt-4o-mini"] * 3

    chat_server.reset()
    with paid_calls(lambda model: check_chat_model(model, ["gpt-4o"])), pytest.raises(LimitError, match="gpt-4o-mini"):
        rerank(make_reranker("openai:gpt-4o-mini", chat_settings), QUERY, hits())
    assert chat_requests(chat_server) == []


def test_answers_and_suggestions_count_each_request(chat_settings: Settings, chat_server: OpenAIStubServer) -> None:
    """The chat client itself asks the guard: a completion and a streamed answer are one paid call each."""
    limiter = RateLimiter(2)
    chat = ChatModel(chat_settings)
    messages = [{"role": "user", "content": "Question: rotate a key?"}]
    with paid_calls(lambda model: limiter.take("ann")):
        chat.complete(messages)
        chat.stream(messages).consume()
        with pytest.raises(LimitError):
            chat.complete(messages)
    assert len(chat_requests(chat_server)) == 2
