"""A small real HTTP server speaking the Cohere-style rerank protocol, for offline tests.

``POST /v1/rerank`` with ``{"model", "query", "documents": [...], "top_n"}`` answers
``{"id", "results": [{"index": i, "relevance_score": s}, ...], "meta"}`` with results sorted best
first, as the hosted APIs do. Scores are deterministic (see ``overlap_score``): the share of a
document's words that also occur in the query, so tests can compute the expected value.

The ``Authorization: Bearer`` header must carry the expected key (else 401). The server can be told
to misbehave: ``fail_with = 429`` (or 500, ...) answers every request with that status,
``omit_index = i`` leaves document ``i`` out of the results, ``not_json = True`` answers 200 with
an HTML page (what a wrong base URL behind a proxy returns).

Usage::

    with RerankStubServer(api_key="rk-test") as server:
        base_url = server.base_url  # http://127.0.0.1:PORT/v1
"""

from __future__ import annotations

import json
import re
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from typing import Any

from stub_server import LoopbackStubServer

_WORD = re.compile(r"[a-z0-9]+")


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def overlap_score(query: str, document: str) -> float:
    """Share of the document's words that occur in the query: 0 (none) to 1 (all)."""
    doc_words = words(document)
    if not doc_words:
        return 0.0
    query_words = set(words(query))
    return sum(word in query_words for word in doc_words) / len(doc_words)


class RerankStubServer(LoopbackStubServer):
    """Start with ``start()`` (or ``with``), stop with ``stop()``. Binds a free loopback port."""

    def __init__(self, api_key: str) -> None:
        super().__init__(api_key, _make_handler, "rerank-stub")
        self.omit_index: int | None = None
        self.not_json = False

    def reset(self) -> None:
        """Back to a well-behaved server with an empty request log."""
        with self._lock:
            self.requests.clear()
        self.fail_with = None
        self.omit_index = None
        self.not_json = False


def _make_handler(server: RerankStubServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
            pass  # keep test output clean

        def _send_bytes(self, status: int, payload: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def _send(self, status: int, body: dict[str, Any]) -> None:
            self._send_bytes(status, json.dumps(body).encode(), "application/json")

        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            auth = self.headers.get("Authorization", "")
            server.record({"path": self.path, "authorization": auth, "body": raw.decode("utf-8", "replace")})
            if self.path.rstrip("/") != "/v1/rerank":
                self._send(HTTPStatus.NOT_FOUND, {"message": f"Unknown path {self.path}"})
                return
            if auth != f"Bearer {server.api_key}":
                self._send(HTTPStatus.UNAUTHORIZED, {"message": "invalid api token"})
                return
            if server.fail_with == HTTPStatus.TOO_MANY_REQUESTS:
                self._send(server.fail_with, {"message": "You are using a Trial key, which is rate-limited."})
                return
            if server.fail_with is not None:
                self._send(server.fail_with, {"message": "internal server error"})
                return
            if server.not_json:
                self._send_bytes(HTTPStatus.OK, b"<html><body>Welcome to nginx!</body></html>", "text/html")
                return
            try:
                request = json.loads(raw)
                query = str(request["query"])
                documents = [str(doc) for doc in request["documents"]]
                top_n = int(request.get("top_n") or len(documents))
            except (json.JSONDecodeError, KeyError, TypeError, ValueError):
                self._send(HTTPStatus.BAD_REQUEST, {"message": "Expected JSON {model, query, documents, top_n}."})
                return
            results = [
                {"index": index, "relevance_score": overlap_score(query, doc)}
                for index, doc in enumerate(documents)
                if index != server.omit_index
            ]
            results.sort(key=lambda item: -item["relevance_score"])
            self._send(
                HTTPStatus.OK,
                {"id": "stub", "results": results[:top_n], "meta": {"billed_units": {"search_units": 1}}},
            )

    return Handler
