"""Live retrievers the server may call: connections, kept in the data dir.

A connection is a name, the URL of an endpoint speaking the retriever contract (``retrieve/live.py``), a
timeout and the *names* of the headers sent with each request. The header values are secrets (a bearer
token): they live apart, in ``connection-secrets.json`` created with owner-only permissions (0600), and
nothing else (the list, the pages, the audit trail, exports, errors) ever holds them; a header shows as
``Authorization: ••••``.

Both files are written atomically (a temporary file renamed over the old one), so a crash never leaves
half a list behind, and the secrets file never exists with wider permissions, not even for a moment.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reranklens.errors import InvalidInputError

CONNECTIONS_FILE = "connections.json"
SECRETS_FILE = "connection-secrets.json"
MASK = "••••"
DEFAULT_TIMEOUT_S = 10.0
MAX_TIMEOUT_S = 300.0
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}[A-Za-z0-9]$|^[A-Za-z0-9]$")
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")  # an HTTP token (RFC 9110)


@dataclass(frozen=True)
class Connection:
    """A live retriever: where it answers, how long to wait, which headers go with each request."""

    name: str
    url: str
    timeout_s: float = DEFAULT_TIMEOUT_S
    header_names: tuple[str, ...] = ()
    created_at: float = field(default_factory=time.time)

    @property
    def masked_headers(self) -> list[str]:
        """``["Authorization: ••••"]``: what may be shown of the headers."""
        return [f"{name}: {MASK}" for name in self.header_names]

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "url": self.url,
            "timeout_s": self.timeout_s,
            "headers": self.masked_headers,
            "created_at": self.created_at,
        }


def check_connection_name(name: str) -> str:
    if not _NAME.match(name or ""):
        raise InvalidInputError(
            f"Invalid connection name '{name}': use 1-64 letters, digits, '.', '_' or '-', "
            "starting and ending with a letter or digit."
        )
    return name


def parse_header(text: str) -> tuple[str, str]:
    """``"Authorization: Bearer abc"`` -> ``("Authorization", "Bearer abc")``. The error never quotes the value."""
    name, colon, value = text.partition(":")
    name, value = name.strip(), value.strip()
    if not colon or not name or not _HEADER_NAME.match(name) or not value or "\n" in value or "\r" in value:
        shown = name if _HEADER_NAME.match(name or "-") else "?"
        raise InvalidInputError(f"A header is written 'Name: value' on one line (got one named '{shown}').")
    return name, value


def check_timeout(timeout_s: float) -> float:
    if not 0 < timeout_s <= MAX_TIMEOUT_S:
        raise InvalidInputError(f"The timeout is a number of seconds above 0 and at most {MAX_TIMEOUT_S:g}.")
    return float(timeout_s)


def check_url(url: str) -> str:
    """An ``http(s)://`` URL without a ``user:password@`` part: a secret goes in a header, which is kept apart
    and never shown. Which hosts are allowed is the caller's check (``reranklens.access.hosts``)."""
    url = url.strip()
    scheme, sep, rest = url.partition("://")
    if scheme not in ("http", "https") or not sep or not rest.split("/", 1)[0]:
        raise InvalidInputError(f"'{url.split('@')[-1]}' is not an http:// or https:// address.")
    if "@" in rest.split("/", 1)[0]:
        raise InvalidInputError(
            "Put credentials in a header (--header 'Authorization: ...'), not in the URL: a URL is shown to others."
        )
    return url


def _write_atomically(path: Path, data: object, mode: int) -> None:
    """Write ``data`` as JSON to a temporary file of ``mode`` beside ``path``, then rename it over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(descriptor, mode)
        with os.fdopen(descriptor, "w", encoding="utf-8") as out:
            json.dump(data, out, indent=2, ensure_ascii=False)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


class ConnectionRegistry:
    """Connections in ``connections.json``; their header values in ``connection-secrets.json`` (0600)."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / CONNECTIONS_FILE
        self.secrets_path = data_dir / SECRETS_FILE
        self._lock = threading.Lock()

    def _read(self, path: Path) -> dict[str, Any]:
        if not path.is_file():
            return {}
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise InvalidInputError(f"{path.name} in the data dir is unreadable ({exc}): fix or delete it.") from exc
        return data if isinstance(data, dict) else {}

    def all(self) -> dict[str, Connection]:
        found = {}
        for name, item in sorted(self._read(self.path).items()):
            found[name] = Connection(
                name=name,
                url=str(item["url"]),
                timeout_s=float(item.get("timeout_s", DEFAULT_TIMEOUT_S)),
                header_names=tuple(item.get("header_names", ())),
                created_at=float(item.get("created_at", 0.0)),
            )
        return found

    def names(self) -> list[str]:
        return list(self.all())

    def get(self, name: str) -> Connection:
        connection = self.all().get(name)
        if connection is None:
            known = ", ".join(self.names()) or "none yet"
            raise InvalidInputError(
                f"No connection named '{name}' (existing: {known}). "
                f"Connect one with: reranklens connect URL --name {name}"
            )
        return connection

    def headers(self, name: str) -> dict[str, str]:
        """The header values of connection ``name``: only the HTTP client asks for them."""
        stored = self._read(self.secrets_path).get(name, {})
        return {str(k): str(v) for k, v in stored.items()} if isinstance(stored, dict) else {}

    def save(self, connection: Connection, headers: dict[str, str]) -> None:
        with self._lock:
            listed = self._read(self.path)
            secrets = self._read(self.secrets_path)
            listed[connection.name] = {
                "url": connection.url,
                "timeout_s": connection.timeout_s,
                "header_names": list(headers),
                "created_at": connection.created_at,
            }
            if headers:
                secrets[connection.name] = headers
            else:
                secrets.pop(connection.name, None)
            _write_atomically(self.secrets_path, secrets, 0o600)
            _write_atomically(self.path, listed, 0o644)

    def remove(self, name: str) -> None:
        self.get(name)
        with self._lock:
            listed = self._read(self.path)
            secrets = self._read(self.secrets_path)
            listed.pop(name, None)
            secrets.pop(name, None)
            _write_atomically(self.secrets_path, secrets, 0o600)
            _write_atomically(self.path, listed, 0o644)
