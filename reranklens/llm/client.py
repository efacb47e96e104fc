"""The OpenAI chat client RerankLens uses for answers and label suggestions, and its costs.

Any server speaking the OpenAI chat-completions protocol works (``OPENAI_BASE_URL``). Every failure
of the official ``openai`` client becomes an ``OpenAIRequestError`` whose message says what to do;
the API key never appears in a message, a log line or ``repr``.

Prices are list prices in USD per million tokens, as of 2025-06 (``PRICES_AS_OF``); they change, so
``RERANKLENS_OPENAI_PRICES="MODEL=INPUT/OUTPUT,..."`` overrides or extends the table. A model that is
in neither gets no estimate ("cost unknown"), never a guess.

Retries (429, 5xx, timeouts, lost connections) are made here, not inside the ``openai`` client, because
each one is a paid request: every attempt first takes a paid call from the caller's guard
(``reranklens.llm.budget``), so a refused or over-limit user sends nothing, retries included.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from reranklens.config import Settings
from reranklens.errors import InvalidInputError, MissingOpenAIKeyError, OpenAIRequestError
from reranklens.llm.budget import take_paid_call

if TYPE_CHECKING:
    from openai import OpenAI

log = logging.getLogger(__name__)

PRICES_AS_OF = "2025-06"
# model -> (input, output) USD per million tokens (OpenAI list prices, standard tier).
PRICES_PER_MTOK: dict[str, tuple[float, float]] = {
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4o": (2.50, 10.00),
    "gpt-4.1-nano": (0.10, 0.40),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1": (2.00, 8.00),
    "gpt-3.5-turbo": (0.50, 1.50),
}
MAX_RETRY_WAIT_S = 8.0  # the longest pause before a retry, whatever the server's retry-after asks
CHAT_WITHOUT_KEY = "to generate answers and label suggestions; everything else works without it"
Message = dict[str, str]


@dataclass(frozen=True)
class Usage:
    """Tokens one request (or several, added up) consumed; ``cost_usd`` is None when unknown."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | None = None

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: Usage) -> Usage:
        cost = None if self.cost_usd is None or other.cost_usd is None else self.cost_usd + other.cost_usd
        return Usage(self.prompt_tokens + other.prompt_tokens, self.completion_tokens + other.completion_tokens, cost)

    def describe(self) -> str:
        """``"812 prompt + 95 completion tokens · ≈ $0.000179"`` (or ``· cost unknown``)."""
        cost = "cost unknown" if self.cost_usd is None else f"≈ ${self.cost_usd:.6f}"
        return f"{self.prompt_tokens} prompt + {self.completion_tokens} completion tokens · {cost}"


def parse_prices(text: str | None) -> dict[str, tuple[float, float]]:
    """``"gpt-4o-mini=0.15/0.6,my-model=1/2"`` -> ``{"gpt-4o-mini": (0.15, 0.6), ...}``."""
    prices: dict[str, tuple[float, float]] = {}
    for item in (text or "").split(","):
        if not item.strip():
            continue
        try:
            model, pair = item.split("=", 1)
            prompt, completion = (float(v) for v in pair.split("/", 1))
        except ValueError as exc:
            raise InvalidInputError(
                f"RERANKLENS_OPENAI_PRICES entry {item.strip()!r} is not MODEL=INPUT/OUTPUT (USD per 1M tokens)."
            ) from exc
        prices[model.strip()] = (prompt, completion)
    return prices


def price_for(model: str, prices: Mapping[str, tuple[float, float]] | None = None) -> tuple[float, float] | None:
    """The (input, output) price of ``model``: an exact entry, else the longest entry it starts with
    (``gpt-4o-mini-2024-07-18`` is priced as ``gpt-4o-mini``), else None."""
    table = {**PRICES_PER_MTOK, **(prices or {})}
    if model in table:
        return table[model]
    matches = [name for name in table if model.startswith(name + "-")]
    return table[max(matches, key=len)] if matches else None


