"""Which rerankers the pickers offer."""

from __future__ import annotations

from reranklens.config import Settings
from reranklens.models.registry import ModelRegistry
from reranklens.rerank.rerankers import HTTP_PREFIX


def reranker_options(settings: Settings) -> list[str]:
    """The registry's default model (if one was chosen), the configured reranker, the models known by name
    (trained in RerankLens or registered), then a hosted /rerank API when one is configured."""
    registry = ModelRegistry(settings.data_dir)
    default = registry.default()
    options = [default] if default else []
    options += [name for name in [settings.reranker, *registry.names()] if name not in options]
    if settings.rerank_api_url:
        options.append(HTTP_PREFIX + settings.rerank_api_model)
    return options
