"""Fixtures for tests of the OpenAI features: one local OpenAI-protocol server per session
(``tests/openai_server.py``), reset before each test, and settings or env that point at it.
Test modules load them with ``pytest_plugins = ["fixtures_openai"]``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from openai_server import CHAT_API_KEY as API_KEY
from openai_server import TEST_TIMEOUT_S, OpenAIStubServer

from reranklens.config import Settings


@pytest.fixture(scope="session")
def openai_session_server() -> Iterator[OpenAIStubServer]:
    with OpenAIStubServer(api_key=API_KEY) as server:
        yield server


@pytest.fixture
def chat_server(openai_session_server: OpenAIStubServer) -> Iterator[OpenAIStubServer]:
    """The session's server, healthy, with an empty request log."""
    openai_session_server.reset()
    yield openai_session_server
    openai_session_server.reset()


@pytest.fixture
def chat_settings(settings: Settings, chat_server: OpenAIStubServer) -> Settings:
    """The test's data dir, with the key and base URL of ``chat_server``."""
    return Settings(
        data_dir=settings.data_dir,
        openai_api_key=API_KEY,
        openai_base_url=chat_server.base_url,
        openai_timeout_s=TEST_TIMEOUT_S,
    )


@pytest.fixture
def openai_env(chat_server: OpenAIStubServer, monkeypatch: pytest.MonkeyPatch) -> OpenAIStubServer:
    """OPENAI_* variables pointing at ``chat_server`` (for the CLI and pages)."""
    monkeypatch.setenv("OPENAI_API_KEY", API_KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", chat_server.base_url)
    monkeypatch.setenv("RERANKLENS_OPENAI_TIMEOUT", str(TEST_TIMEOUT_S))
    monkeypatch.delenv("OPENAI_CHAT_MODEL", raising=False)
    monkeypatch.delenv("RERANKLENS_OPENAI_PRICES", raising=False)
    monkeypatch.delenv("RERANKLENS_CHAT_MODELS", raising=False)
    # The per-user hourly limit of paid calls is process-wide: page tests share one process (and "local").
    monkeypatch.setenv("RERANKLENS_PAID_CALLS_PER_HOUR", "1000000")
    return chat_server
