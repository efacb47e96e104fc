"""A small real HTTP server speaking the OpenAI embeddings protocol, for offline tests.

``POST /v1/embeddings`` with ``{"model": ..., "input": [...]}`` answers the OpenAI response shape
with deterministic vectors: a hashed bag of words in ``DIMENSIONS`` dimensions, so texts that
share words are similar and texts that share none are orthogonal. The ``Authorization: Bearer``
header must carry the expected key (else 401 with OpenAI's JSON error body), and the server can
be told to fail every request with 429 or 500 (``server.fail_with = 429``).

Usage::

    with OpenAIStubServer(api_key="sk-test") as server:
        base_url = server.base_url  # http://127.0.0.1:PORT/v1
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import struct
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from typing import Any

from stub_server import LoopbackStubServer

DIMENSIONS = 64
_WORD = re.compile(r"[a-z0-9]+")


def embed_text(text: str) -> list[float]:
    """Hashed bag of lower-cased words; not normalised (the client must normalise)."""
    vector = [0.0] * DIMENSIONS
    for word in _WORD.findall(text.lower()):
        digest = hashlib.sha256(word.encode()).digest()
        vector[digest[0] % DIMENSIONS] += 1.0 + digest[1] / 255.0
    return vector


class OpenAIStubServer(LoopbackStubServer):
    """Start with ``start()`` (or ``with``), stop with ``stop()``. Binds a free loopback port."""

    def __init__(self, api_key: str) -> None:
        super().__init__(api_key, _make_handler, "openai-stub")


def _encode(vector: list[float], as_base64: bool) -> list[float] | str:
    if not as_base64:
        return vector
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode("ascii")


def _error(message: str, kind: str, code: str | None) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


def _make_handler(server: OpenAIStubServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
            pass  # keep test output clean

        def _send(self, status: int, body: dict[str, Any]) -> None:
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            if status == HTTPStatus.TOO_MANY_REQUESTS:
                # Ask the client not to wait long between its retries.
                self.send_header("retry-after-ms", "10")
            self.end_headers()
            self.wfile.write(payload)

        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            auth = self.headers.get("Authorization", "")
            server.record({"path": self.path, "authorization": auth, "body": raw.decode("utf-8", "replace")})
            if self.path.rstrip("/") != "/v1/embeddings":
                self._send(HTTPStatus.NOT_FOUND, _error(f"Unknown path {self.path}", "invalid_request_error", None))
                return
            if auth != f"Bearer {server.api_key}":
                self._send(
                    HTTPStatus.UNAUTHORIZED,
                    _error("Incorrect API key provided.", "invalid_request_error", "invalid_api_key"),
                )
                return
            if server.fail_with == HTTPStatus.TOO_MANY_REQUESTS:
                self._send(server.fail_with, _error("Rate limit reached.", "requests", "rate_limit_exceeded"))
                return
            if server.fail_with is not None:
                self._send(server.fail_with, _error("The server had an error.", "server_error", None))
                return
            try:
                request = json.loads(raw)
                model = str(request["model"])
                inputs = request["input"]
            except (json.JSONDecodeError, KeyError, TypeError):
                self._send(
                    HTTPStatus.BAD_REQUEST, _error("Expected JSON {model, input}.", "invalid_request_error", None)
                )
                return
            if isinstance(inputs, str):
                inputs = [inputs]
            # The official client asks for base64 (little-endian float32) unless told otherwise.
            as_base64 = request.get("encoding_format") == "base64"
            data = [
                {"object": "embedding", "index": index, "embedding": _encode(embed_text(str(text)), as_base64)}
                for index, text in enumerate(inputs)
            ]
            tokens = sum(len(_WORD.findall(str(text).lower())) for text in inputs)
            self._send(
                HTTPStatus.OK,
                {
                    "object": "list",
                    "data": data,
                    "model": model,
                    "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
                },
            )

    return Handler
