"""The rerankers RerankLens knows by name: Hub names, local directories, and models trained here.

Three kinds of entry, one namespace:

- **trained**: a cross-encoder fine-tuned by ``reranklens train``, stored as a directory under
  ``<data dir>/models/<name>/`` with the weights, ``reranklens.json`` (the model card's data: base
  model, training data, settings, metrics, verdict, date) and a human-readable ``README.md``;
- **registered**: a short name for a Hugging Face model or a local directory (an air-gapped user
  copies a model in and registers it), kept in ``<data dir>/models/registry.json``;
- anything else is passed through unchanged, so a Hub name or a path still works everywhere.

``resolve(name)`` turns a registry name into what ``make_reranker`` loads. The **guard**: a trained
model whose held-out nDCG@10 does not beat its baseline has ``verdict != "better"`` and
``set_default`` refuses it unless forced, so it never becomes the pickers' default silently.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from reranklens.errors import InvalidInputError

log = logging.getLogger(__name__)

CARD_FILE = "reranklens.json"
README_FILE = "README.md"
REGISTRY_FILE = "registry.json"
DEFAULT_FILE = "default.json"
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
Kind = Literal["trained", "registered"]
Verdict = Literal["better", "no better", "worse", "untested"]


@dataclass(frozen=True)
class ModelEntry:
    """One named reranker. ``source`` is what gets loaded: a directory or a Hub name.

    ``card`` is the trained model's ``reranklens.json`` (empty for registered models).
    """

    name: str
    kind: Kind
    source: str
    verdict: Verdict = "untested"
    added: str = ""
    card: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def usable_as_default(self) -> bool:
        """Only a trained model that beat its baseline (or a registered one) may be a default."""
        return self.kind == "registered" or self.verdict == "better"

    def summary(self) -> dict[str, Any]:
        """The row ``models list`` and the Models page show."""
        metrics = self.card.get("metrics", {})
        return {
            "name": self.name,
            "kind": self.kind,
            "source": self.source,
            "verdict": self.verdict,
            "base": self.card.get("base_model", ""),
            "baseline": metrics.get("baseline", ""),
            "baseline_nDCG@10": metrics.get("baseline_nDCG@10"),
            "trained_nDCG@10": metrics.get("trained_nDCG@10"),
            "added": self.added,
        }


def check_model_name(name: str) -> str:
    """A registry name: letters, digits, ``.``, ``_``, ``-``; no ``/``, so it never shadows a Hub name."""
    name = name.strip()
    if not NAME_PATTERN.match(name):
        raise InvalidInputError(
            f"Invalid model name {name!r}: use 1-64 letters, digits, '.', '_' or '-', starting with a letter or "
            "digit (no '/', which Hub names use)."
        )
    return name


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class ModelRegistry:
    """The ``models/`` folder of a data dir. Cheap to create; reads the disk on every call, so a
    model trained by the CLI shows up in a running app without a restart."""

    def __init__(self, data_dir: Path) -> None:
        self.root = Path(data_dir) / "models"

    # -- reading ---------------------------------------------------------------------------
    def _registered(self) -> dict[str, dict[str, Any]]:
        path = self.root / REGISTRY_FILE
        if not path.is_file():
            return {}
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InvalidInputError(f"{path} is not valid JSON ({exc}): fix or delete it.") from exc
        return data if isinstance(data, dict) else {}

    def _write_registered(self, data: dict[str, dict[str, Any]]) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.root / (REGISTRY_FILE + ".tmp")
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True), encoding="utf-8")
        tmp.replace(self.root / REGISTRY_FILE)

    def model_dir(self, name: str) -> Path:
        return self.root / check_model_name(name)

    def entries(self) -> list[ModelEntry]:
        """Every named reranker: trained ones (newest first), then registered ones by name."""
        trained: list[ModelEntry] = []
        if self.root.is_dir():
            for card_path in self.root.glob(f"*/{CARD_FILE}"):
                entry = self._trained_entry(card_path.parent)
                if entry is not None:
                    trained.append(entry)
        trained.sort(key=lambda e: e.added, reverse=True)
        registered = [
            ModelEntry(name, "registered", str(info.get("source", "")), "untested", str(info.get("added", "")))
            for name, info in sorted(self._registered().items())
        ]
        return trained + registered

    def _trained_entry(self, directory: Path) -> ModelEntry | None:
        try:
            card = json.loads((directory / CARD_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            log.warning("skipping %s: unreadable %s", directory, CARD_FILE)
            return None
        verdict = card.get("verdict", "untested")
        if verdict not in ("better", "no better", "worse", "untested"):
            verdict = "untested"
        return ModelEntry(directory.name, "trained", str(directory), verdict, str(card.get("created", "")), card)

    def names(self) -> list[str]:
        return [entry.name for entry in self.entries()]

    def get(self, name: str) -> ModelEntry:
        for entry in self.entries():
            if entry.name == name:
                return entry
        known = ", ".join(self.names()) or "none yet"
        raise InvalidInputError(
            f"No model named '{name}' (known: {known}). Train one with `reranklens train` or register one with "
            "`reranklens models add NAME SOURCE`."
        )

    def resolve(self, name: str) -> str:
        """What ``make_reranker`` should load for ``name``: a registry name becomes its directory or Hub
        name; anything else (a Hub name, a path, ``http:MODEL``) comes back unchanged."""
        name = name.strip()
        if not NAME_PATTERN.match(name):
            return name
        directory = self.root / name
        if (directory / CARD_FILE).is_file():
            return str(directory)
        info = self._registered().get(name)
        return str(info["source"]) if info and info.get("source") else name

    # -- writing ---------------------------------------------------------------------------
    def add(self, name: str, source: str) -> ModelEntry:
        """Register ``source`` (a Hub name or a local directory) under ``name``."""
        name = check_model_name(name)
        source = source.strip()
        if not source:
            raise InvalidInputError("No source given: pass a Hugging Face model name or a local directory.")
        path = Path(source).expanduser()
        if source.startswith(("/", ".", "~")) or path.exists():
            if not path.is_dir():
                raise InvalidInputError(
                    f"'{source}' is not a directory: copy a cross-encoder's folder (config.json, weights, "
                    "tokenizer) onto this machine and register that folder."
                )
            if not (path / "config.json").is_file():
                raise InvalidInputError(f"'{source}' has no config.json: it is not a saved Hugging Face model.")
            source = str(path.resolve())
        if (self.root / name / CARD_FILE).is_file():
            raise InvalidInputError(f"'{name}' is a model trained here: pick another name.")
        data = self._registered()
        data[name] = {"source": source, "added": now_iso()}
        self._write_registered(data)
        return self.get(name)

    def write_trained(self, name: str, card: dict[str, Any], readme: str) -> ModelEntry:
        """Write the card of a trained model whose weights are already in ``model_dir(name)``."""
        directory = self.model_dir(name)
        if not (directory / "config.json").is_file():
            raise InvalidInputError(f"{directory} holds no saved model: train it first.")
        tmp = directory / (CARD_FILE + ".tmp")
        tmp.write_text(json.dumps(card, indent=2, sort_keys=True, default=str), encoding="utf-8")
        tmp.replace(directory / CARD_FILE)
        (directory / README_FILE).write_text(readme, encoding="utf-8")
        entry = self._trained_entry(directory)
        if entry is None:  # pragma: no cover - we just wrote it
            raise InvalidInputError(f"Could not read back {directory / CARD_FILE}.")
        return entry

    def remove(self, name: str) -> None:
        """Delete a trained model's directory, or forget a registered name (its files stay)."""
        entry = self.get(name)
        if entry.kind == "trained":
            shutil.rmtree(entry.source)
        else:
            data = self._registered()
            data.pop(name, None)
            self._write_registered(data)
        if self.default() == name:
            (self.root / DEFAULT_FILE).unlink(missing_ok=True)

    # -- the default -------------------------------------------------------------------------
    def default(self) -> str | None:
        """The model the pickers offer first, if one was chosen (``models default NAME``)."""
        path = self.root / DEFAULT_FILE
        try:
            name = json.loads(path.read_text(encoding="utf-8")).get("name")
        except (OSError, ValueError, AttributeError):
            return None
        return name if isinstance(name, str) and name in self.names() else None

    def set_default(self, name: str, force: bool = False) -> ModelEntry:
        """Make ``name`` the pickers' first choice. A trained model that did not beat its baseline on
        its held-out queries is refused unless ``force`` (the guard)."""
        entry = self.get(name)
        if not entry.usable_as_default and not force:
            raise InvalidInputError(
                f"'{name}' did not beat its baseline on its held-out queries (verdict: {entry.verdict}): it is not "
                "made the default. Pass --force if you still want it."
            )
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / DEFAULT_FILE).write_text(json.dumps({"name": name, "forced": force}), encoding="utf-8")
        return entry
