"""Who pays for the paid API requests made on this thread's behalf.

A shared server limits paid requests per user (``RERANKLENS_PAID_CALLS_PER_HOUR``), but the models that
make them are shared by every session. So the caller (a page, for its signed-in user) sets a guard for
the work it runs, and each paid request takes one call from it first: the guard raises (a
``LimitError``) when the user is over their limit, and nothing is sent. Without a guard (the CLI, the
local user) requests are not counted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

PaidCallGuard = Callable[[], None]
_guard: ContextVar[PaidCallGuard | None] = ContextVar("paid_call_guard", default=None)


@contextmanager
def paid_calls(guard: PaidCallGuard) -> Iterator[None]:
    """Within this block (and threads started with a copy of its context), ``guard`` counts each request."""
    token = _guard.set(guard)
    try:
        yield
    finally:
        _guard.reset(token)


def take_paid_call() -> None:
    """Before one paid request: the guard's check (it raises when over the limit); no guard, no check."""
    guard = _guard.get()
    if guard is not None:
        guard()
