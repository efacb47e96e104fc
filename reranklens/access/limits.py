"""Limits that keep one visitor from exhausting a shared server or its paid API key.

- chat models: only the allow-listed ones (``RERANKLENS_CHAT_MODELS``; default: ``OPENAI_CHAT_MODEL``);
- paid calls (answers, label suggestions, each LLM reranker request): at most
  ``RERANKLENS_PAID_CALLS_PER_HOUR`` per user;
- training: at most ``RERANKLENS_MAX_TRAIN_STEPS`` steps;
- uploads: at most ``MAX_UPLOAD_FILES`` files and ``max_file_mb`` each, checked on the sizes the
  browser reported, before any file is read (Streamlit's ``server.maxUploadSize`` caps one request).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Sequence

from reranklens.errors import RerankLensError

MAX_UPLOAD_FILES = 100
PAID_WINDOW_S = 3600.0


class LimitError(RerankLensError):
    """A request over one of the server's limits; the message names the limit and its setting."""


def check_chat_model(model: str, allowed: Sequence[str]) -> str:
    """``model`` when it is on the allow-list; ``LimitError`` naming the allowed ones otherwise."""
    model = model.strip()
    if model not in allowed:
        raise LimitError(
            f"Chat model '{model}' is not allowed on this server: pick one of {', '.join(allowed)} "
            "(the server's owner sets RERANKLENS_CHAT_MODELS)."
        )
    return model


def check_train_steps(steps: int, cap: int) -> int:
    if steps > cap:
        raise LimitError(f"{steps} training steps is over this server's limit of {cap} (RERANKLENS_MAX_TRAIN_STEPS).")
    return steps


def check_uploads(sizes: Sequence[int], max_file_mb: float, max_files: int = MAX_UPLOAD_FILES) -> None:
    """Refuse an upload batch by count and size before reading it (``sizes`` in bytes, as reported)."""
    if len(sizes) > max_files:
        raise LimitError(f"{len(sizes)} files is over the limit of {max_files} per upload: upload them in parts.")
    too_big = [size for size in sizes if size > max_file_mb * 1024 * 1024]
    if too_big:
        raise LimitError(
            f"{len(too_big)} file(s) over {max_file_mb:g} MB (RERANKLENS_MAX_FILE_MB): split them or ask the "
            "server's owner to ingest them with the CLI."
        )


class RateLimiter:
    """At most ``limit`` calls per user in any ``window_s`` seconds (sliding window, process-wide)."""

    def __init__(self, limit: int, window_s: float = PAID_WINDOW_S, clock: Callable[[], float] = time.monotonic):
        self.limit = limit
        self.window_s = window_s
        self._clock = clock
        self._calls: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def take(self, user: str) -> None:
        """Count one call for ``user``, or raise ``LimitError`` saying when the next one is possible."""
        now = self._clock()
        with self._lock:
            calls = self._calls.setdefault(user, deque())
            while calls and calls[0] <= now - self.window_s:
                calls.popleft()
            if len(calls) >= self.limit:
                wait_min = max(1, round((calls[0] + self.window_s - now) / 60))
                raise LimitError(
                    f"You reached this server's limit of {self.limit} paid requests per hour "
                    f"(RERANKLENS_PAID_CALLS_PER_HOUR): try again in about {wait_min} min."
                )
            calls.append(now)
