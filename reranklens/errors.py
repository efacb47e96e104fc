"""The exceptions a user can cause. Each message says what went wrong and how to fix it.

Pages catch ``RerankLensError`` and show ``str(error)``; the CLI prints it on one line and exits 1.
Anything else escaping is a bug in RerankLens, not in the user's input.
"""

from __future__ import annotations

import re
from pathlib import Path

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class RerankLensError(Exception):
    """Base class: a problem the user can fix; its message is shown verbatim."""


class UnknownCollectionError(RerankLensError):
    def __init__(self, name: str, known: list[str]) -> None:
        listing = ", ".join(sorted(known)) if known else "none yet"
        super().__init__(
            f"No collection named '{name}' (existing: {listing}). "
            f"Create it with: reranklens ingest PATH --collection {name}"
        )


class EmptyQueryError(RerankLensError):
    def __init__(self) -> None:
        super().__init__("The query is empty: type a question to search for.")


class InvalidInputError(RerankLensError):
    """A value out of range or of the wrong shape (candidate count, collection name, ...)."""


class UnreadableFileError(RerankLensError):
    """A file that cannot be turned into text (binary, not UTF-8, encrypted PDF, ...)."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}")


class NoDocumentsError(RerankLensError):
    """Nothing ingestible was found in the given paths."""


class MissingOpenAIKeyError(RerankLensError):
    """``alternative`` says what works without a key (default: the local embedder)."""

    def __init__(
        self, alternative: str = "or use the local embedder (--embedder sentence-transformers/all-MiniLM-L6-v2)"
    ) -> None:
        super().__init__(
            f"OPENAI_API_KEY is not set: export it (and OPENAI_BASE_URL for a compatible server) {alternative}."
        )


class OpenAIRequestError(RerankLensError):
    """The OpenAI-compatible server refused or failed a request."""


class EmbedderMismatchError(RerankLensError):
    def __init__(self, collection: str, built_with: str, asked: str) -> None:
        super().__init__(
            f"Collection '{collection}' was built with embedder '{built_with}', not '{asked}': "
            f"query it with --embedder {built_with}, or re-ingest with --rebuild --embedder {asked}."
        )


class ModelUnavailableError(RerankLensError):
    """A model could not be loaded (not on disk and the Hugging Face Hub is unreachable)."""


class StoreUnavailableError(RerankLensError):
    """The Chroma store (usually a `chroma run` server) cannot be reached."""


def display_path(path: Path | str) -> str:
    """``path`` for a one-line message: control characters are shown as escapes, never emitted."""
    return _CONTROL.sub(lambda match: ascii(match.group(0))[1:-1], str(path))
