"""Which network hosts a visitor may make the server connect to (attach a Chroma server, a live retriever).

A shared server's owner lists them in a setting (``RERANKLENS_ATTACH_HOSTS``, ``RERANKLENS_CONNECT_HOSTS``):
comma-separated host names or addresses, ``*`` for any. Without a list only loopback is allowed, so a visitor
cannot point the server at the machines around it. The host is compared as written in the URL and, for names,
never resolved: a name that resolves to an allowed address is still refused unless the name itself is listed.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from urllib.parse import urlsplit, urlunsplit

from reranklens.errors import RerankLensError

ATTACH_HOSTS_VARIABLE = "RERANKLENS_ATTACH_HOSTS"
CONNECT_HOSTS_VARIABLE = "RERANKLENS_CONNECT_HOSTS"
ANY_HOST = "*"


class HostRefusedError(RerankLensError):
    """A URL whose host the server may not connect to; the message names the setting that would allow it."""


def is_loopback(host: str) -> bool:
    """``localhost`` or a loopback address (127.0.0.0/8, ::1)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def url_host(url: str) -> str:
    """The lower-cased host of an ``http(s)://`` URL; ``HostRefusedError`` for anything else."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise HostRefusedError(f"'{strip_credentials(url)}' is not an http:// or https:// address.")
    return parts.hostname.lower()


def check_host(url: str, allowed: Sequence[str], setting: str) -> str:
    """The URL's host when ``allowed`` lists it (or it is loopback); ``HostRefusedError`` otherwise.

    >>> check_host("http://127.0.0.1:8000", (), "RERANKLENS_ATTACH_HOSTS")
    '127.0.0.1'
    """
    host = url_host(url)
    listed = {entry.strip().lower().strip("[]") for entry in allowed if entry.strip()}
    if ANY_HOST in listed or host in listed or is_loopback(host):
        return host
    raise HostRefusedError(
        f"This server may not connect to '{host}': its owner can allow it in {setting} "
        "(comma-separated hosts; by default only loopback)."
    )


def strip_credentials(url: str) -> str:
    """The URL without a ``user:password@`` part, so it can be stored, shown and logged."""
    parts = urlsplit(url.strip())
    if parts.username is None and parts.password is None:
        return url.strip()
    netloc = parts.hostname or ""
    if ":" in netloc:
        netloc = f"[{netloc}]"
    if parts.port is not None:
        netloc = f"{netloc}:{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
