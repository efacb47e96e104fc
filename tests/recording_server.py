"""Loopback servers that record what a client sends them, for tests that check which credentials reach a
typed address: ``RecordingServer`` answers HTTP from a table of paths and keeps each request's headers;
``FirstBytesServer`` speaks no protocol and keeps the first bytes of each connection (a TLS handshake
starts with byte 0x16, a plain HTTP request with its method)."""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler
from typing import Any, Self

from stub_server import LoopbackStubServer

# path prefix -> (status, content type, body); the longest matching prefix answers, else 404.
Routes = dict[str, tuple[int, str, bytes]]


class RecordingServer(LoopbackStubServer):
    """Start with ``with``; ``requests`` holds ``{"method", "path", "headers"}`` (header names lower-cased)."""

    def __init__(self, routes: Routes | None = None) -> None:
        super().__init__("", _make_handler, "recording-server")
        self.routes: Routes = dict(routes or {})

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def header_values(self, name: str) -> list[str]:
        """Every value of header ``name`` the server received, in order."""
        return [r["headers"][name.lower()] for r in self.requests if name.lower() in r["headers"]]

    def answer(self, path: str) -> tuple[int, str, bytes]:
        matches = [prefix for prefix in self.routes if path.startswith(prefix)]
        if not matches:
            return 404, "text/plain", b"not found"
        return self.routes[max(matches, key=len)]


def _make_handler(server: RecordingServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            headers = {name.lower(): value for name, value in self.headers.items()}
            server.record({"method": self.command, "path": self.path, "headers": headers})
            status, content_type, body = server.answer(self.path.split("?")[0])
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_DELETE = _handle

        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet test output

    return Handler


class FirstBytesServer:
    """A loopback port that reads up to 4 KiB of each connection, records it in ``received`` and hangs up."""

    def __init__(self) -> None:
        self.received: list[bytes] = []
        self._socket = socket.create_server(("127.0.0.1", 0))
        self._socket.settimeout(0.2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="first-bytes", daemon=True)

    @property
    def port(self) -> int:
        return int(self._socket.getsockname()[1])

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._socket.accept()
            except TimeoutError:
                continue
            with connection:
                connection.settimeout(5)
                try:
                    self.received.append(connection.recv(4096))
                except OSError:
                    self.received.append(b"")

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self._socket.close()
