"""An LLM as the second stage: ``openai:MODEL`` on any OpenAI-compatible server (``OPENAI_BASE_URL``).

Two ways to ask:

- **listwise** (the default, RankGPT style): the model sees a window of numbered passages and answers
  with a permutation (``[3] > [1] > [2]``). A window slides from the bottom of the list to the top,
  ``step`` positions at a time, so a good passage found low down can climb to the top in one pass.
  Windows depend on each other and run one after another.
- **pointwise**: one request per passage, the model grades it 0-3; requests run concurrently.

Models do not always answer as asked. A permutation with prose around it, repeated ids, ids that name
no passage, or passages left out is *repaired*, never rejected: the ids are read in order, repeats and
unknown ones dropped, and the missing passages follow in their earlier relative order. Each repair is
reported (``PassageScore.note``, ``RerankResult.repairs``) so a view can say the order was patched.

Options ride on the name, so two settings of one model can be compared side by side:
``openai:gpt-4o-mini`` (listwise, window 20, step 10), ``openai:gpt-4o-mini?mode=pointwise``,
``openai:gpt-4o-mini?window=10&step=5&concurrency=2``.

Each API request (a window, or a passage pointwise, and each retry) counts as one paid call towards the
page user's ``RERANKLENS_PAID_CALLS_PER_HOUR`` and must name an allowed chat model (the chat client asks
the guard of ``reranklens.llm.budget``); scores served from the cache cost none. Refused, the request is
not sent and the reranker fails with the limit's one-line message.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import parse_qsl

from reranklens.config import Settings
from reranklens.errors import InvalidInputError
from reranklens.llm.client import ChatModel, ChatReply
from reranklens.retrieve.search import Stopwatch
from reranklens.types import PassageScore, RerankCost, ScoreKind

log = logging.getLogger(__name__)

OPENAI_PREFIX = "openai:"
LlmMode = Literal["listwise", "pointwise"]
DEFAULT_WINDOW = 20
DEFAULT_STEP = 10
DEFAULT_CONCURRENCY = 4
MAX_CONCURRENCY = 32
MIN_WINDOW, MAX_WINDOW = 2, 100
# Passages are cut to this many characters in prompts: a window of 20 long chunks must fit a context.
PASSAGE_CHARS = 1_500
# Bumped when a prompt changes, so cached scores of the old prompt are not reused.
PROMPT_VERSION = "v1"
MAX_GRADE = 3

LISTWISE_SYSTEM = (
    "You are a search relevance ranker. You are given a question and numbered passages. "
    "Rank ALL passages from most to least relevant to the question. Answer with the ranking only, "
    "in the form [2] > [1] > [3], and nothing else."
)
POINTWISE_SYSTEM = (
    "You grade how well a passage answers a question: 0 = irrelevant, 1 = related, 2 = partly answers, "
    '3 = fully answers. Answer with JSON only: {"grade": G}.'
)
_ID = re.compile(r"\[(\d+)\]")
_BARE_ID = re.compile(r"\d+")
# What a bare ranking is made of; anything else in an answer is prose around it.
_RANKING_CHARS = re.compile(r"->|[\[\]\d>,;.\s]")


@dataclass(frozen=True)
class LlmOptions:
    mode: LlmMode = "listwise"
    window: int = DEFAULT_WINDOW
    step: int = DEFAULT_STEP
    concurrency: int = DEFAULT_CONCURRENCY

    def __post_init__(self) -> None:
        if self.mode not in ("listwise", "pointwise"):
            raise InvalidInputError(f"Unknown LLM reranker mode '{self.mode}': choose listwise or pointwise.")
        if not MIN_WINDOW <= self.window <= MAX_WINDOW:
            raise InvalidInputError(
                f"The LLM reranker window must be {MIN_WINDOW}-{MAX_WINDOW} passages, got {self.window}."
            )
        if not 1 <= self.step <= self.window:
            raise InvalidInputError(
                f"The LLM reranker step must be 1 to the window ({self.window}), got {self.step}: a larger step "
                "would leave passages no window sees."
            )
        if not 1 <= self.concurrency <= MAX_CONCURRENCY:
            raise InvalidInputError(f"LLM reranker concurrency must be 1-{MAX_CONCURRENCY}, got {self.concurrency}.")


def parse_llm_name(name: str) -> tuple[str, LlmOptions]:
    """``openai:gpt-4o-mini?mode=pointwise&concurrency=8`` -> ``("gpt-4o-mini", LlmOptions(...))``."""
    spec = name.strip().removeprefix(OPENAI_PREFIX)
    model, _, query = spec.partition("?")
    model = model.strip()
    if not model:
        raise InvalidInputError("Name the LLM after 'openai:', e.g. openai:gpt-4o-mini.")
    values: dict[str, str] = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        if key not in ("mode", "window", "step", "concurrency"):
            raise InvalidInputError(
                f"Unknown LLM reranker option '{key}' in '{name}': use mode, window, step or concurrency."
            )
        values[key] = value.strip()
    try:
        numbers = {key: int(values[key]) for key in ("window", "step", "concurrency") if key in values}
    except ValueError as exc:
        raise InvalidInputError(f"'{name}': window, step and concurrency must be whole numbers.") from exc
    window = numbers.get("window", DEFAULT_WINDOW)
    step = numbers.get("step", min(DEFAULT_STEP, max(1, window // 2)))
    mode = values.get("mode", "listwise")
    return model, LlmOptions(mode, window, step, numbers.get("concurrency", DEFAULT_CONCURRENCY))  # type: ignore[arg-type]


@dataclass(frozen=True)
class Permutation:
    """A model's ranking of ``count`` passages, as 0-based positions, and what had to be repaired."""

    order: tuple[int, ...]
    missing: tuple[int, ...] = ()
    repeated: tuple[int, ...] = ()
    unknown: tuple[str, ...] = ()
    prose: bool = False
    empty: bool = False

    @property
    def repaired(self) -> bool:
        return bool(self.missing or self.repeated or self.unknown or self.prose or self.empty)

    def describe(self) -> str:
        """One line, ids 1-based as the model saw them; empty when nothing was repaired."""
        if self.empty:
            return "the model's answer was empty: the earlier order was kept"
        parts = []
        if self.prose:
            parts.append("text around the ranking was ignored")
        if self.repeated:
            parts.append("repeated " + _ids(self.repeated))
        if self.unknown:
            parts.append("unknown " + ", ".join(f"[{u}]" for u in self.unknown) + " dropped")
        if self.missing:
            parts.append("missing " + _ids(self.missing) + " kept their earlier order")
        return "; ".join(parts)


