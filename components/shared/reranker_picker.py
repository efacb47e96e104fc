"""Which rerankers the pickers offer, those that can load on this machine first."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from reranklens.config import Settings
from reranklens.models.hub import hub_reachable, local_model_path
from reranklens.models.registry import ModelRegistry
from reranklens.rerank.rerankers import HTTP_PREFIX

UNAVAILABLE = " (not on this machine)"


def reranker_options(settings: Settings) -> list[str]:
    """The registry's default model (if one was chosen), the configured reranker, the models known by name
    (trained in RerankLens or registered), then a hosted /rerank API when one is configured; models that
    can load here (a local directory, the local model cache, the API, or any when the Hub is reachable)
    come first, in that order."""
    registry = ModelRegistry(settings.data_dir)
    default = registry.default()
    options = [default] if default else []
    options += [name for name in [settings.reranker, *registry.names()] if name not in options]
    if settings.rerank_api_url:
        options.append(HTTP_PREFIX + settings.rerank_api_model)
    available = _available(str(settings.data_dir), tuple(options))
    return sorted(options, key=lambda name: not available[name])  # stable: keeps the order within each group


def reranker_label(settings: Settings) -> Callable[[str], str]:
    """The pickers' ``format_func``: a name, marked "(not on this machine)" when it cannot load here."""
    options = tuple(reranker_options(settings))

    def label(name: str) -> str:
        known = _available(str(settings.data_dir), options)
        return name + UNAVAILABLE if known.get(name) is False else name

    return label


@st.cache_data(ttl=60, show_spinner=False)
def _available(data_dir: str, names: tuple[str, ...]) -> dict[str, bool]:
    """Whether each reranker could load now (checked at most once a minute: the Hub probe may take seconds)."""
    from pathlib import Path

    registry = ModelRegistry(Path(data_dir))
    online: bool | None = None
    result = {}
    for name in names:
        source = registry.resolve(name)
        if source.startswith(HTTP_PREFIX) or local_model_path(source) is not None:
            result[name] = True
            continue
        if online is None:
            online = hub_reachable()
        result[name] = online and not source.startswith(("/", ".", "~"))
    return result