def usage_for(
    model: str, prompt_tokens: int, completion_tokens: int, prices: Mapping[str, tuple[float, float]] | None = None
) -> Usage:
    price = price_for(model, prices)
    cost = None if price is None else (prompt_tokens * price[0] + completion_tokens * price[1]) / 1_000_000
    return Usage(prompt_tokens, completion_tokens, cost)


@contextmanager
def openai_errors(what: str, base_url: object, timeout_s: float | None = None) -> Iterator[None]:
    """Turn the ``openai`` client's exceptions into one ``OpenAIRequestError`` that says the fix.

    ``what`` names the request in messages ("embeddings", "chat"). The server's own error text is
    left out: it can quote the key ("Incorrect API key provided: sk-..."). So is ``base_url``: it may
    carry credentials (``https://user:token@host``) and the message reaches every visitor of the app.
    """
    del base_url  # named by its variable only, never quoted
    import openai

    try:
        yield
    except openai.AuthenticationError as exc:
        raise OpenAIRequestError("OpenAI rejected the API key (401): check OPENAI_API_KEY.") from exc
    except openai.RateLimitError as exc:
        raise OpenAIRequestError("OpenAI rate limit reached (429): wait a minute and retry.") from exc
    except openai.APITimeoutError as exc:
        limit = f" within {timeout_s:g} s" if timeout_s else ""
        raise OpenAIRequestError(
            f"The OpenAI API (OPENAI_BASE_URL) did not answer{limit} (timeout): retry, or raise "
            "RERANKLENS_OPENAI_TIMEOUT."
        ) from exc
    except openai.APIConnectionError as exc:
        raise OpenAIRequestError("Cannot reach the OpenAI API: check OPENAI_BASE_URL and the network.") from exc
    except openai.NotFoundError as exc:
        raise OpenAIRequestError(
            f"OpenAI {what} request failed (404): check the model name and OPENAI_BASE_URL."
        ) from exc
    except openai.APIStatusError as exc:
        raise OpenAIRequestError(f"OpenAI {what} request failed ({exc.status_code}).") from exc
    except openai.APIResponseValidationError as exc:
        raise OpenAIRequestError(
            f"The OpenAI API (OPENAI_BASE_URL) sent a {what} response RerankLens cannot read."
        ) from exc


@dataclass(frozen=True)
class ChatReply:
    """A finished completion; ``usage`` is None when the server did not report token counts."""

    text: str
    model: str
    usage: Usage | None


class ChatStream:
    """The answer of one streamed chat request: iterate for text pieces as they arrive; afterwards
    ``text`` holds all of it and ``usage`` the server's token counts (``include_usage``).

    A failure while streaming raises ``OpenAIRequestError``; the text received so far stays in ``text``.
    """

    def __init__(self, chat: ChatModel, messages: Sequence[Message], max_tokens: int | None) -> None:
        self._chat = chat
        self._messages = list(messages)
        self._max_tokens = max_tokens
        self.model = chat.model
        self.pieces: list[str] = []
        self.usage: Usage | None = None
        self.done = False

    @property
    def text(self) -> str:
        return "".join(self.pieces)

    def __iter__(self) -> Iterator[str]:
        try:
            yield from self._pieces()
        except OpenAIRequestError as exc:
            if not self.pieces:
                raise
            raise OpenAIRequestError(f"{exc} The answer broke off after {len(self.text)} characters.") from exc
        self.done = True

    def _pieces(self) -> Iterator[str]:
        chat = self._chat
        with chat.errors():
            stream = chat.create(
                messages=self._messages,  # type: ignore[arg-type]
                stream=True,
                stream_options={"include_usage": True},
                temperature=0,
                **_limit(self._max_tokens),
            )
            for event in stream:
                if event.usage is not None:
                    self.usage = chat.usage(event.usage.prompt_tokens, event.usage.completion_tokens)
                for choice in event.choices:
                    piece = choice.delta.content if choice.delta else None
                    if piece:
                        self.pieces.append(piece)
                        yield piece

    def consume(self) -> ChatReply:
        """Read the whole stream (the pieces collect in ``self.pieces``) and return the reply."""
        deque(self, maxlen=0)
        return ChatReply(self.text, self.model, self.usage)


