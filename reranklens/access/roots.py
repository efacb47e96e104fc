"""The folders the app may read from, from ``RERANKLENS_INGEST_ROOTS``: "Folder on the server", a trace
file's path, a Chroma directory to attach.

Anyone who reaches the app's port can type a path, so the pages read only inside roots the server's
owner listed. A path is resolved first (symlinks, ``..``, ``~``), so a link inside a root that points
outside it is refused like the outside folder itself. The CLI runs as the local user and is not limited.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from reranklens.errors import RerankLensError, display_path

ROOTS_VARIABLE = "RERANKLENS_INGEST_ROOTS"


class FolderRefusedError(RerankLensError):
    """A server folder the app will not ingest from; the message says why and what would allow it."""


def check_ingest_folder(
    folder: str | Path,
    roots: Sequence[Path],
    action: str = "Ingesting a folder",
    instead: str = "Upload the files instead.",
) -> Path:
    """The resolved ``folder`` when it lies inside one of ``roots``; ``FolderRefusedError`` otherwise.

    Without roots, reading server folders from the app is off (``action`` names what was refused and
    ``instead`` the way that remains). Relative paths are refused: the server's working directory is not
    something a visitor can see.
    """
    resolved = _inside_roots(folder, roots, action, instead)
    if not resolved.is_dir():
        raise FolderRefusedError(f"'{display_path(folder)}' does not exist or is not a folder on the server.")
    return resolved


def check_ingest_file(file: str | Path, roots: Sequence[Path], action: str, instead: str) -> Path:
    """``check_ingest_folder`` for one file (a trace file typed on the Corpus page)."""
    resolved = _inside_roots(file, roots, action, instead)
    if not resolved.is_file():
        raise FolderRefusedError(f"'{display_path(file)}' does not exist or is not a file on the server.")
    return resolved


def _inside_roots(path: str | Path, roots: Sequence[Path], action: str, instead: str) -> Path:
    if not roots:
        raise FolderRefusedError(
            f"{action} on the server is off: the server's owner can allow folders with {ROOTS_VARIABLE} "
            f"(a list of allowed roots). {instead}"
        )
    raw = Path(str(path).strip()).expanduser()
    if not raw.is_absolute():
        raise FolderRefusedError(f"'{display_path(path)}' is not an absolute path: type the full path.")
    resolved = raw.resolve()
    allowed = ", ".join(display_path(root) for root in roots)
    if not any(resolved == root or resolved.is_relative_to(root) for root in roots):
        # Where a link points is not shown: that would tell a visitor about folders they may not read.
        via = "" if resolved == raw else " (through a symbolic link or '..')"
        raise FolderRefusedError(
            f"'{display_path(path)}' is outside the folders this server may ingest from{via}: "
            f"allowed are {allowed} ({ROOTS_VARIABLE})."
        )
    return resolved
