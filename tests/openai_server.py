"""A small real HTTP server speaking the OpenAI embeddings and chat-completions protocols, for offline tests.

``POST /v1/embeddings`` with ``{"model": ..., "input": [...]}`` answers the OpenAI response shape
with deterministic vectors: a hashed bag of words in ``DIMENSIONS`` dimensions, so texts that
share words are similar and texts that share none are orthogonal. The ``Authorization: Bearer``
header must carry the expected key (else 401 with OpenAI's JSON error body), and the server can
be told to fail every request with 429 or 500 (``server.fail_with = 429``).

``POST /v1/chat/completions`` answers like a (very literal) model, deterministically:

- a JSON-mode request (``response_format`` ``json_object``, as label suggestions send) gets
  ``{"grades": [{"chunk": N, "grade": G, "reason": ...}]}`` for every ``[N]`` block of the last
  message, G = the number of question words the block shares (capped at 3);
- any other request gets an answer that cites the (at most two) ``[N]`` blocks sharing most words
  with the ``Question:`` line, or says the context does not answer it; ``server.chat_reply`` fixes
  the answer text instead.

``"stream": true`` is answered with server-sent events (chunked transfer), one word per event, and a
final usage event when ``stream_options.include_usage`` is set; usage counts words as tokens.
``server.max_in_flight`` is the most requests answered at once since the last reset (a client's
concurrency limit). ``server.delay_s`` holds every answer back that long, ``server.stall_s`` stops a stream that long
after its first word (to test client timeouts before and during an answer), and ``server.cut_stream``
closes the connection after the first word (a server that dies mid-answer).

Usage::

    with OpenAIStubServer(api_key="sk-test") as server:
        base_url = server.base_url  # http://127.0.0.1:PORT/v1
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import socket
import struct
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from typing import Any

from stub_server import LoopbackStubServer

DIMENSIONS = 64
# For the tests of the chat features (tests/fixtures_openai.py): the key the server expects, a client
# timeout short enough that a timeout test takes seconds, and a delay that surely exceeds it.
CHAT_API_KEY = "sk-test-reranklens-chat-0123456789"
TEST_TIMEOUT_S = 1.5
SLOW_S = 6.0
_WORD = re.compile(r"[a-z0-9]+")


def free_port() -> int:
    """A loopback port nothing listens on (a server that is down)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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
        self.chat_reply: str | None = None
        self.delay_s = 0.0
        self.stall_s = 0.0
        self.cut_stream = False
        # Chat requests being answered right now, and the most at once since the last reset.
        self.in_flight = 0
        self.max_in_flight = 0

    def reset(self) -> None:
        """Healthy again, with an empty request log."""
        self.fail_with = None
        self.chat_reply = None
        self.delay_s = 0.0
        self.stall_s = 0.0
        self.cut_stream = False
        with self._lock:
            self.requests.clear()
            self.max_in_flight = 0


_BLOCK = re.compile(r"^\[(\d+)\][^\n]*\n(.*?)(?=^\[\d+\]|\Z)", re.MULTILINE | re.DOTALL)
_STOP = frozenset("a an and are as at be by can do does for from how i in is it my of on or the to what with".split())


def _words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _STOP and len(w) > 1}


def _question_and_blocks(messages: list[dict[str, Any]]) -> tuple[str, dict[int, str]]:
    last = str(messages[-1].get("content", "")) if messages else ""
    question = next((line.split(":", 1)[1] for line in last.splitlines() if line.startswith("Question:")), "")
    blocks = {int(m.group(1)): m.group(2) for m in _BLOCK.finditer(last)}
    return question, blocks


def chat_answer(messages: list[dict[str, Any]]) -> str:
    """What the stub model answers to a question over numbered context blocks."""
    question, blocks = _question_and_blocks(messages)
    asked = _words(question)
    overlap = sorted(((len(asked & _words(text)), -n, n) for n, text in blocks.items()), reverse=True)
    cited = [n for shared, _, n in overlap if shared > 0][:2]
    if not cited:
        return "The context does not answer this question."
    first = " ".join(blocks[cited[0]].split()[:12])
    answer = f"According to the context, {first} [{cited[0]}]."
    return answer + (f" See also [{cited[1]}]." if len(cited) > 1 else "")