class ChatModel:
    """One chat model on one OpenAI-compatible server, with the settings' key, base URL and timeout."""

    def __init__(self, settings: Settings, model: str | None = None, max_retries: int = 2) -> None:
        if not settings.openai_api_key:
            raise MissingOpenAIKeyError(CHAT_WITHOUT_KEY)
        model = (model or settings.openai_chat_model).strip()
        if not model:
            raise InvalidInputError("The chat model name is empty: type one, e.g. gpt-4o-mini.")
        from openai import OpenAI

        self.model = model
        self.max_retries = max_retries
        self.timeout_s = settings.openai_timeout_s
        self.prices = parse_prices(settings.openai_prices)
        self.client: OpenAI = OpenAI(
            api_key=settings.openai_api_key,
            base_url=settings.openai_base_url,
            max_retries=0,  # retried in ``create``, each attempt counted as a paid call
            timeout=settings.openai_timeout_s,
        )

    def __repr__(self) -> str:
        return f"ChatModel(model={self.model!r}, base_url={str(self.client.base_url)!r})"

    def errors(self) -> Any:
        return openai_errors("chat", self.client.base_url, self.timeout_s)

    def usage(self, prompt_tokens: int, completion_tokens: int) -> Usage:
        return usage_for(self.model, prompt_tokens, completion_tokens, self.prices)

    def create(self, **request: Any) -> Any:
        """``chat.completions.create`` for this model, retried up to ``max_retries`` times on a 408, 409,
        429, 5xx, timeout or lost connection; before each attempt the caller's guard takes a paid call
        (``LimitError`` when refused: nothing more is sent). Call it inside ``errors()``."""
        import openai

        for attempt in range(self.max_retries + 1):
            take_paid_call(self.model)
            try:
                return self.client.chat.completions.create(model=self.model, **request)
            except (openai.APIConnectionError, openai.APIStatusError) as exc:
                if attempt == self.max_retries or not _retryable(exc):
                    raise
                wait = _retry_wait(exc, attempt)
                log.info("chat request failed (%s): retrying in %.2f s", type(exc).__name__, wait)
                time.sleep(wait)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def stream(self, messages: Sequence[Message], max_tokens: int | None = None) -> ChatStream:
        """A streamed completion (nothing is sent until it is iterated)."""
        return ChatStream(self, messages, max_tokens)

    def complete(
        self, messages: Sequence[Message], max_tokens: int | None = None, json_mode: bool = False
    ) -> ChatReply:
        """One non-streamed completion; ``json_mode`` asks for a JSON object (``response_format``)."""
        extra: dict[str, Any] = {"response_format": {"type": "json_object"}} if json_mode else {}
        with self.errors():
            response = self.create(
                messages=list(messages),  # type: ignore[arg-type]
                temperature=0,
                **_limit(max_tokens),
                **extra,
            )
        text = (response.choices[0].message.content or "") if response.choices else ""
        usage = self.usage(response.usage.prompt_tokens, response.usage.completion_tokens) if response.usage else None
        return ChatReply(text, self.model, usage)


def _retryable(exc: Exception) -> bool:
    status = getattr(exc, "status_code", None)
    return status is None or status in (408, 409, 429) or status >= 500


def _retry_wait(exc: Exception, attempt: int) -> float:
    """The server's ``retry-after-ms`` / ``retry-after`` (seconds) when it sent one, else 0.5 s doubling;
    never more than ``MAX_RETRY_WAIT_S``."""
    response = getattr(exc, "response", None)
    headers = response.headers if response is not None else {}
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        try:
            return min(MAX_RETRY_WAIT_S, max(0.0, float(headers.get(name, "")) * scale))
        except ValueError:
            continue
    return min(MAX_RETRY_WAIT_S, 0.5 * 2**attempt)


def _limit(max_tokens: int | None) -> dict[str, int]:
    return {"max_tokens": max_tokens} if max_tokens else {}
