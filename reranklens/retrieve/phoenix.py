"""Spans pulled from a running Arize Phoenix as traces, so a user whose application already reports to
Phoenix need not export a file first.

Phoenix's REST API is read through its maintained client (``arize-phoenix-client``): the RETRIEVER and
LLM spans of one project, oldest first, then mapped exactly as an OpenInference span file is
(``reranklens.retrieve.openinference.spans_to_traces``).

The client is given an HTTP client built here, never ``Client(base_url=...)``: that one adds
``PHOENIX_API_KEY`` and ``PHOENIX_CLIENT_HEADERS`` from the environment (or a ``.env.phoenix`` file) to
whatever URL it is handed, so a visitor typing their own URL would receive the server's key. The key goes
only to the Phoenix the server's owner configured (``RERANKLENS_PHOENIX_URL``); ``user:password@`` in a
typed URL is dropped, never sent as Basic auth.

The client is the ``phoenix`` extra (``pip install 'reranklens[phoenix]'``): not every user has a
Phoenix, so without it only this pull is refused.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx

from reranklens.access.hosts import strip_credentials
from reranklens.config import Settings
from reranklens.errors import InvalidInputError
from reranklens.retrieve.openinference import LLM, MAX_SPANS, RETRIEVER, spans_to_traces
from reranklens.retrieve.traces import ParsedLine

log = logging.getLogger(__name__)

TIMEOUT_S = 30


def phoenix_source(url: str, project: str) -> str:
    """Where a pulled trace set came from, as the trace set list shows it (without credentials)."""
    return f"phoenix {strip_credentials(url)} project {project}"


def is_configured_phoenix(url: str, settings: Settings) -> bool:
    """True when ``url`` is the Phoenix of ``RERANKLENS_PHOENIX_URL`` (scheme, host, port and path)."""
    if not settings.phoenix_url:
        return False
    typed, configured = urlsplit(url.strip()), urlsplit(settings.phoenix_url.strip())
    try:
        return (typed.scheme.lower(), typed.hostname, typed.port, typed.path.rstrip("/")) == (
            configured.scheme.lower(),
            configured.hostname,
            configured.port,
            configured.path.rstrip("/"),
        )
    except ValueError:  # a port that is not a number
        return False


def pull_phoenix(url: str, project: str, settings: Settings, limit: int = MAX_SPANS) -> Iterator[ParsedLine]:
    """The retrievals of Phoenix project ``project`` at ``url`` as traces (numbered by span, oldest first).

    Raises ``InvalidInputError`` naming ``url`` when Phoenix cannot be reached or answers with an error,
    and naming ``project`` when Phoenix has no such project or it holds no retrieval: before anything is
    imported. At most ``limit`` spans, the newest, are pulled. ``PHOENIX_API_KEY`` is sent only when ``url``
    is the configured ``RERANKLENS_PHOENIX_URL``.
    """
    key = settings.phoenix_api_key if is_configured_phoenix(url, settings) else None
    url = strip_credentials(url).rstrip("/")
    spans = _fetch(url, project, limit, key)
    if not any(span.get("span_kind") == RETRIEVER for span in spans):
        raise InvalidInputError(
            f"Phoenix project '{project}' at {url} holds no retriever span: nothing to replay (is the retrieval "
            "instrumented with OpenInference?)."
        )
    if len(spans) >= limit:
        log.warning("Phoenix project %s has over %d retriever/LLM spans: pulled the newest %d", project, limit, limit)
    spans.sort(key=lambda span: str(span.get("start_time") or ""))
    return spans_to_traces(enumerate(spans, start=1))


def _fetch(url: str, project: str, limit: int, api_key: str | None) -> list[dict[str, Any]]:
    if not url.startswith(("http://", "https://")):
        raise InvalidInputError(f"'{url}' is not a Phoenix URL: give http://HOST:PORT, e.g. http://127.0.0.1:6006.")
    if not project.strip():
        raise InvalidInputError("Give the Phoenix project to pull (--project NAME; Phoenix's own is 'default').")
    try:  # seconds to import: only when pulling
        from phoenix.client import Client
        from phoenix.client.exceptions import PhoenixException
    except ImportError as exc:
        raise InvalidInputError(
            "Pulling from Phoenix needs its client, an optional extra: pip install 'reranklens[phoenix]'."
        ) from exc
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    try:
        # trust_env=False: no proxy, netrc or certificate settings from the environment either.
        with httpx.Client(base_url=url, headers=headers, timeout=TIMEOUT_S, trust_env=False) as http:
            spans = Client(http_client=http).spans.get_spans(
                project_identifier=project, span_kind=[RETRIEVER, LLM], limit=limit, timeout=TIMEOUT_S
            )
    except httpx.HTTPStatusError as exc:
        if exc.response.status_code == 404:
            raise InvalidInputError(
                f"Phoenix at {url} has no project '{project}': check --project (Phoenix lists its projects on its "
                "home page)."
            ) from exc
        raise InvalidInputError(
            f"Phoenix at {url} answered HTTP {exc.response.status_code}: nothing was imported."
        ) from exc
    except httpx.HTTPError as exc:
        raise InvalidInputError(
            f"Cannot reach Phoenix at {url} ({type(exc).__name__}): start it (phoenix serve) or check the URL."
        ) from exc
    except (PhoenixException, ValueError) as exc:  # another server: no version, or not Phoenix's JSON
        raise InvalidInputError(
            f"{url} does not answer as Phoenix does: check the URL (Phoenix's own, e.g. http://127.0.0.1:6006); "
            "nothing was imported."
        ) from exc
    return [dict(span) for span in spans]