def judge_answer(messages: list[dict[str, Any]]) -> str:
    """The stub judge's JSON: a grade per block, from the words it shares with the question."""
    question, blocks = _question_and_blocks(messages)
    asked = _words(question)
    grades = []
    for n, text in blocks.items():
        shared = len(asked & _words(text))
        grades.append({"chunk": n, "grade": min(3, shared), "reason": f"shares {shared} words with the question"})
    return json.dumps({"grades": grades})


def _tokens(text: str) -> int:
    return len(_WORD.findall(text.lower()))


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

        def _chunk(self, data: bytes) -> None:
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()

        def _send_events(self, events: list[dict[str, Any]]) -> None:
            """Server-sent events over chunked transfer, ended by ``data: [DONE]``."""
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for index, event in enumerate(events):
                self._chunk(f"data: {json.dumps(event)}\n\n".encode())
                if index == 0 and server.stall_s:
                    time.sleep(server.stall_s)
                if index == 0 and server.cut_stream:
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
            self._chunk(b"data: [DONE]\n\n")
            self._chunk(b"")

        def _chat(self, request: dict[str, Any]) -> None:
            model = str(request.get("model", ""))
            messages = list(request.get("messages") or [])
            json_mode = (request.get("response_format") or {}).get("type") == "json_object"
            if server.chat_reply is not None:
                text = server.chat_reply
            else:
                text = judge_answer(messages) if json_mode else chat_answer(messages)
            usage = {
                "prompt_tokens": sum(_tokens(str(m.get("content", ""))) for m in messages),
                "completion_tokens": _tokens(text),
            }
            usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
            base = {"id": "chatcmpl-stub", "created": 1700000000, "model": model}
            if not request.get("stream"):
                message = {"role": "assistant", "content": text}
                choice = {"index": 0, "message": message, "finish_reason": "stop", "logprobs": None}
                self._send(HTTPStatus.OK, {**base, "object": "chat.completion", "choices": [choice], "usage": usage})
                return
            pieces = re.findall(r"\S+\s*", text)
            events = [
                {
                    **base,
                    "object": "chat.completion.chunk",
                    "choices": [{"index": 0, "delta": {"role": "assistant", "content": piece}, "finish_reason": None}],
                }
                for piece in pieces
            ]
            events.append(
                {
                    **base,
                    "object": "chat.completion.chunk",
                    "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
                }
            )
            if (request.get("stream_options") or {}).get("include_usage"):
                events.append({**base, "object": "chat.completion.chunk", "choices": [], "usage": usage})
            self._send_events(events)

        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            try:
                self._answer()
            except (BrokenPipeError, ConnectionResetError):
                return  # the client gave up first (a timeout test): nobody is left to answer

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            auth = self.headers.get("Authorization", "")
            server.record({"path": self.path, "authorization": auth, "body": raw.decode("utf-8", "replace")})
            path = self.path.rstrip("/")
            if path not in ("/v1/embeddings", "/v1/chat/completions"):
                self._send(HTTPStatus.NOT_FOUND, _error(f"Unknown path {self.path}", "invalid_request_error", None))
                return
            with server._lock:
                server.in_flight += 1
                server.max_in_flight = max(server.max_in_flight, server.in_flight)
            try:
                self._reply(path, raw, auth)
            finally:
                with server._lock:
                    server.in_flight -= 1

        def _reply(self, path: str, raw: bytes, auth: str) -> None:
            if server.delay_s:
                time.sleep(server.delay_s)
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
            if path == "/v1/chat/completions":
                try:
                    request = json.loads(raw)
                except json.JSONDecodeError:
                    self._send(HTTPStatus.BAD_REQUEST, _error("Expected JSON.", "invalid_request_error", None))
                    return
                self._chat(request)
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