def _ids(positions: Sequence[int]) -> str:
    return ", ".join(f"[{p + 1}]" for p in positions)


def parse_permutation(text: str, count: int) -> Permutation:
    """Read a ranking of passages ``[1]..[count]`` from a model's answer, repairing what it got wrong.

    Ids in brackets are read in order (bare numbers when there are none); repeats after the first and
    ids outside 1..count are dropped; passages never named follow the named ones in their earlier order.

    >>> parse_permutation("Sure! [3] > [1] > [3] > [9]", 4).order
    (2, 0, 1, 3)
    """
    stripped = text.strip()
    if not stripped:
        return Permutation(tuple(range(count)), missing=tuple(range(count)), empty=True)
    tokens = _ID.findall(stripped) or _BARE_ID.findall(stripped)
    prose = bool(_RANKING_CHARS.sub("", stripped))
    order: list[int] = []
    repeated: list[int] = []
    unknown: list[str] = []
    for token in tokens:
        position = int(token) - 1
        if not 0 <= position < count:
            unknown.append(token)
        elif position in order:
            repeated.append(position)
        else:
            order.append(position)
    missing = [p for p in range(count) if p not in order]
    return Permutation(
        tuple(order + missing), tuple(missing), tuple(dict.fromkeys(repeated)), tuple(unknown), prose, not tokens
    )


def parse_grade(text: str) -> int | None:
    """The 0-3 grade in a pointwise answer: ``{"grade": 2}``, the judge shape
    ``{"grades": [{"grade": 2}]}``, or a bare digit; None when there is none."""
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    candidates: list[object] = []
    if isinstance(data, dict):
        candidates.append(data.get("grade"))
        grades = data.get("grades")
        if isinstance(grades, list) and grades and isinstance(grades[0], dict):
            candidates.append(grades[0].get("grade"))
    elif isinstance(data, int):
        candidates.append(data)
    match = re.search(r"\b([0-3])\b", text)
    if match:
        candidates.append(int(match.group(1)))
    for value in candidates:
        if isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= MAX_GRADE:
            return int(value)
    return None


def sliding_windows(count: int, window: int, step: int) -> list[tuple[int, int]]:
    """RankGPT's windows over ``count`` positions, bottom first: ``[start, end)`` pairs.

    >>> sliding_windows(7, 4, 2)
    [(3, 7), (1, 5), (0, 3)]
    """
    if count <= 0:
        return []
    windows = []
    end = count
    while True:
        start = max(0, end - window)
        windows.append((start, end))
        if start == 0:
            return windows
        end -= step


@dataclass
class _Tally:
    """What one query's calls cost, added up across threads."""

    cost: RerankCost = field(default_factory=RerankCost)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, chat: ChatModel, reply: ChatReply) -> None:
        usage = reply.usage
        cost = (
            RerankCost(1, usage.prompt_tokens, usage.completion_tokens, usage.cost_usd)
            if usage is not None
            else RerankCost(1, usd=None)
        )
        with self.lock:
            self.cost = self.cost + cost


@dataclass(frozen=True)
class ScoreBatch:
    """Scores of one call to ``score_batch`` and what the calls cost."""

    scores: list[PassageScore]
    cost: RerankCost


