"""Which rerankers the pickers offer."""

from __future__ import annotations

from reranklens.config import Settings
from reranklens.rerank import HTTP_PREFIX


def reranker_options(settings: Settings) -> list[str]:
    """The configured reranker first, then a hosted /rerank API when one is configured."""
    options = [settings.reranker]
    if settings.rerank_api_url:
        options.append(HTTP_PREFIX + settings.rerank_api_model)
    return options
