"""The guided tour of the demo: a few curated hard queries, each with what to look at.

The stops live with the demo data (``data/demo/tour.json``) so the story and the pages it points at change
together. Each stop names the page that should win; the Explore page shows its before/after top-3.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from reranklens.config import DEMO_DIR
from reranklens.errors import InvalidInputError, UnreadableFileError, display_path

DEMO_TOUR = DEMO_DIR / "tour.json"


@dataclass(frozen=True)
class TourStop:
    """One query of the tour: ``answer`` is the doc id of the page that answers it."""

    query: str
    answer: str
    caption: str

    def __post_init__(self) -> None:
        if not self.query.strip() or not self.answer.strip() or not self.caption.strip():
            raise ValueError("a tour stop needs a query, the answering page and a caption")


@dataclass(frozen=True)
class Tour:
    collection: str
    golden_set: str
    stops: tuple[TourStop, ...]


def load_tour(path: Path = DEMO_TOUR) -> Tour:
    """Read and check a tour file; a malformed one is a one-line ``InvalidInputError``."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UnreadableFileError(display_path(path), exc.strerror or "cannot be read") from exc
    except json.JSONDecodeError as exc:
        raise InvalidInputError(f"{display_path(path)}:{exc.lineno}: not valid JSON ({exc.msg}).") from exc
    try:
        stops = tuple(TourStop(s["query"], s["answer"], s["caption"]) for s in data["stops"])
        tour = Tour(str(data["collection"]), str(data["golden_set"]), stops)
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidInputError(f"{display_path(path)}: not a tour ({exc}).") from exc
    if not stops:
        raise InvalidInputError(f"{display_path(path)}: the tour has no stops.")
    return tour