class LlmReranker:
    """An OpenAI-compatible chat model as a reranker (see the module docstring).

    ``score_kind`` is ``relevance``: listwise, a passage at position p of n scores 1 - (p - 1) / n; pointwise,
    its grade / 3. Only the order of listwise scores means something.
    """

    score_kind: ScoreKind = "relevance"
    max_tokens: int | None = None

    def __init__(self, name: str, settings: Settings, max_retries: int = 2) -> None:
        model, self.options = parse_llm_name(name)
        self.name = name.strip()
        self.chat = ChatModel(settings, model, max_retries=max_retries)
        # Shared by every query using this reranker (Streamlit sessions, evaluation), so the server sees
        # at most ``concurrency`` requests from it at once.
        self._slots = threading.BoundedSemaphore(self.options.concurrency)

    @property
    def listwise(self) -> bool:
        """A listwise score depends on the other candidates: the cache keys the whole candidate set."""
        return self.options.mode == "listwise"

    @property
    def cache_key(self) -> str:
        o = self.options
        window = f":w{o.window}:s{o.step}" if self.listwise else ""
        return f"openai:{self.chat.client.base_url}:{self.chat.model}:{o.mode}{window}:{PROMPT_VERSION}"

    def warnings(self) -> tuple[str, ...]:
        return ()

    def score(self, query: str, passages: Sequence[str], watch: Stopwatch | None = None) -> list[PassageScore]:
        return self.score_batch(query, passages, watch).scores

    def score_batch(self, query: str, passages: Sequence[str], watch: Stopwatch | None = None) -> ScoreBatch:
        """Scores (with a ``note`` on repaired ones) and the cost of the calls; raises
        ``OpenAIRequestError`` (429, timeout, refused key ...) when a call fails."""
        watch = watch or Stopwatch()
        tally = _Tally()
        if not passages:
            return ScoreBatch([], tally.cost)
        with watch("rerank_model"):
            if self.listwise:
                scores = self._listwise(query, passages, tally)
            else:
                scores = self._pointwise(query, passages, tally)
        return ScoreBatch(scores, tally.cost)

    def _ask(self, messages: list[dict[str, str]], tally: _Tally, json_mode: bool = False) -> str:
        with self._slots:  # the chat client takes a paid call of the caller's user before each attempt
            reply = self.chat.complete(messages, json_mode=json_mode)
        tally.add(self.chat, reply)
        return reply.text

    def _listwise(self, query: str, passages: Sequence[str], tally: _Tally) -> list[PassageScore]:
        order = list(range(len(passages)))
        notes: dict[int, list[str]] = {}
        for start, end in sliding_windows(len(passages), self.options.window, self.options.step):
            inside = order[start:end]
            blocks = "\n\n".join(f"[{n}]\n{_cut(passages[i])}" for n, i in enumerate(inside, start=1))
            prompt = (
                f"Question: {query}\nRank these {len(inside)} passages, most relevant first, and answer with all "
                f"{len(inside)} ids, e.g. [2] > [1] > [3].\n\n{blocks}"
            )
            messages = [{"role": "system", "content": LISTWISE_SYSTEM}, {"role": "user", "content": prompt}]
            text = self._ask(messages, tally)
            permutation = parse_permutation(text, len(inside))
            if permutation.repaired:
                line = f"candidates {start + 1}-{end}: {permutation.describe()}"
                log.info("repaired %s's permutation: %s", self.name, line)
                for i in inside:
                    notes.setdefault(i, []).append(line)
            order[start:end] = [inside[p] for p in permutation.order]
        count = len(passages)
        scores = [PassageScore(0.0)] * count
        for position, i in enumerate(order):
            scores[i] = PassageScore(1.0 - position / count, note=" · ".join(notes[i]) if i in notes else None)
        return scores

    def _pointwise(self, query: str, passages: Sequence[str], tally: _Tally) -> list[PassageScore]:
        def grade(passage: str) -> PassageScore:
            prompt = f"Question: {query}\nGrade passage [1] from 0 to 3.\n\n[1]\n{_cut(passage)}"
            messages = [{"role": "system", "content": POINTWISE_SYSTEM}, {"role": "user", "content": prompt}]
            text = self._ask(messages, tally, json_mode=True)
            value = parse_grade(text)
            if value is None:
                note = "the model's answer had no 0-3 grade: graded 0" if text.strip() else "empty answer: graded 0"
                return PassageScore(0.0, note=note)
            return PassageScore(value / MAX_GRADE)

        workers = min(self.options.concurrency, len(passages))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="llm-rerank") as pool:
            # Each request runs in a copy of the caller's context, so it is counted for the caller's user.
            futures = [pool.submit(contextvars.copy_context().run, grade, passage) for passage in passages]
            return [future.result() for future in futures]


def _cut(passage: str) -> str:
    text = " ".join(passage.split())
    return text if len(text) <= PASSAGE_CHARS else text[:PASSAGE_CHARS] + " …"
