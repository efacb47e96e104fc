"""Who pays for the paid API requests made on this thread's behalf.

A shared server limits paid requests per user (``RERANKLENS_PAID_CALLS_PER_HOUR``) and the chat models
they may name (``RERANKLENS_CHAT_MODELS``), but the models that make them are shared by every session.
So the caller sets a guard for the work it runs (a page, for its signed-in user, for the whole script run;
a job inherits the guard of whoever submitted it), and the chat client takes one call from it before
*every* HTTP request it sends, retries included: the guard raises (a ``LimitError``) when the model is not
allowed or the user is over their limit, and nothing is sent. Since the client itself asks, no path that
reaches OpenAI (answers, suggestions, any ``openai:MODEL`` reranker) can skip it. Without a guard (the
CLI, the local owner's scripts) requests are not counted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

PaidCallGuard = Callable[[str], None]  # called with the chat model of the request about to be sent
_guard: ContextVar[PaidCallGuard | None] = ContextVar("paid_call_guard", default=None)


@contextmanager
def paid_calls(guard: PaidCallGuard) -> Iterator[None]:
    """Within this block (and threads started with a copy of its context), ``guard`` counts each request."""
    token = _guard.set(guard)
    try:
        yield
    finally:
        _guard.reset(token)


def guard_this_run(guard: PaidCallGuard) -> None:
    """Set ``guard`` for the rest of this thread's current context: a Streamlit script run sets it first
    thing, so every paid request of the run (and of jobs it submits) counts for its user."""
    _guard.set(guard)


def take_paid_call(model: str) -> None:
    """Before one paid request to ``model``: the guard's check (it raises when refused); no guard, no check."""
    guard = _guard.get()
    if guard is not None:
        guard(model)
