"""Limits on a shared server: an allow-list of chat models, a per-user hourly limit
of paid calls, capped training steps, and upload limits checked before any file is read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from openai_server import OpenAIStubServer
from streamlit.testing.v1 import AppTest

from components.shared.resources import get_workspace
from reranklens.access.limits import (
    MAX_UPLOAD_FILES,
    LimitError,
    RateLimiter,
    check_chat_model,
    check_train_steps,
    check_uploads,
)
from reranklens.config import Settings

pytest_plugins = ["fixtures_openai", "fixtures_page"]

APP = Path(__file__).resolve().parents[1] / "app.py"
REPO = APP.parent


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_paid_calls_are_limited_per_user_in_a_sliding_hour() -> None:
    clock = Clock()
    limiter = RateLimiter(2, clock=clock)
    limiter.take("ana")
    clock.now += 600
    limiter.take("ana")
    limiter.take("ben")  # another user has a budget of their own
    with pytest.raises(LimitError, match=r"limit of 2 paid requests per hour .* try again in about 50 min"):
        limiter.take("ana")
    clock.now += 3000  # the first call is an hour old
    limiter.take("ana")
    with pytest.raises(LimitError):
        limiter.take("ana")


def test_only_allow_listed_chat_models(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RERANKLENS_CHAT_MODELS", raising=False)
    monkeypatch.setenv("OPENAI_CHAT_MODEL", "gpt-4o-mini")
    assert Settings.from_env().allowed_chat_models == ("gpt-4o-mini",)
    monkeypatch.setenv("RERANKLENS_CHAT_MODELS", "gpt-4o-mini, local-llama ,")
    allowed = Settings.from_env().allowed_chat_models
    assert allowed == ("gpt-4o-mini", "local-llama")
    assert check_chat_model(" local-llama ", allowed) == "local-llama"
    with pytest.raises(
        LimitError, match=r"'o1-pro' is not allowed .* gpt-4o-mini, local-llama .*RERANKLENS_CHAT_MODELS"
    ):
        check_chat_model("o1-pro", allowed)


def test_training_steps_and_uploads_are_capped() -> None:
    assert check_train_steps(500, 500) == 500
    with pytest.raises(LimitError, match=r"100000 training steps is over this server's limit of 500"):
        check_train_steps(100_000, 500)
    check_uploads([1024] * MAX_UPLOAD_FILES, max_file_mb=1)
    with pytest.raises(LimitError, match=rf"{MAX_UPLOAD_FILES + 1} files is over the limit"):
        check_uploads([1] * (MAX_UPLOAD_FILES + 1), max_file_mb=1)
    with pytest.raises(LimitError, match=r"1 file\(s\) over 1 MB"):
        check_uploads([10, 2 * 1024 * 1024], max_file_mb=1)


def test_the_upload_size_limit_of_one_request_is_the_file_limit() -> None:
    """Streamlit refuses a bigger upload itself, before the app holds it in memory."""
    import tomllib

    config = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["server"]["maxUploadSize"] <= 20


def test_the_answer_preview_offers_only_allowed_models_and_stops_at_the_hourly_limit(
    offline_page_env: None, openai_env: OpenAIStubServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RERANKLENS_PAID_CALLS_PER_HOUR", "2")  # one click: two answers, each a paid request
    monkeypatch.setenv("RERANKLENS_CHAT_MODELS", "gpt-4o-mini,local-llama")
    get_workspace.clear()
    at = AppTest.from_file(str(APP), default_timeout=180).run()
    picker = at.selectbox(key="answer.model")
    assert picker.options == ["gpt-4o-mini", "local-llama"] and not picker.proto.accept_new_options
    at.button(key="answer.generate").click()
    at.run()
    assert not at.exception and not at.error
    sent = len(openai_env.requests)
    assert sent == 2 and json.loads(str(openai_env.requests[0]["body"]))["model"] == "gpt-4o-mini"
    at.button(key="answer.generate").click()
    at.run()
    [error] = [e.value for e in at.error]
    assert "limit of 2 paid requests per hour" in error
    assert len(openai_env.requests) == sent  # refused before any request
